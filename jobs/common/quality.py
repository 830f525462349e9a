"""Data-quality checks as code: each check returns a structured result; a report gathers them."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from .definition import QualityRules


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    observed: object
    expected: str
    detail: str = ""


@dataclass(frozen=True)
class QualityReport:
    job: str
    run_id: str
    input_rows: int
    curated_rows: int
    quarantined_rows: int
    checks: tuple[CheckResult, ...]
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    # Valid lines a later line of the same key replaced: input = curated + quarantined + superseded.
    superseded_rows: int = 0
    # The run read no line: nothing to publish, and nothing is wrong.
    no_new_input: bool = False
    # Keys where two different rows shared the newest `updated_at` (settled by jobs/common/merge.py's rule).
    conflicts: int = 0
    # What the batch did to the table: inserted, updated, unchanged rows.
    merge: dict[str, int] = field(default_factory=dict)
    # The table and its snapshots: identifier, branch, snapshot_before, snapshot_after, published.
    table: dict[str, object] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failures(self) -> list[CheckResult]:
        return [check for check in self.checks if not check.passed]

    def to_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, default=str)


def check_row_count(rows: int, minimum: int) -> CheckResult:
    return CheckResult("row_count", rows >= minimum, rows, f">= {minimum}")


def check_schema(actual: StructType, expected: StructType) -> CheckResult:
    actual_fields = [(f.name, f.dataType.simpleString()) for f in actual.fields]
    expected_fields = [(f.name, f.dataType.simpleString()) for f in expected.fields]
    missing = [f"{n}:{t}" for n, t in expected_fields if (n, t) not in actual_fields]
    extra = [f"{n}:{t}" for n, t in actual_fields if (n, t) not in expected_fields]
    detail = "; ".join(part for part in (f"missing {missing}" if missing else "",
                                         f"unexpected {extra}" if extra else "") if part)
    return CheckResult("schema", not missing and not extra, len(actual_fields),
                       f"{len(expected_fields)} columns as declared", detail)


def check_unique_key(rows: int, distinct_keys: int, key: tuple[str, ...]) -> CheckResult:
    duplicates = rows - distinct_keys
    return CheckResult("unique_key", duplicates == 0, duplicates, "0 duplicate keys", f"key {', '.join(key)}")


def check_null_rates(rows: int, null_counts: dict[str, int], rules: QualityRules) -> list[CheckResult]:
    results = []
    for column, nulls in null_counts.items():
        rate = nulls / rows if rows else 0.0
        limit = 0.0 if column in rules.required_columns else rules.max_null_rate
        results.append(CheckResult(f"null_rate:{column}", rate <= limit, round(rate, 6), f"<= {limit}"))
    return results


def check_table_rows(rows_before: int, inserted: int, rows_after: int) -> CheckResult:
    """A merge only inserts or replaces rows: the audited table holds exactly the rows it had plus the inserted."""
    expected = rows_before + inserted
    return CheckResult("table_rows", rows_after == expected, rows_after,
                       f"== {expected} ({rows_before} before + {inserted} inserted)")


def check_table_unique_key(rows: int, distinct_keys: int, key: tuple[str, ...]) -> CheckResult:
    result = check_unique_key(rows, distinct_keys, key)
    return CheckResult("table_unique_key", result.passed, result.observed, result.expected, result.detail)


def check_quarantine_ratio(input_rows: int, quarantined_rows: int, maximum: float) -> CheckResult:
    ratio = quarantined_rows / input_rows if input_rows else 0.0
    return CheckResult("quarantine_ratio", ratio <= maximum, round(ratio, 6), f"<= {maximum}",
                       f"{quarantined_rows} of {input_rows} input records")


def evaluate(job: str, run_id: str, input_rows: int, curated: DataFrame, reasons: dict[str, int],
             expected_schema: StructType, key: tuple[str, ...], rules: QualityRules) -> QualityReport:
    """All checks: the curated rows' from one aggregation over them, the quarantine's from its lines per rejection
    reason (`reasons`, counted by the runner with the input's lines)."""
    columns = curated.columns
    stats = curated.agg(
        F.count(F.lit(1)).alias("rows"),
        F.count_distinct(*[F.col(c) for c in key]).alias("distinct_keys"),
        *[F.sum(F.col(c).isNull().cast("long")).alias(f"nulls_{i}") for i, c in enumerate(columns)],
    ).first()
    rows = stats["rows"]
    null_counts = {c: stats[f"nulls_{i}"] or 0 for i, c in enumerate(columns)}
    quarantined = sum(reasons.values())
    checks = (
        check_row_count(rows, rules.min_rows),
        check_schema(curated.schema, expected_schema),
        check_unique_key(rows, stats["distinct_keys"], key),
        *check_null_rates(rows, null_counts, rules),
        check_quarantine_ratio(input_rows, quarantined, rules.max_quarantine_ratio),
    )
    return QualityReport(job=job, run_id=run_id, input_rows=input_rows, curated_rows=rows,
                         quarantined_rows=quarantined, checks=checks, quarantine_reasons=dict(sorted(reasons.items())),
                         superseded_rows=input_rows - quarantined - rows)
