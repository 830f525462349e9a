"""The thin Glue entrypoint's wiring: job arguments in, runner called, bookmark committed.

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

from jobs.common import glue_entrypoint, sample
from jobs.common.catalog import JOBS_DIR, load_job
from jobs.common.runner import OutputPaths, QualityCheckFailed
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

    def modules(self) -> dict[str, types.ModuleType]:
        stand_in = self

        class DynamicFrameReader:
            def from_options(self, **options):
                stand_in.read_options = options
                (path,) = options["connection_options"]["paths"]
                lines = stand_in.spark.read.text(path).withColumnRenamed("value", "col0")
                return types.SimpleNamespace(toDF=lambda: lines)

        class GlueContext:
            def __init__(self, spark_context):
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


def glue_argv(source: Path, target: Path, health_check: str, job: str = "orders") -> list[str]:
    return ["glue_main.py", "--JOB_NAME", f"data-pipeline-dev-{job}", "--JOB_RUN_ID", "jr_0123",
            "--source_path", str(source), "--target_path", str(target), "--database", "",
            "--table", job, "--health_check", health_check]


@pytest.fixture
def glue(spark, monkeypatch):
    stand_in = GlueStandIn(spark)
    for name, module in stand_in.modules().items():
        monkeypatch.setitem(sys.modules, name, module)
    return stand_in


def test_glue_run_reads_with_bookmarks_writes_outputs_and_commits(glue, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", glue_argv(Path(JOB.sample_path), tmp_path, "true"))
    glue_entrypoint.main(JOB)
    assert glue.committed
    assert glue.initialised_with[0] == "data-pipeline-dev-orders"
    assert glue.read_options["transformation_ctx"] == "source_lines", "bookmarks need a transformation_ctx"
    assert glue.read_options["format_options"]["quoteChar"] == -1
    result = json.loads(Path(OutputPaths.of(str(tmp_path), "jr_0123").quality_result).read_text())
    assert result["passed"] and result["run_id"] == "jr_0123"
    assert json.loads(capsys.readouterr().out)["job"] == "orders"


def test_glue_health_check_fails_the_run_without_committing(glue, tmp_path, monkeypatch):
    source = tmp_path / "bad.jsonl"
    sample.write(source, sample_data.generate(30, bad_every=2))
    monkeypatch.setattr(sys, "argv", glue_argv(source, tmp_path / "out", "true"))
    with pytest.raises(QualityCheckFailed):
        glue_entrypoint.main(JOB)
    assert not glue.committed, "a failed run must not advance the bookmark"


@pytest.mark.parametrize("job", REPOSITORY_JOBS)
def test_each_jobs_glue_entrypoint_runs_its_own_job(glue, job, tmp_path, monkeypatch, capsys):
    """The script Glue runs, as Glue runs it: a copied entrypoint still importing another job's module would
    silently run that job's code under this job's name."""
    monkeypatch.setattr(sys, "argv", glue_argv(Path(load_job(job).sample_path), tmp_path, "true", job))
    runpy.run_path(str(JOBS_DIR / job / "glue_main.py"), run_name="__main__")
    report = json.loads(capsys.readouterr().out)
    assert report["job"] == job and report["passed"]
    assert glue.initialised_with[0] == f"data-pipeline-dev-{job}" and glue.committed
