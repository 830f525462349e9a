"""Every job in the repository, whatever its shape: its definition, its sample and generator, a run over the
sample. A new job is checked on all of this without writing a test (its own file covers its business rules)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs.common.catalog import load_job, sample_module
from jobs.common.definition import REJECTION_REASON, transform
from jobs.common.local import run_local
from jobs.common.outputs import OutputPaths
from jobs.common.runner import RunOptions
from jobs.common.table import CuratedTable
from tests.conftest import REPOSITORY_JOBS

pytestmark = pytest.mark.tier("unit")


@pytest.mark.parametrize("job", REPOSITORY_JOBS)
def test_definition_is_the_folders_and_consistent(job):
    definition = load_job(job)
    fields = definition.curated_schema.fieldNames()
    assert definition.name == job
    assert fields[-1] == definition.partition_column, "Spark writes the partition column last"
    assert set(definition.business_key) <= set(fields)
    assert set(definition.quality.required_columns) <= set(fields)
    assert set(definition.business_key) <= set(definition.quality.required_columns)
    assert Path(definition.sample_path) == Path(sample_module(job).SAMPLE_PATH)


@pytest.mark.parametrize("job", REPOSITORY_JOBS)
def test_shipped_sample_is_its_generators_and_exercises_every_rule(job):
    module = sample_module(job)
    generated, counts = module.generate(module.SAMPLE_ROWS)
    assert Path(module.SAMPLE_PATH).read_text().splitlines() == generated
    assert counts.lines == len(generated) == counts.curated + counts.superseded + counts.quarantined
    assert counts.superseded > 0, "the sample has later versions of some keys"
    assert set(counts.rejected) == {reason for reason, _ in module.BAD_KINDS}, "every bad kind is in the sample"


@pytest.mark.tier("spark")
@pytest.mark.parametrize("job", REPOSITORY_JOBS)
def test_a_generated_input_splits_into_the_counts_it_was_generated_with(spark, job):
    generated, counts = sample_module(job).generate(400)
    result = transform(load_job(job), spark.createDataFrame([(line,) for line in generated], "value string"))
    assert result.curated.count() == counts.curated
    quarantined = {row[REJECTION_REASON]: row["count"]
                   for row in result.quarantine.groupBy(REJECTION_REASON).count().collect()}
    assert quarantined == dict(counts.rejected)


@pytest.mark.tier("spark")
@pytest.mark.parametrize("job", REPOSITORY_JOBS)
def test_a_run_on_the_sample_passes_publishes_and_accounts_for_every_line(spark, database, tmp_path, job):
    definition, module = load_job(job), sample_module(job)
    _, counts = module.generate(module.SAMPLE_ROWS)
    report = run_local(spark, definition, RunOptions(source_path=definition.sample_path, target_path=str(tmp_path),
                                                     run_id="r1", database=database, table=job, create_table=True))
    assert report.passed and report.table["published"]
    assert (report.input_rows, report.curated_rows, report.quarantined_rows, report.superseded_rows) == (
        counts.lines, counts.curated, counts.quarantined, counts.superseded)
    paths = OutputPaths.of(str(tmp_path), "r1")
    table = CuratedTable(spark, database, job)
    assert table.partition_columns() == [definition.partition_column]
    assert table.rows() == counts.curated
    assert spark.read.json(paths.quarantine).count() == counts.quarantined
    result = json.loads(Path(paths.quality_result).read_text())
    assert result["passed"] is True and result["run_id"] == "r1" and result["superseded_rows"] == counts.superseded
    assert result["quarantine_reasons"] == dict(sorted(counts.rejected.items()))
