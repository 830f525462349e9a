"""What every JSON-lines job repeats, so its own code is its schema, its rules and its business transform.

`job(...)` composes a job's two steps from its parts:

    validate(lines) = with_rejection_reason(<typed columns>(parse_lines(lines, <raw fields>)), <rules>())
    derive(valid)   = <derived columns>(valid) in curated-schema order

Every field is read as text, so nothing is lost to a bad type: casting happens in the job's typed columns
(`try_cast`), where a failure becomes a null its rules turn into a rejection reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from .definition import RAW_RECORD, REJECTION_REASON, JobDefinition, QualityRules

CORRUPT_RECORD = "_corrupt_record"
# The reason of a line that is not a JSON object; always the first rule.
MALFORMED_JSON = "malformed_json"
# (condition that breaks the rule, reason), in the order they are checked.
Rule = tuple[Column, str]


def text_schema(fields: Sequence[str]) -> StructType:
    return StructType([StructField(name, StringType()) for name in fields]
                      + [StructField(CORRUPT_RECORD, StringType())])


def parse_lines(lines: DataFrame, fields: Sequence[str]) -> DataFrame:
    """Text lines (column `value`) -> `raw_record`, each field as text, and `_corrupt_record` (the line, when it is
    not a JSON object; null otherwise)."""
    parsed = F.from_json("value", text_schema(fields),
                         {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT_RECORD})
    return lines.select(F.col("value").alias(RAW_RECORD), parsed.alias("r")).select(RAW_RECORD, "r.*")


def try_cast(column: str, sql_type: str) -> Column:
    """The trimmed text as `sql_type`, or null when it is not one (ANSI-safe: never fails the job or truncates)."""
    return F.expr(f"try_cast(trim({column}) AS {sql_type})")


def blank(column: str) -> Column:
    return F.col(column).isNull() | (F.trim(F.col(column)) == "")


def not_one_of(column: str, values: Sequence[str]) -> Column:
    return F.col(column).isNull() | ~F.col(column).isin(*values)


def typed(raw: DataFrame, *columns: Column) -> DataFrame:
    """The job's typed columns, keeping the raw line and the parse outcome the rules and the quarantine need."""
    return raw.select(RAW_RECORD, CORRUPT_RECORD, *columns)


def with_rejection_reason(typed_rows: DataFrame, rules: Sequence[Rule]) -> DataFrame:
    """`rejection_reason`: the first rule a record breaks (a malformed line before any of the job's), or null."""
    reason = F.lit(None).cast("string")
    for condition, name in reversed([(F.col(CORRUPT_RECORD).isNotNull(), MALFORMED_JSON), *rules]):
        reason = F.when(condition, F.lit(name)).otherwise(reason)
    return typed_rows.withColumn(REJECTION_REASON, reason)


Transform = Callable[[DataFrame], DataFrame]


def job(name: str, *, raw_fields: Sequence[str], typed_columns: Transform, rules: Callable[[], list[Rule]],
        derived_columns: Transform, curated_schema: StructType, business_key: tuple[str, ...], updated_at: str,
        partition_column: str, quality: QualityRules, sample_path: str) -> JobDefinition:
    """A JSON-lines job: its own typed columns, rules (built when a step runs: Columns need a Spark session) and
    derived columns around the shared parsing and rejection steps."""
    def validate(lines: DataFrame) -> DataFrame:
        return with_rejection_reason(typed_columns(parse_lines(lines, raw_fields)), rules())

    def derive(valid: DataFrame) -> DataFrame:
        return derived_columns(valid).select(*curated_schema.fieldNames())

    return JobDefinition(name=name, validate=validate, derive=derive, curated_schema=curated_schema,
                         business_key=business_key, updated_at=updated_at, partition_column=partition_column,
                         quality=quality, sample_path=sample_path)
