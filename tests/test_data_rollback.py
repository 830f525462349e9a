"""`python -m automation data rollback` against moto server: a real Iceberg table in moto's Glue Data Catalog and S3,
created and appended to by pyiceberg (one snapshot per batch, as each published run makes one), rolled back by the
command through pyiceberg's Glue catalog (each test's own table registered on the same history). Only the stack's
outputs are stood in for (they come from the backend)."""

from __future__ import annotations

import json
import sys
import uuid

import pyarrow as pa
import pytest
from pyiceberg.schema import Schema
from pyiceberg.types import NestedField, StringType

from automation.cli import main
from automation.data_rollback import DataRollbackError, glue_catalog, plan, quality_result_key, roll_back
from tests.aws_server import REGION
from tests.conftest import talking_to_moto

pytestmark = pytest.mark.tier("aws")

SCHEMA = Schema(NestedField(1, "order_id", StringType(), required=False),
                NestedField(2, "status", StringType(), required=False))
BATCHES = ({"order_id": ["o-1", "o-2"], "status": ["new", "new"]},
           {"order_id": ["o-3"], "status": ["new"]},
           {"order_id": ["o-4", "o-5"], "status": ["paid", "paid"]})


def bucket_and_database(s3, glue, bucket_prefix: str, database_prefix: str) -> tuple[str, str]:
    """A new bucket and Glue database, their names unique in the session's moto server."""
    suffix = uuid.uuid4().hex[:8]
    bucket, database = f"{bucket_prefix}-{suffix}", f"{database_prefix}_{suffix}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    glue.create_database(DatabaseInput={"Name": database})
    return bucket, database


@pytest.fixture(scope="module")
def published(moto_endpoint) -> dict:
    """The orders table after three published runs (s1, s2, s3), once for the module: its metadata file and snapshot
    ids. Each test registers a table of its own on that metadata (`lake`); a rollback or append writes new metadata
    and data files beside it, so no test sees another's changes."""
    with pytest.MonkeyPatch.context() as environment:
        aws = talking_to_moto(moto_endpoint, environment)
        bucket, database = bucket_and_database(aws("s3"), aws("glue"), "tables", "published")
        table = glue_catalog().create_table(f"{database}.orders", SCHEMA, location=f"s3://{bucket}/orders/table/")
        snapshots = []
        for batch in BATCHES:
            table.append(pa.table(batch, schema=SCHEMA.as_arrow()))
            snapshots.append(table.current_snapshot().snapshot_id)
        return {"metadata": table.metadata_location, "snapshots": snapshots}


@pytest.fixture
def lake(aws, published, monkeypatch):
    """A stack's curated bucket and database with its orders table after three published runs (s1, s2, s3), and
    the quality results of the runs jr_2 and jr_3 that published s2 and s3."""
    s3, glue = aws("s3"), aws("glue")
    bucket, database = bucket_and_database(s3, glue, "curated", "data_pipeline_qa")
    identifier = f"{database}.orders"
    glue_catalog().register_table(identifier, published["metadata"])
    snapshots = published["snapshots"]
    for run, before, after in (("jr_2", snapshots[0], snapshots[1]), ("jr_3", snapshots[1], snapshots[2])):
        s3.put_object(Bucket=bucket, Key=quality_result_key("orders", run), Body=json.dumps(
            {"passed": True, "table": {"identifier": identifier, "branch": f"audit_{run}", "snapshot_before": before,
                                       "snapshot_after": after, "published": True}}))
    outputs = {"buckets": {"curated": bucket}, "tables": {"orders": identifier}}
    monkeypatch.setattr("automation.release_cli.stack_outputs", lambda stack: outputs)
    return {"s3": s3, "bucket": bucket, "identifier": identifier, "snapshots": snapshots, "outputs": outputs}


def main_of(identifier: str) -> tuple[int, list[str]]:
    """Main's snapshot and its order ids, read afresh from the catalog."""
    table = glue_catalog().load_table(identifier)
    return table.current_snapshot().snapshot_id, sorted(table.scan().to_arrow()["order_id"].to_pylist())


def rollback(*options: str) -> int:
    return main(["data", "rollback", "--stack", "qa", "--job", "orders", *options])


def test_rolls_main_back_to_a_snapshot_and_names_what_it_undoes(lake, capsys):
    s1, s2, s3 = lake["snapshots"]
    assert rollback("--snapshot", str(s1), "--yes") == 0
    assert main_of(lake["identifier"]) == (s1, ["o-1", "o-2"])
    out = capsys.readouterr().out
    assert f"main is at snapshot {s3}; rolling back to {s1} undoes 2 snapshot(s)" in out
    assert out.index(f"  {s3} ") < out.index(f"  {s2} ") and "append (added 2, total 5)" in out
    assert ", published by run jr_3\n" in out and ", published by run jr_2\n" in out
    assert f"main is now snapshot {s1} (was {s3})" in out


def test_before_run_returns_to_main_as_that_run_found_it(lake):
    s1, s2, _ = lake["snapshots"]
    assert rollback("--before-run", "jr_3", "--yes") == 0
    assert main_of(lake["identifier"]) == (s2, ["o-1", "o-2", "o-3"])


def test_a_snapshot_that_is_not_an_ancestor_of_main_is_refused_naming_the_history(lake, capsys):
    s1, s2, s3 = lake["snapshots"]
    assert rollback("--snapshot", str(s1), "--yes") == 0
    capsys.readouterr()
    assert rollback("--snapshot", str(s3), "--yes") == 2  # s3 was undone: no longer in main's history
    err = capsys.readouterr().err
    assert err == (f"error: {lake['identifier']}: snapshot {s3} is not an ancestor of main (current {s1}); main's "
                   f"history, newest first: {s1}\nNothing was changed.\n")
    assert rollback("--snapshot", "12345", "--yes") == 2
    assert "snapshot 12345 is not an ancestor of main" in capsys.readouterr().err
    assert main_of(lake["identifier"])[0] == s1


def test_without_a_confirmation_nothing_changes(lake, capsys, monkeypatch):
    s1, _, s3 = lake["snapshots"]
    assert rollback("--snapshot", str(s1)) == 2  # pytest's stdin is no terminal
    assert "no terminal to confirm on: pass --yes" in capsys.readouterr().err
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert rollback("--snapshot", str(s1)) == 1
    assert main_of(lake["identifier"])[0] == s3
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    assert rollback("--snapshot", str(s1)) == 0 and main_of(lake["identifier"])[0] == s1


def test_a_commit_that_lands_after_the_plan_fails_the_rollback(lake):
    """The rollback asserts main is still where the plan saw it: a run published meanwhile is never undone
    unseen."""
    s1, _, s3 = lake["snapshots"]
    table = glue_catalog().load_table(lake["identifier"])
    planned = plan(table, lake["identifier"], s1)
    newer = glue_catalog().load_table(lake["identifier"])
    newer.append(pa.table({"order_id": ["o-6"], "status": ["new"]}, schema=SCHEMA.as_arrow()))
    with pytest.raises(DataRollbackError, match="main changed while rolling back"):
        roll_back(table, planned)
    assert main_of(lake["identifier"])[0] == newer.current_snapshot().snapshot_id != s3


@pytest.mark.parametrize(("options", "message"), [
    (("--job", "customers", "--snapshot", "1"), "--job 'customers': the stack's tables are for orders"),
    (("--job", "orders", "--before-run", "jr_9"), "--before-run jr_9: no quality result at s3://{bucket}/orders/"
                                                  "_dq/run_id=jr_9/result.json"),
    (("--job", "orders", "--before-run", "jr_1"), "--before-run jr_1: the run started on an empty table"),
])
def test_bad_targets_are_one_line_errors(lake, capsys, options, message):
    lake["s3"].put_object(Bucket=lake["bucket"], Key=quality_result_key("orders", "jr_1"), Body=json.dumps(
        {"passed": True, "table": {"snapshot_before": None, "published": True}}))
    assert main(["data", "rollback", "--stack", "qa", *options, "--yes"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: " + message.format(bucket=lake["bucket"])) and err.endswith(
        "\nNothing was changed.\n")
    assert main_of(lake["identifier"])[0] == lake["snapshots"][2]


def test_a_stack_without_tables_is_refused(lake, capsys, monkeypatch):
    monkeypatch.setattr("automation.release_cli.stack_outputs", lambda stack: {"buckets": {}})
    assert rollback("--snapshot", "1", "--yes") == 2
    assert "the stack has no `tables` output" in capsys.readouterr().err
