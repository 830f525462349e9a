"""Model-based test of what runs do to a curated table: random sequences of batches (late updates, duplicates,
equal timestamps, reruns, empty batches, batches that fail the audit) go through the real job on local Spark and
Iceberg; after each, the table must equal a plain-Python reference model.

The model: the table holds, per order id, the newest row of every *accepted* batch; a tie of different rows is
won by the greater row as JSON. Rows of one key here differ only in `order_ts` (on two days: rows move partition),
`status` and `updated_at`; every column before `order_ts` is equal, so at a tie the greater JSON is the later
`order_ts`, then the greater `status` (the timestamps' JSON text sorts as they do). A batch is
accepted when it has at least one valid line and at most 10 % bad lines (orders' quality rules); an empty batch
changes nothing and succeeds; a rejected batch changes nothing and fails.
"""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobs.common.runner import QualityCheckFailed, RunOptions, run
from jobs.common.table import CuratedTable
from jobs.orders.domain import STATUSES
from jobs.orders.job import JOB
from tests.conftest import text_lines

pytestmark = pytest.mark.tier("spark")

KEYS = [f"o-{i}" for i in range(1, 5)]
# Few timestamps, so the same key often meets the same updated_at: ties, and late rows older than the table's.
TIMES = ["2026-11-01T10:00:00Z", "2026-11-02T10:00:00Z", "2026-11-03T10:00:00Z"]
# When the order was placed: its partition (order_date) changes with it.
PLACED = ["2026-10-30T09:00:00Z", "2026-10-31T09:00:00Z"]
BAD_LINE = '{"order_id": "o-broken", "quantity": '
MAX_BAD_SHARE = JOB.quality.max_quarantine_ratio
_tables = itertools.count()


def order(key: str, placed: str, status: str, updated_at: str) -> dict:
    return {"order_id": key, "customer_id": "c-1", "order_ts": placed, "status": status,
            "currency": "EUR", "quantity": 1, "unit_price": "5.00", "updated_at": updated_at}


rows = st.builds(order, st.sampled_from(KEYS), st.sampled_from(PLACED), st.sampled_from(STATUSES),
                 st.sampled_from(TIMES))
# Per key: (updated_at, order_ts, status), the order the rule compares rows in.
Version = tuple[str, str, str]


def version(row: dict) -> Version:
    return row["updated_at"], row["order_ts"], row["status"]
# A batch: valid rows (duplicates and ties included), and how many bad lines ride along.
batches = st.tuples(st.lists(rows, max_size=6), st.integers(min_value=0, max_value=2))


def accepted(valid: list[dict], bad: int) -> bool:
    return bool(valid) and bad <= MAX_BAD_SHARE * (len(valid) + bad)


def apply(model: dict[str, Version], valid: list[dict]) -> None:
    """The reference: per key, the newest row; at equal updated_at, the later order_ts, then the greater status."""
    for row in valid:
        model[row["order_id"]] = max(model.get(row["order_id"], version(row)), version(row))


def conflicts(model: dict[str, Version], valid: list[dict]) -> int:
    """Keys with a tie of different rows: within the batch at its newest updated_at, or between the batch's winner
    and the table's row of the same updated_at."""
    count = 0
    for key in {row["order_id"] for row in valid}:
        newest = max(row["updated_at"] for row in valid if row["order_id"] == key)
        tied = {version(row) for row in valid if row["order_id"] == key and row["updated_at"] == newest}
        current = model.get(key)
        count += len(tied) > 1 or (current is not None and current[0] == newest and current != max(tied))
    return count


def table_state(table: CuratedTable) -> dict[str, Version]:
    """Each key's row, checked to lie in its order_ts's partition (a moved row leaves no copy: keys are unique)."""
    rows_ = table.spark.table(table.name).selectExpr("*", "to_date(order_ts) AS placed_on").collect()
    assert all(r["order_date"] == r["placed_on"] for r in rows_), "each row in its order_ts's partition"
    assert len({r["order_id"] for r in rows_}) == len(rows_), "one row per key"
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    return {r["order_id"]: (r["updated_at"].strftime(stamp), r["order_ts"].strftime(stamp), r["status"]) for r in rows_}


@settings(max_examples=5, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(st.one_of(batches, st.just("rerun")), min_size=2, max_size=4))
def test_the_table_is_the_latest_row_per_key_of_every_accepted_batch(spark, tmp_path, steps):
    table = CuratedTable(spark, "model", f"orders_{next(_tables)}")
    table.ensure(JOB.curated_schema, JOB.partition_column, create=True)
    model: dict[str, Version] = {}
    history: list[tuple[list[dict], int]] = []
    for number, step in enumerate(steps):
        valid, bad = history[-1] if step == "rerun" and history else ([], 0) if step == "rerun" else step
        history.append((valid, bad))
        lines = [json.dumps(row) for row in valid] + [BAD_LINE] * bad
        options = RunOptions(source_path="-", target_path=str(tmp_path / f"runs-{table.table}"),
                             run_id=f"step{number}", database=table.database, table=table.table, create_table=True)
        before = table.snapshot()
        frame = text_lines(spark, *lines)
        if not lines or accepted(valid, bad):
            report = run(spark, JOB, frame, options)
            assert report.no_new_input == (not lines)
            assert report.conflicts == conflicts(model, valid)
            apply(model, valid)
        else:
            with pytest.raises(QualityCheckFailed):
                run(spark, JOB, frame, options)
            assert table.snapshot() == before, "a rejected batch publishes nothing"
        assert table_state(table) == model, f"after step {number}: {valid} + {bad} bad line(s)"
