"""The thin Glue entrypoint's wiring: job arguments in, Iceberg catalog settings, runner called, bookmark committed
only when the run passed.

`awsglue` exists only inside the Glue runtime (it is not on PyPI), so this test installs a small stand-in
for the three names the entrypoint uses. The stand-in returns what Glue's DynamicFrame reader returns
for the entrypoint's CSV options: one column `col0` holding each whole line.
"""

from __future__ import annotations

import json
import runpy
import sys
import types
from pathlib import Path

import pytest

from jobs.common import glue_entrypoint, iceberg, sample
from jobs.common.catalog import JOBS_DIR, load_job
from jobs.common.outputs import OutputPaths
from jobs.common.runner import QualityCheckFailed
from jobs.common.table import CuratedTable
from jobs.orders import sample_data
from jobs.orders.job import JOB
from tests.conftest import REPOSITORY_JOBS

pytestmark = pytest.mark.tier("spark")


class GlueStandIn:
    """Records what the entrypoint asked of Glue."""

    def __init__(self, spark):
        self.spark = spark
        self.read_options: dict = {}
        self.committed = False
        self.initialised_with: tuple = ()
        self.spark_settings: dict = {}

    def modules(self) -> dict[str, types.ModuleType]:
        stand_in = self

        class DynamicFrameReader:
            def from_options(self, **options):
                stand_in.read_options = options
                (path,) = options["connection_options"]["paths"]
                lines = stand_in.spark.read.text(path).withColumnRenamed("value", "col0")
                # Glue computes a DynamicFrame's schema from its records: with none, toDF() has no column at all.
                frame = lines if lines.take(1) else stand_in.spark.range(0).drop("id")
                return types.SimpleNamespace(toDF=lambda: frame)

        class GlueContext:
            def __init__(self, spark_context):
                # The entrypoint's SparkContext.getOrCreate(conf) returned the test session's context.
                assert spark_context is stand_in.spark.sparkContext
                self.spark_session = stand_in.spark
                self.create_dynamic_frame = DynamicFrameReader()

        class Job:
            def __init__(self, glue_context):
                pass

            def init(self, name, args):
                stand_in.initialised_with = (name, args)

            def commit(self):
                stand_in.committed = True

        def get_resolved_options(argv, names):
            pairs = dict(zip(argv[1::2], argv[2::2], strict=True))
            return {name: pairs[f"--{name}"] for name in names}

        return {
            "awsglue": types.ModuleType("awsglue"),
            "awsglue.context": types.SimpleNamespace(GlueContext=GlueContext),
            "awsglue.job": types.SimpleNamespace(Job=Job),
            "awsglue.utils": types.SimpleNamespace(getResolvedOptions=get_resolved_options),
        }


KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"


def glue_argv(source: Path, target: Path, health_check: str, database: str, job: str = "orders") -> list[str]:
    return ["glue_main.py", "--JOB_NAME", f"data-pipeline-dev-{job}", "--JOB_RUN_ID", "jr_0123",
            "--source_path", str(source), "--target_path", str(target), "--database", database,
            "--table", job, "--health_check", health_check, "--kms_key_arn", KEY_ARN]


@pytest.fixture
def glue(spark, monkeypatch):
    from pyspark.context import SparkContext

    stand_in = GlueStandIn(spark)
    for name, module in stand_in.modules().items():
        monkeypatch.setitem(sys.modules, name, module)
    get_or_create = SparkContext.getOrCreate

    def recording(conf=None):
        """What Glue's fresh context would start with (the test session's context is running already)."""
        stand_in.spark_settings = dict(conf.getAll()) if conf else {}
        stand_in.started_before_init = not stand_in.initialised_with
        return get_or_create(conf)

    monkeypatch.setattr(SparkContext, "getOrCreate", staticmethod(recording))
    return stand_in


def declared(spark, database: str, job: str = "orders") -> CuratedTable:
    """The job's table as the stack declares it in AWS (the Glue entrypoint never creates one)."""
    definition = load_job(job)
    table = CuratedTable(spark, database, job)
    table.ensure(definition.curated_schema, definition.partition_column, create=True)
    return table


def test_glue_run_starts_the_context_with_the_glue_catalog_reads_with_bookmarks_publishes_and_commits(
        glue, database, tmp_path, monkeypatch, capsys):
    """The Iceberg extensions are read when the context starts: the entrypoint passes the Glue catalog's settings
    to the context it starts, before the job initialises. A passing health check publishes nothing; a passing run
    publishes and then commits the bookmark."""
    table = declared(glue.spark, database)
    monkeypatch.setattr(sys, "argv", glue_argv(Path(JOB.sample_path), tmp_path / "check", "true", database))
    glue_entrypoint.main(JOB)
    checked = json.loads(capsys.readouterr().out)
    assert checked["passed"] and not checked["table"]["published"] and table.snapshot() is None
    glue.committed, glue.initialised_with = False, ()  # the next run is a job run of its own
    monkeypatch.setattr(sys, "argv", glue_argv(Path(JOB.sample_path), tmp_path, "false", database))
    glue_entrypoint.main(JOB)
    assert glue.started_before_init
    settings, expected = glue.spark_settings, iceberg.glue_settings(warehouse=str(tmp_path), kms_key_arn=KEY_ARN)
    assert {key: settings.get(key) for key in expected} == expected
    assert settings["spark.sql.extensions"] == "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"
    assert settings["spark.sql.catalog.curated.catalog-impl"] == "org.apache.iceberg.aws.glue.GlueCatalog"
    assert settings["spark.sql.catalog.curated.io-impl"] == "org.apache.iceberg.aws.s3.S3FileIO"
    assert (settings["spark.sql.catalog.curated.s3.sse.type"], settings["spark.sql.catalog.curated.s3.sse.key"]) == (
        "kms", KEY_ARN)
    assert glue.committed
    assert glue.initialised_with[0] == "data-pipeline-dev-orders"
    assert glue.read_options["transformation_ctx"] == "source_lines", "bookmarks need a transformation_ctx"
    assert glue.read_options["format_options"]["quoteChar"] == -1
    result = json.loads(Path(OutputPaths.of(str(tmp_path), "jr_0123").quality_result).read_text())
    assert result["passed"] and result["run_id"] == "jr_0123" and result["table"]["published"]
    assert result["table"]["snapshot_after"] == table.snapshot() and table.rows() == 128
    assert json.loads(capsys.readouterr().out)["job"] == "orders"


@pytest.mark.parametrize("health_check", ["true", "false"])
def test_a_failed_audit_fails_the_run_without_committing(glue, database, tmp_path, monkeypatch, health_check):
    """A failed run must not advance the bookmark, health check or not: its input is read again next time."""
    table = declared(glue.spark, database)
    source = tmp_path / "bad.jsonl"
    sample.write(source, sample_data.generate(30, bad_every=2))
    monkeypatch.setattr(sys, "argv", glue_argv(source, tmp_path / "out", health_check, database))
    with pytest.raises(QualityCheckFailed):
        glue_entrypoint.main(JOB)
    assert not glue.committed and table.snapshot() is None


@pytest.mark.parametrize("job", REPOSITORY_JOBS)
def test_each_jobs_glue_entrypoint_runs_its_own_job_and_a_run_with_no_new_input_commits(glue, database, job, tmp_path,
                                                                                       monkeypatch, capsys):
    """The script Glue runs, as Glue runs it: a copied entrypoint still importing another job's module would
    silently run that job's code under this job's name. With no new input the run passes, says so and commits the
    bookmark. (A run's work on data: the tests above and tests/test_jobs.py's run of each job's sample.)"""
    declared(glue.spark, database, job)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "empty.jsonl").write_text("")
    monkeypatch.setattr(sys, "argv", glue_argv(tmp_path / "in", tmp_path / "out", "false", database, job))
    runpy.run_path(str(JOBS_DIR / job / "glue_main.py"), run_name="__main__")
    report = json.loads(capsys.readouterr().out)
    assert report["job"] == job and report["passed"] and report["no_new_input"]
    assert glue.initialised_with[0] == f"data-pipeline-dev-{job}" and glue.committed
