"""Every job in the repository, whatever its shape: its definition, its sample and generator, a run over the
sample. A new job is checked on all of this without writing a test (its own file covers its business rules)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs.common import local
from jobs.common.catalog import load_job, sample_module
from jobs.common.definition import REJECTION_REASON, transform
from jobs.common.outputs import OutputPaths
from jobs.common.table import CuratedTable
from tests.conftest import REPOSITORY_JOBS, text_lines

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
    result = transform(load_job(job), text_lines(spark, *generated))
    assert result.curated.count() == counts.curated
    quarantined = {row[REJECTION_REASON]: row["count"]
                   for row in result.quarantine.groupBy(REJECTION_REASON).count().collect()}
    assert quarantined == dict(counts.rejected)


@pytest.mark.tier("spark")
@pytest.mark.parametrize("job", REPOSITORY_JOBS)
def test_the_local_cli_runs_the_sample_publishes_and_accounts_for_every_line(spark, local_cli, tmp_path, job, capsys):
    """`python -m jobs.common.local JOB`, the command the scaffold tells a new job's author to run."""
    database = local_cli
    definition, module = load_job(job), sample_module(job)
    _, counts = module.generate(module.SAMPLE_ROWS)
    assert local.main([job, "--target", str(tmp_path), "--run-id", "r1"]) == 0
    printed = capsys.readouterr().out
    assert (f"input lines: {counts.lines} = curated {counts.curated} + quarantined {counts.quarantined} + "
            f"superseded {counts.superseded}") in printed
    assert f"merge: {counts.curated} inserted, 0 updated, 0 unchanged" in printed and "overall: PASSED" in printed
    assert (f"curated table   {database}.{job} (partitioned by {definition.partition_column}): published snapshot "
            in printed)
    paths = OutputPaths.of(str(tmp_path / "_runs" / job), "r1")
    assert f"quality result  {paths.quality_result}" in printed
    assert printed.rstrip().endswith(f"table rows: {counts.curated}")
    table = CuratedTable(spark, database, job)
    assert table.partition_columns() == [definition.partition_column]
    assert table.rows() == counts.curated
    assert spark.read.json(paths.quarantine).count() == counts.quarantined
    result = json.loads(Path(paths.quality_result).read_text())
    assert result["passed"] is True and result["run_id"] == "r1" and result["table"]["published"]
    assert (result["input_rows"], result["curated_rows"], result["quarantined_rows"], result["superseded_rows"]) == (
        counts.lines, counts.curated, counts.quarantined, counts.superseded)
    assert result["quarantine_reasons"] == dict(sorted(counts.rejected.items()))
