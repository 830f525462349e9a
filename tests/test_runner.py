"""The shared runner end to end on local Spark and a local Iceberg catalog: merge by key, write-audit-publish on a
branch, health checks that publish nothing, concurrent publishers, and the local CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from py4j import protocol as proto
from pyspark.sql import DataFrame

from jobs.common import iceberg, local, sample
from jobs.common.catalog import job_names
from jobs.common.definition import transform
from jobs.common.outputs import OutputPaths
from jobs.common.runner import PUBLISH_ATTEMPTS, PublishConflict, QualityCheckFailed, RunOptions, run
from jobs.common.table import CuratedTable, MainMoved, MissingTable, concurrent_commit
from jobs.orders import sample_data
from jobs.orders.job import JOB
from jobs.orders.sample_data import SAMPLE_ROWS
from stack_files import ROOT
from tests.conftest import text_lines

pytestmark = pytest.mark.tier("spark")

SAMPLE = Path(JOB.sample_path)
_, SAMPLE_COUNTS = sample_data.generate(SAMPLE_ROWS)
ORDER = {"order_id": "o-00000001", "customer_id": "c-02653", "order_ts": "2026-11-01T01:37:00Z", "status": "PAID",
         "currency": "GBP", "quantity": 1, "unit_price": "95.94", "updated_at": "2026-11-01T01:37:00Z"}


def run_orders(spark, database: str, source: Path, target: Path, run_id: str, *, create: bool = True, **options):
    return local.run_local(spark, JOB, RunOptions(
        source_path=str(source), target_path=str(target), run_id=run_id, database=database, table="orders",
        create_table=create, **options))


def lines(path: Path, *records: dict) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def bad_batch(path: Path) -> Path:
    # A third of the records are broken: above the 10 % limit.
    sample.write(path, sample_data.generate(60, bad_every=3))
    return path


def table_of(spark, database: str) -> CuratedTable:
    return CuratedTable(spark, database, "orders")


def seeded(spark, database: str, text: DataFrame) -> CuratedTable:
    """The orders table holding the curated rows of these lines, as a published run leaves it: where a test's
    subject is the run after, a plain append costs a few queries instead of a whole run's thirty."""
    table = table_of(spark, database)
    table.ensure(JOB.curated_schema, JOB.partition_column, create=True)
    transform(JOB, text).curated.writeTo(table.name).append()
    return table


def row(spark, database: str, order_id: str) -> list[dict]:
    return [r.asDict() for r in spark.table(f"curated.{database}.orders").where(f"order_id = '{order_id}'").collect()]


def branches(spark, database: str) -> list[str]:
    return sorted(r["name"] for r in spark.sql(f"SELECT name FROM curated.{database}.orders.refs").collect())


def test_sample_late_update_sample_again_and_a_failing_batch_keep_every_row(spark, database, tmp_path):
    """The sequence that lost rows with per-partition overwrites: every step leaves the sample's 128 rows."""
    table = table_of(spark, database)
    first = run_orders(spark, database, SAMPLE, tmp_path, "sample")
    assert table.rows() == SAMPLE_COUNTS.curated == 128
    assert first.merge == {"inserted": 128, "updated": 0, "unchanged": 0} and first.table["published"]

    late = lines(tmp_path / "late.jsonl", {**ORDER, "status": "SHIPPED", "updated_at": "2026-11-03T01:37:00Z"})
    update = run_orders(spark, database, late, tmp_path, "late")
    assert table.rows() == 128 and update.merge == {"inserted": 0, "updated": 1, "unchanged": 0}
    assert row(spark, database, "o-00000001")[0]["status"] == "SHIPPED"

    snapshots = spark.sql(f"SELECT count(*) AS n FROM curated.{database}.orders.snapshots").first()["n"]
    again = run_orders(spark, database, SAMPLE, tmp_path, "again")
    assert again.merge == {"inserted": 0, "updated": 0, "unchanged": 128} and again.conflicts == 0, (
        "a rerun changes nothing, and an older row never replaces a newer one")
    assert table.rows() == 128 and row(spark, database, "o-00000001")[0]["status"] == "SHIPPED"
    published = table.snapshot()
    assert again.table["snapshot_after"] == again.table["snapshot_before"] == published, "nothing changed"
    assert spark.sql(f"SELECT count(*) AS n FROM curated.{database}.orders.snapshots").first()["n"] == snapshots

    with pytest.raises(QualityCheckFailed, match="quarantine_ratio") as failed:
        run_orders(spark, database, bad_batch(tmp_path / "bad.jsonl"), tmp_path, "bad")
    assert table.rows() == 128 and table.snapshot() == published, "a failed audit publishes nothing"
    assert failed.value.report.table == {"identifier": f"{database}.orders", "branch": "audit_bad",
                                         "snapshot_before": published, "snapshot_after": None, "published": False}
    paths = OutputPaths.of(str(tmp_path), "bad")
    assert json.loads(Path(paths.quality_result).read_text())["passed"] is False
    assert Path(paths.quarantine).exists()
    assert branches(spark, database) == ["main"]


def test_a_row_whose_partition_value_changes_moves_partition(spark, database, tmp_path):
    seeded(spark, database, text_lines(spark, ORDER))
    moved = {**ORDER, "order_ts": "2026-11-05T10:00:00Z", "updated_at": "2026-11-06T00:00:00Z"}
    run_orders(spark, database, lines(tmp_path / "b.jsonl", moved), tmp_path, "b")
    (only,) = row(spark, database, "o-00000001")
    assert str(only["order_date"]) == "2026-11-05"
    files = spark.sql(f"SELECT partition.order_date AS day, record_count FROM curated.{database}.orders.files")
    assert [(str(r["day"]), r["record_count"]) for r in files.collect()] == [("2026-11-05", 1)], "no stale copy"


def test_a_tie_of_different_rows_is_a_counted_conflict_settled_by_content_and_duplicates_are_not(spark, database,
                                                                                                 tmp_path):
    """One batch: a tie low-then-high, a tie high-then-low, and a line twice (identical rows: no conflict)."""
    def versions(order_id: str) -> tuple[dict, dict]:
        return {**ORDER, "order_id": order_id, "unit_price": "10.00"}, {**ORDER, "order_id": order_id,
                                                                         "unit_price": "20.00"}

    (forward_low, forward_high), (backward_low, backward_high) = versions("o-forward"), versions("o-backward")
    batch = [forward_low, forward_high, backward_high, backward_low, ORDER, ORDER]
    report = run_orders(spark, database, lines(tmp_path / "tie.jsonl", *batch), tmp_path, "tie")
    assert (report.conflicts, report.curated_rows, report.superseded_rows) == (2, 3, 3)
    # The greater row as JSON: "unit_price":20.0 sorts after "unit_price":10.0, whichever came first.
    for order_id in ("o-forward", "o-backward"):
        assert str(row(spark, database, order_id)[0]["unit_price"]) == "20.00"
    # Across runs too: the table's row against a new batch's row with the same updated_at.
    again = run_orders(spark, database, lines(tmp_path / "low.jsonl", forward_low), tmp_path, "low")
    assert again.conflicts == 1 and again.merge == {"inserted": 0, "updated": 0, "unchanged": 1}
    assert str(row(spark, database, "o-forward")[0]["unit_price"]) == "20.00"


def test_a_run_with_no_input_line_succeeds_and_says_so(spark, database, tmp_path):
    before = seeded(spark, database, text_lines(spark, ORDER)).snapshot()
    empty = text_lines(spark)
    options = RunOptions(source_path="-", target_path=str(tmp_path), run_id="empty", database=database,
                         table="orders")
    report = run(spark, JOB, empty, options)
    assert report.passed and report.no_new_input and report.checks == ()
    assert table_of(spark, database).snapshot() == before
    assert json.loads(Path(OutputPaths.of(str(tmp_path), "empty").quality_result).read_text())["no_new_input"]


def test_a_health_check_audits_on_a_branch_it_removes_and_never_publishes(spark, database, tmp_path):
    table = seeded(spark, database, text_lines(spark, ORDER))
    before = table.snapshot()
    report = run_orders(spark, database, SAMPLE, tmp_path, "hc", health_check=True)
    assert report.passed and report.table["branch"] == "check_hc" and not report.table["published"]
    assert report.merge["inserted"] == 127, "audited against the table as it is"
    assert table.snapshot() == before and table.rows() == 1
    assert branches(spark, database) == ["main"]
    with pytest.raises(QualityCheckFailed):
        run_orders(spark, database, bad_batch(tmp_path / "bad.jsonl"), tmp_path, "hc-bad", health_check=True)
    assert table.snapshot() == before and branches(spark, database) == ["main"]


def test_a_run_whose_main_moved_merges_again_and_loses_no_row(spark, database, tmp_path, monkeypatch):
    """Two runs of one table at once: the second to publish finds `main` moved, merges again on it, and the
    table holds both runs' rows."""
    seeded(spark, database, text_lines(spark, ORDER))
    concurrent = lines(tmp_path / "c.jsonl", {**ORDER, "order_id": "o-concurrent"})
    publish, calls, others = CuratedTable.publish, [], []

    def other_run_publishes_first(self, branch):
        calls.append(branch)
        if len(calls) == 1:  # the other run lands between this run's merge and its publish
            monkeypatch.setattr(CuratedTable, "publish", publish)
            others.append(run_orders(spark, database, concurrent, tmp_path, "other"))
            monkeypatch.setattr(CuratedTable, "publish", other_run_publishes_first)
        return publish(self, branch)

    monkeypatch.setattr(CuratedTable, "publish", other_run_publishes_first)
    mine = lines(tmp_path / "m.jsonl", {**ORDER, "order_id": "o-mine"})
    report = run_orders(spark, database, mine, tmp_path, "mine")
    assert calls == ["audit_mine", "audit_mine"], "the first publish was refused, the second merged anew"
    assert report.table["published"]
    assert report.table["snapshot_before"] == others[0].table["snapshot_after"], "main as this run's rows found it"
    ids = sorted(r["order_id"] for r in spark.table(f"curated.{database}.orders").collect())
    assert ids == ["o-00000001", "o-concurrent", "o-mine"]


def test_a_branch_refused_for_a_concurrent_commit_is_made_again(spark, database, tmp_path, monkeypatch):
    create, calls = CuratedTable.create_branch, []

    def refused_once(self, branch):
        calls.append(branch)
        if len(calls) == 1:
            raise MainMoved("CommitFailedException: Table metadata refresh is required")
        return create(self, branch)

    monkeypatch.setattr(CuratedTable, "create_branch", refused_once)
    report = run_orders(spark, database, lines(tmp_path / "a.jsonl", ORDER), tmp_path, "a")
    assert len(calls) == 2 and report.table["published"] and table_of(spark, database).rows() == 1


def test_a_branch_that_cannot_be_dropped_does_not_undo_a_published_run(spark, database, tmp_path, monkeypatch):
    """The drop comes after the publish: its failure leaves the run published, with its quality result."""
    drop, published = CuratedTable.drop_branch, []
    publish = CuratedTable.publish

    def publish_and_note(self, branch):
        published.append(branch)
        return publish(self, branch)

    def drop_fails_after_publish(self, branch):
        if published:
            raise RuntimeError("Glue throttled UpdateTable")
        return drop(self, branch)

    monkeypatch.setattr(CuratedTable, "publish", publish_and_note)
    monkeypatch.setattr(CuratedTable, "drop_branch", drop_fails_after_publish)
    report = run_orders(spark, database, lines(tmp_path / "a.jsonl", ORDER), tmp_path, "a")
    assert report.table["published"] and table_of(spark, database).rows() == 1
    assert json.loads(Path(OutputPaths.of(str(tmp_path), "a").quality_result).read_text())["table"]["published"]
    assert "audit_a" in branches(spark, database), "left to expire with the table's snapshots"


@pytest.mark.tier("unit")
@pytest.mark.parametrize(("message", "concurrent"), [
    ("IllegalArgumentException: Cannot fast-forward: main is not an ancestor of audit_x", True),
    ("org.apache.iceberg.exceptions.CommitFailedException: Table metadata refresh is required", True),
    ("org.apache.iceberg.exceptions.NoSuchTableException: Table does not exist: db.orders", False),
])
def test_which_refusals_are_a_concurrent_commit(message, concurrent):
    assert concurrent_commit(RuntimeError(message)) is concurrent


def test_a_run_that_never_wins_the_race_publishes_nothing_and_fails(spark, database, tmp_path, monkeypatch):
    before = seeded(spark, database, text_lines(spark, ORDER)).snapshot()

    def main_always_moved(self, branch):
        raise MainMoved("Cannot fast-forward: main is not an ancestor of the branch")

    monkeypatch.setattr(CuratedTable, "publish", main_always_moved)
    with pytest.raises(PublishConflict, match=f"other runs published first {PUBLISH_ATTEMPTS} times"):
        run_orders(spark, database, lines(tmp_path / "m.jsonl", {**ORDER, "order_id": "o-2"}), tmp_path, "m")
    assert table_of(spark, database).snapshot() == before and branches(spark, database) == ["main"]


def test_a_run_that_dies_mid_merge_leaves_main_and_no_branch(spark, database, tmp_path, monkeypatch):
    before = seeded(spark, database, text_lines(spark, ORDER)).snapshot()

    def dies(*_args, **_kwargs):
        raise RuntimeError("executor lost")

    monkeypatch.setattr(CuratedTable, "merge_into", dies)
    with pytest.raises(RuntimeError, match="executor lost"):
        run_orders(spark, database, lines(tmp_path / "d.jsonl", {**ORDER, "order_id": "o-2"}), tmp_path, "dies")
    assert table_of(spark, database).snapshot() == before and branches(spark, database) == ["main"]


def test_a_table_declared_bare_gets_its_partitioning_and_properties_on_the_first_run(spark, database, tmp_path):
    """As the stack declares it through the Glue API: unpartitioned, no table properties. The first run adds the
    job's partition field and the properties runs rely on (branch writes; the row-based Parquet reader)."""
    columns = ", ".join(f"`{f.name}` {f.dataType.simpleString()}" for f in JOB.curated_schema.fields)
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS curated.{database}")
    spark.sql(f"CREATE TABLE curated.{database}.orders ({columns}) USING iceberg")
    table = table_of(spark, database)
    assert table.partition_columns() == []
    run_orders(spark, database, SAMPLE, tmp_path, "first", create=False)
    assert table.partition_columns() == ["order_date"] and table.rows() == 128
    properties = {r["key"]: r["value"] for r in spark.sql(f"SHOW TBLPROPERTIES {table.name}").collect()}
    assert {k: properties.get(k) for k in iceberg.TABLE_PROPERTIES} == iceberg.TABLE_PROPERTIES


def test_a_table_the_stack_did_not_declare_is_a_clear_error(spark, database, tmp_path):
    with pytest.raises(MissingTable, match=f"curated table {database}.orders does not exist: it is declared by"):
        run_orders(spark, database, SAMPLE, tmp_path, "r", create=False)


def test_missing_source_is_a_clear_error(spark, database, tmp_path):
    with pytest.raises(FileNotFoundError, match="does-not-exist.jsonl"):
        run_orders(spark, database, tmp_path / "does-not-exist.jsonl", tmp_path, "r5")


def test_a_folder_source_is_read_with_every_file_of_its_tree(spark, database, tmp_path):
    """As an S3 prefix is: files beside sub-folders and inside them (Spark's plain folder read takes one level and
    fails on a mixed tree), markers starting with `_` or `.` left out."""
    source = tmp_path / "input"
    (source / "2026-11-23" / "late").mkdir(parents=True)
    lines(source / "first.jsonl", ORDER)
    lines(source / "2026-11-23" / "second.jsonl", {**ORDER, "order_id": "o-00000002"})
    lines(source / "2026-11-23" / "late" / "third.jsonl", {**ORDER, "order_id": "o-00000003"})
    (source / "_SUCCESS").write_text("not a JSON line\n")
    report = run_orders(spark, database, source, tmp_path / "out", "tree")
    assert (report.input_rows, report.curated_rows, report.quarantined_rows) == (3, 3, 0)


def test_the_classes_pyspark_looks_up_by_simple_name_as_a_job_runs_are_imported_by_full_name(spark, monkeypatch):
    """jobs/common/local.py: DIRECTLY_RESOLVED_CLASSES. Every simple name PySpark asks Py4J for while a job's
    transforms build and run their query is one of them, and the session's JVM view maps each to its class."""
    view = spark.sparkContext._gateway.java_gateway_server.getGateway().getDefaultJVMView()
    imported = dict(view.getSingleImportsMap())
    assert {n.rpartition(".")[2]: n for n in local.DIRECTLY_RESOLVED_CLASSES}.items() <= imported.items()
    lines = text_lines(spark, json.dumps(ORDER))
    client = spark.sparkContext._gateway._gateway_client
    send = client.send_command
    looked_up: list[str] = []

    def send_command(command, *args, **kwargs):
        answer = send(command, *args, **kwargs)
        lookup = proto.REFLECTION_COMMAND_NAME + proto.REFL_GET_UNKNOWN_SUB_COMMAND_NAME
        if command.startswith(lookup) and answer.startswith(proto.SUCCESS_CLASS):
            name = command.removeprefix(lookup).split("\n")[0]
            if "." not in name:  # a full name is found at once
                looked_up.append(name)
        return answer

    monkeypatch.setattr(client, "send_command", send_command)
    transform(JOB, lines).curated.collect()
    monkeypatch.undo()
    assert looked_up and set(looked_up) <= set(imported), sorted(set(looked_up) - set(imported))


def test_local_cli_in_a_process_of_its_own_hides_sparks_start_up_and_runs_an_empty_file_as_no_new_input(tmp_path):
    """As a user runs it: Spark's start-up warnings stay hidden (only a fresh JVM shows that), and an empty file is a
    run that succeeds and says so. The report of a run on data: tests/test_jobs.py, for every job, in the test
    session (a JVM start and a cold run cheaper)."""
    (tmp_path / "empty.jsonl").write_text("")
    done = subprocess.run([sys.executable, "-m", "jobs.common.local", "orders", "--source",
                           str(tmp_path / "empty.jsonl"), "--target", str(tmp_path / "wh")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "note: the input has no lines: nothing new to merge, and nothing is wrong" in done.stdout
    assert "overall: PASSED" in done.stdout and done.stdout.rstrip().endswith("table rows: 0")
    # The table is the default namespace's, in the --target warehouse this process's catalog opened.
    assert "curated table   local.orders: not published (the input has no lines)" in done.stdout
    assert (tmp_path / "wh" / "local" / "orders" / "metadata").is_dir()


def test_local_cli_health_checks_publish_nothing_runs_accumulate_and_a_rerun_says_it_had_nothing_newer(
        spark, local_cli, tmp_path, capsys):
    database = local_cli
    late = lines(tmp_path / "late.jsonl", {**ORDER, "order_id": "o-late"})
    arguments = ["orders", "--source", str(late), "--target", str(tmp_path / "wh")]
    assert local.main([*arguments, "--health-check"]) == 0
    checked = capsys.readouterr().out
    assert "overall: PASSED" in checked and checked.rstrip().endswith("table rows: 0")
    assert f"curated table   {database}.orders: not published (a health check never publishes)" in checked
    seeded(spark, database, text_lines(spark, ORDER))
    assert local.main(arguments) == 0
    first = capsys.readouterr().out
    assert f"curated table   {database}.orders (partitioned by order_date): published snapshot " in first
    assert first.rstrip().endswith("table rows: 2"), "merged into the rows already there"
    assert local.main(arguments) == 0
    again = capsys.readouterr().out
    assert f"curated table   {database}.orders: nothing newer in the batch, still at snapshot " in again
    assert again.rstrip().endswith("table rows: 2")


def test_local_cli_says_when_curated_data_was_not_published(local_cli, tmp_path, capsys):
    source = bad_batch(tmp_path / "bad.jsonl")
    assert local.main(["orders", "--source", str(source), "--target", str(tmp_path / "wh"), "--run-id", "bad"]) == 1
    out = capsys.readouterr().out
    assert f"curated table   {local_cli}.orders: not published (a check failed), still at snapshot None" in out
    assert "quality result  " in out and "overall: FAILED" in out and out.rstrip().endswith("table rows: 0")


def test_local_cli_says_when_the_input_is_not_json_lines(local_cli, tmp_path, capsys):
    source = tmp_path / "orders.csv"
    source.write_text("order_id,quantity\n" + "".join(f"o-{i},{i}\n" for i in range(30)))
    assert local.main(["orders", "--source", str(source), "--target", str(tmp_path / "wh")]) == 1
    out = capsys.readouterr().out
    assert "note: 31 of 31 lines are not JSON objects (malformed_json): is the source JSON lines" in out


def test_local_cli_checks_job_and_source_before_spark_starts(tmp_path, capsys, monkeypatch):
    def no_spark(*_args, **_kwargs):
        raise AssertionError("Spark started for an input that cannot run")

    monkeypatch.setattr(local, "local_session", no_spark)
    with pytest.raises(SystemExit, match=f"unknown job 'nope': available jobs are {', '.join(job_names())}$"):
        local.main(["nope"])
    assert local.main(["orders", "--source", str(tmp_path / "missing.jsonl"), "--target", str(tmp_path)]) == 2
    assert "error: source " in capsys.readouterr().err
    (tmp_path / "folder").mkdir()
    assert local.main(["orders", "--source", str(tmp_path / "folder"), "--target", str(tmp_path)]) == 2
    assert "folder holds no files" in capsys.readouterr().err
