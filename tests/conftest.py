"""Shared fixtures: each shipped stack evaluated once under Pulumi mocks (also per job it deploys), the jobs in the
repository, and one local Spark session."""

from __future__ import annotations

import json
import os

import boto3
import pytest

from harness.program import ProgramRun, run_program
from jobs.common.catalog import job_names
from stack_files import SHIPPED_STACKS, stack_config

P = "data-pipeline:"

_RUNS: dict[tuple[str, bool], ProgramRun] = {}

# Powertools reads these when a handler module is imported, as Lambda sets them before the import.
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "DataPipelineTest")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "data-pipeline-test")


def program_run(stack: str, preview: bool = False) -> ProgramRun:
    """The shipped stack's program, evaluated once per test session and mode (the mocks are deterministic)."""
    if (stack, preview) not in _RUNS:
        _RUNS[(stack, preview)] = run_program(stack, preview=preview)
    return _RUNS[(stack, preview)]


def stack_jobs(stack: str) -> list[str]:
    """The jobs a shipped stack deploys, by its config (the program registers them in this order)."""
    return sorted(stack_config(stack)[P + "glueJobs"])


# Every job of every shipped stack, and every job in the repository: what per-job tests parametrize over.
STACK_JOBS = [(stack, job) for stack in SHIPPED_STACKS for job in stack_jobs(stack)]
REPOSITORY_JOBS = job_names()


@pytest.fixture(params=SHIPPED_STACKS)
def shipped(request) -> tuple[str, dict, ProgramRun]:
    """(stack name, its config as the CLI would pass it, what the program registered)."""
    return request.param, stack_config(request.param), program_run(request.param)


@pytest.fixture(params=STACK_JOBS, ids=[f"{stack}-{job}" for stack, job in STACK_JOBS])
def shipped_job(request) -> tuple[str, str, dict, ProgramRun]:
    """(stack name, one job it deploys, the stack's config, what the program registered)."""
    stack, job = request.param
    return stack, job, stack_config(stack), program_run(stack)


def text_lines(spark, *records):
    """Lines as a job reads them (one column `value`): a dict as its JSON, a string as it is."""
    return spark.createDataFrame([(r if isinstance(r, str) else json.dumps(r),) for r in records], "value string")


def rejection_reasons(spark, job, *records) -> list[str | None]:
    """The reason `job` rejects each record for (None: valid), in order, from one frame (one Spark job)."""
    from jobs.common.definition import REJECTION_REASON

    return [row[REJECTION_REASON] for row in job.validate(text_lines(spark, *records)).select(REJECTION_REASON)
            .collect()]


def assert_each_gets_its_reason(spark, job, good: dict, broken: list[tuple[dict | str, str]]) -> None:
    """`good` is valid, and each (change to `good`, or a whole line; reason) is rejected for its reason."""
    records = [change if isinstance(change, str) else {**good, **change} for change, _ in broken]
    got = rejection_reasons(spark, job, good, *records)
    assert got[0] is None, f"{good} is rejected for {got[0]}"
    assert list(zip(records, got[1:], strict=True)) == [(r, reason) for r, (_, reason) in zip(records, broken,
                                                                                                  strict=True)]


@pytest.fixture(scope="session")
def spark():
    from jobs.common.local import local_session

    session = local_session("data-pipeline-tests", cores=2)
    session.conf.set("spark.sql.shuffle.partitions", "2")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def moto_endpoint():
    from tests.aws_server import moto_server

    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def aws(moto_endpoint, monkeypatch):
    """boto3 (and the handlers) talking to the session's moto server; returns a client factory."""
    from tests.aws_server import REGION, aws_environment

    for name, value in aws_environment(moto_endpoint).items():
        monkeypatch.setenv(name, value)
    return lambda service: boto3.client(service, region_name=REGION, endpoint_url=moto_endpoint)


@pytest.fixture
def lambda_context():
    from types import SimpleNamespace

    return SimpleNamespace(function_name="test-fn", memory_limit_in_mb=256, aws_request_id="req-1",
                           invoked_function_arn="arn:aws:lambda:eu-west-1:000000000000:function:test-fn")


def pytest_addoption(parser):
    parser.addoption("--update-snapshots", action="store_true",
                     help="rewrite tests/snapshots/*.json from the program instead of comparing with them")
