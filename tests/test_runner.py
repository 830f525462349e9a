"""The shared runner end to end on local Spark: outputs, write-audit-publish, health-check mode, catalog."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs.common import local
from jobs.common.runner import OutputPaths, QualityCheckFailed, RunOptions
from jobs.orders import sample_data
from jobs.orders.domain import SAMPLE_ROWS
from jobs.orders.job import JOB

pytestmark = pytest.mark.spark


def run_orders(spark, source: Path, target: Path, run_id: str, **options):
    return local.run_local(spark, JOB, RunOptions(source_path=str(source), target_path=str(target), run_id=run_id,
                                                  **options))


def test_sample_run_publishes_data_quarantine_and_result(spark, tmp_path):
    report = run_orders(spark, Path(JOB.sample_path), tmp_path, "r1", health_check=True)
    _, counts = sample_data.generate(SAMPLE_ROWS)
    assert report.passed
    assert (report.input_rows, report.curated_rows, report.quarantined_rows) == (
        counts.lines, counts.unique_valid_orders, counts.quarantined)
    paths = OutputPaths.of(str(tmp_path), "r1")
    curated = spark.read.parquet(paths.data)
    assert curated.count() == counts.unique_valid_orders
    assert sorted(p.name.split("=")[0] for p in Path(paths.data).iterdir() if p.is_dir()) == ["order_date"] * len(
        [p for p in Path(paths.data).iterdir() if p.is_dir()])
    assert spark.read.json(paths.quarantine).count() == counts.quarantined
    result = json.loads(Path(paths.quality_result).read_text())
    assert result["passed"] is True and result["run_id"] == "r1"
    assert result["quarantine_reasons"] == dict(sorted(counts.rejected.items()))


def test_failing_quality_is_not_published_and_fails_a_health_check(spark, tmp_path):
    source = tmp_path / "bad.jsonl"
    sample_data.write(source, 60, bad_every=3)  # a third of the records are broken: above the 10 % limit
    target = tmp_path / "out"
    with pytest.raises(QualityCheckFailed, match="quarantine_ratio"):
        run_orders(spark, source, target, "r2", health_check=True)
    paths = OutputPaths.of(str(target), "r2")
    assert not Path(paths.data).exists(), "curated data must not be published when a check fails"
    assert json.loads(Path(paths.quality_result).read_text())["passed"] is False
    assert Path(paths.quarantine).exists()


def test_failing_quality_in_a_normal_run_returns_the_report(spark, tmp_path):
    source = tmp_path / "bad.jsonl"
    sample_data.write(source, 60, bad_every=3)
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
    assert curated.count() == counts.unique_valid_orders + 1


def test_curated_table_is_registered_in_the_catalog(spark, tmp_path):
    spark.sql("CREATE DATABASE IF NOT EXISTS pipeline_test")
    run_orders(spark, Path(JOB.sample_path), tmp_path, "r4", database="pipeline_test", table="orders")
    _, counts = sample_data.generate(SAMPLE_ROWS)
    table = spark.table("pipeline_test.orders")
    assert table.count() == counts.unique_valid_orders
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


def test_local_cli_prints_the_report_and_exits_zero(spark, tmp_path, capsys):
    code = local.main(["orders", "--target", str(tmp_path), "--run-id", "cli", "--health-check"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Data-quality report: job orders, run cli" in out
    assert "malformed_json" in out and "overall: PASSED" in out


def test_local_cli_rejects_unknown_job_and_missing_source(spark, tmp_path, capsys):
    with pytest.raises(SystemExit, match="unknown job 'nope': available jobs are orders"):
        local.main(["nope"])
    assert local.main(["orders", "--source", str(tmp_path / "missing.jsonl"), "--target", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err
