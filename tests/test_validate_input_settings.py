"""The JOBS setting each shipped stack gives the validate_input function is one the handler reads, and sends a
health-check run to the job's `_health/<job>/` folders and a scheduled run to the job's own prefixes (the contract
between the stack's functions component and the handler)."""

from __future__ import annotations

import pytest

from functions.shared.events import read_settings
from functions.validate_input.handler import RunInput, Settings, ValidateInputEvent, resolve_run
from settings.naming import health_check_prefix, job_prefix

pytestmark = pytest.mark.tier("program")


def test_each_stacks_jobs_setting_separates_health_checks_from_scheduled_runs(shipped, monkeypatch):
    _, config, run = shipped
    (function,) = [r for r in run.of_type("aws:lambda/function:Function") if "validate-input" in r.name]
    for name, value in function.inputs["environment"]["variables"].items():
        monkeypatch.setenv(name, value)
    jobs = read_settings(Settings).jobs
    buckets = {zone: next(r.outputs["bucket"] for r in run.of_type("aws:s3/bucket:Bucket") if f"-{zone}" in r.name)
               for zone in ("raw", "curated")}
    assert sorted(jobs) == sorted(config["data-pipeline:glueJobs"])
    for job in jobs:
        scheduled = resolve_run(ValidateInputEvent(job=job), jobs)
        health = resolve_run(ValidateInputEvent(job=job, input=RunInput(health_check=True)), jobs)
        assert (scheduled["source_path"], scheduled["target_path"], scheduled["bookmark_option"]) == (
            f"s3://{buckets['raw']}/{job_prefix(job)}", f"s3://{buckets['curated']}/{job_prefix(job)}",
            "job-bookmark-enable")
        assert (health["source_path"], health["target_path"], health["bookmark_option"]) == (
            f"s3://{buckets['raw']}/{health_check_prefix(job)}", f"s3://{buckets['curated']}/{health_check_prefix(job)}",
            "job-bookmark-disable")
