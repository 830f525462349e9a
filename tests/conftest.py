"""Shared fixtures: each shipped stack evaluated once under Pulumi mocks, and one local Spark session."""

from __future__ import annotations

import pytest

from offline.program import ProgramRun, run_program
from offline.stack_files import SHIPPED_STACKS, stack_config

_RUNS: dict[str, ProgramRun] = {}


def program_run(stack: str) -> ProgramRun:
    """The shipped stack's program, evaluated once per test session (the mocks are deterministic)."""
    if stack not in _RUNS:
        _RUNS[stack] = run_program(stack)
    return _RUNS[stack]


@pytest.fixture(params=SHIPPED_STACKS)
def shipped(request) -> tuple[str, dict, ProgramRun]:
    """(stack name, its config as the CLI would pass it, what the program registered)."""
    return request.param, stack_config(request.param), program_run(request.param)


@pytest.fixture(scope="session")
def spark():
    from jobs.common.local import local_session

    session = local_session("data-pipeline-tests", cores=2)
    session.conf.set("spark.sql.shuffle.partitions", "2")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
