"""The shared runner end to end on local Spark: outputs, write-audit-publish, health-check mode, catalog."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.common import local, sample
from jobs.common.runner import OutputPaths, QualityCheckFailed, RunOptions
from jobs.orders import sample_data
from jobs.orders.job import JOB
from jobs.orders.sample_data import SAMPLE_ROWS
from stack_files import ROOT

pytestmark = pytest.mark.tier("spark")


def run_orders(spark, source: Path, target: Path, run_id: str, **options):
    return local.run_local(spark, JOB, RunOptions(source_path=str(source), target_path=str(target), run_id=run_id,
                                                  **options))


def test_failing_quality_is_not_published_and_fails_a_health_check(spark, tmp_path):
    source = tmp_path / "bad.jsonl"
    # A third of the records are broken: above the 10 % limit.
    sample.write(source, sample_data.generate(60, bad_every=3))
    target = tmp_path / "out"
    with pytest.raises(QualityCheckFailed, match="quarantine_ratio"):
        run_orders(spark, source, target, "r2", health_check=True)
    paths = OutputPaths.of(str(target), "r2")
    assert not Path(paths.data).exists(), "curated data must not be published when a check fails"
    assert json.loads(Path(paths.quality_result).read_text())["passed"] is False
    assert Path(paths.quarantine).exists()


def test_failing_quality_in_a_normal_run_returns_the_report(spark, tmp_path):
    source = tmp_path / "bad.jsonl"
    sample.write(source, sample_data.generate(60, bad_every=3))
    report = run_orders(spark, source, tmp_path / "out", "r3")
    assert not report.passed and [c.name for c in report.failures] == ["quarantine_ratio"]


def test_rerun_replaces_only_the_partitions_it_writes(spark, tmp_path):
    target = tmp_path / "out"
    run_orders(spark, Path(JOB.sample_path), target, "first")
    later = tmp_path / "later.jsonl"
    later.write_text(json.dumps({"order_id": "o-new", "customer_id": "c-1", "order_ts": "2027-01-05T10:00:00Z",
                                 "status": "PLACED", "currency": "EUR", "quantity": 1, "unit_price": "5.00",
                                 "updated_at": "2027-01-05T10:00:00Z"}) + "\n")
    run_orders(spark, later, target, "second")
    run_orders(spark, later, target, "third")  # the same input again: idempotent
    curated = spark.read.parquet(OutputPaths.of(str(target), "x").data)
    _, counts = sample_data.generate(SAMPLE_ROWS)
    assert curated.count() == counts.curated + 1


def test_curated_table_is_registered_in_the_catalog(spark, tmp_path):
    spark.sql("CREATE DATABASE IF NOT EXISTS pipeline_test")
    run_orders(spark, Path(JOB.sample_path), tmp_path, "r4", database="pipeline_test", table="orders")
    _, counts = sample_data.generate(SAMPLE_ROWS)
    table = spark.table("pipeline_test.orders")
    assert table.count() == counts.curated
    days = table.select("order_date").distinct().count()
    assert days > 1 and spark.sql("SHOW PARTITIONS pipeline_test.orders").count() == days


def test_health_check_runs_do_not_touch_the_catalog(spark, tmp_path):
    spark.sql("CREATE DATABASE IF NOT EXISTS pipeline_health")
    run_orders(spark, Path(JOB.sample_path), tmp_path, "r6", health_check=True, database="pipeline_health",
               table="orders")
    assert spark.sql("SHOW TABLES IN pipeline_health").count() == 0


def test_missing_source_is_a_clear_error(spark, tmp_path):
    with pytest.raises(FileNotFoundError, match="does-not-exist.jsonl"):
        run_orders(spark, tmp_path / "does-not-exist.jsonl", tmp_path, "r5")


def test_local_cli_prints_the_report_where_it_wrote_and_no_spark_chatter(tmp_path):
    """As a user runs it: the report accounts for every line and says where the outputs went; Spark's start-up
    warnings (host name, native libraries, default log level) stay hidden."""
    done = subprocess.run([sys.executable, "-m", "jobs.common.local", "orders", "--target", str(tmp_path),
                           "--run-id", "cli", "--health-check"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    _, counts = sample_data.generate(SAMPLE_ROWS)
    assert "Data-quality report: job orders, run cli" in done.stdout
    assert (f"input lines: {counts.lines} = curated {counts.curated} + quarantined {counts.quarantined} + "
            f"superseded {counts.superseded}") in done.stdout
    assert "malformed_json" in done.stdout and "overall: PASSED" in done.stdout
    paths = OutputPaths.of(str(tmp_path), "cli")
    assert f"curated data    {paths.data}  (partitioned by order_date)" in done.stdout
    assert f"quarantine      {paths.quarantine}" in done.stdout
    assert f"quality result  {paths.quality_result}" in done.stdout


def test_local_cli_says_when_curated_data_was_not_published(spark, tmp_path, capsys):
    source = tmp_path / "bad.jsonl"
    sample.write(source, sample_data.generate(60, bad_every=3))
    assert local.main(["orders", "--source", str(source), "--target", str(tmp_path / "out"), "--run-id", "bad",
                       "--health-check"]) == 1
    out = capsys.readouterr().out
    assert f"curated data    not published: a check failed, so {tmp_path / 'out' / 'data'} is unchanged" in out
    assert "quality result  " in out and "overall: FAILED" in out


def test_local_cli_says_when_the_input_is_not_json_lines(spark, tmp_path, capsys):
    source = tmp_path / "orders.csv"
    source.write_text("order_id,quantity\n" + "".join(f"o-{i},{i}\n" for i in range(30)))
    assert local.main(["orders", "--source", str(source), "--target", str(tmp_path / "out")]) == 1
    out = capsys.readouterr().out
    assert "note: 31 of 31 lines are not JSON objects (malformed_json): is the source JSON lines" in out


def test_local_cli_checks_job_and_source_before_spark_starts(tmp_path, capsys, monkeypatch):
    def no_spark(*_args, **_kwargs):
        raise AssertionError("Spark started for an input that cannot run")

    monkeypatch.setattr(local, "local_session", no_spark)
    with pytest.raises(SystemExit, match="unknown job 'nope': available jobs are customers, orders"):
        local.main(["nope"])
    assert local.main(["orders", "--source", str(tmp_path / "missing.jsonl"), "--target", str(tmp_path)]) == 2
    assert "error: source " in capsys.readouterr().err
    (tmp_path / "empty.jsonl").write_text("")
    assert local.main(["orders", "--source", str(tmp_path / "empty.jsonl"), "--target", str(tmp_path)]) == 2
    assert "empty.jsonl is empty (1 file(s) of 0 bytes): there is nothing to run" in capsys.readouterr().err
    (tmp_path / "folder").mkdir()
    assert local.main(["orders", "--source", str(tmp_path / "folder"), "--target", str(tmp_path)]) == 2
    assert "folder holds no files" in capsys.readouterr().err
