"""Shared fixtures and the test tiers.

Tiers: every test has exactly one, `pytest.mark.tier(...)` on its module (`pytestmark`), class or function (the
closest wins), and this file adds it as a plain marker for `-m`: `unit` (pure code), `program` (a Pulumi program
under mocks), `aws` (against moto server), `spark` (local PySpark). A test without a tier, or with a tier lighter than
the fixtures it uses (a unit test evaluating a program, a program test using moto server), stops the collection.
`slow` (not a tier) marks a test that pays for its own program evaluation or process; `make test-fast` runs the unit
and program tiers without them.

Fixtures: every program evaluation is made once per session, when a test first needs it (`evaluations`, and
`shipped` / `shipped_job` per shipped stack and job), never at collection; the jobs in the repository; one local
Spark session; moto server.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import gc
import json
import os
from collections.abc import Callable

import boto3
import botocore.loaders
import botocore.session
import pulumi
import pytest

from harness.program import ACCOUNT_ID, ProgramRun, run_program
from jobs.common.catalog import job_names
from stack_files import ROOT, SHIPPED_STACKS, project_defaults, stack_config

P = "data-pipeline:"

# Powertools reads these when a handler module is imported, as Lambda sets them before the import.
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "DataPipelineTest")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "data-pipeline-test")
# Every JVM a test starts (the Spark session's, and those of the CLIs run in subprocesses, which inherit this) lives
# seconds on small data: the C1 compiler alone and the serial collector (no C2 or parallel GC threads) cut its CPU
# time by a third to two fifths. Spark's launcher adds SPARK_SUBMIT_OPTS to the driver JVM's command line, and Spark
# reads `-Dspark.*` properties as settings: on tens of rows, compiling each query's generated Java costs more than
# it saves, so test JVMs evaluate expressions interpreted (Spark's own fallback, the same results; a run of a job
# takes about a third less time).
os.environ.setdefault("SPARK_SUBMIT_OPTS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC "
                      "-Dspark.sql.codegen.wholeStage=false -Dspark.sql.codegen.factoryMode=NO_CODEGEN")

# Every boto3 session parses the AWS service models it uses afresh (~50 ms a client: S3's alone is megabytes of JSON),
# and the code under test makes a session per command, health check, release client and Iceberg catalog: in this
# process they all read the models once, through one cache shared by their loaders (botocore keeps it per loader).
# Keyed by the search path a loader starts with: boto3 adds its own data folder afterwards, so a plain botocore
# session would see boto3's listings of services (the tests make none); the models themselves are never changed.
_SERVICE_MODELS: dict = {}


def _loader_sharing_models(search_path_string=None):
    loader = botocore.loaders.create_loader(search_path_string)
    loader._cache = _SERVICE_MODELS.setdefault(search_path_string, {})
    return loader


botocore.session.create_loader = _loader_sharing_models

# --- tiers -------------------------------------------------------------------------------------------------------

# Lightest first: a test's tier is at least the heaviest its fixtures need.
TIERS = {
    "unit": "pure code: config, IAM documents, ASL, handler logic, transforms' pure parts, CLIs with fakes",
    "program": "a Pulumi program evaluated under mocks",
    "aws": "code that calls AWS, against moto server on 127.0.0.1",
    "spark": "PySpark in local mode (Java 17)",
}
FIXTURE_TIERS = {"evaluations": "program", "shipped": "program", "shipped_job": "program", "check_stack_run": "program",
                 "moto_endpoint": "aws", "aws": "aws", "spark": "spark"}


def pytest_configure(config):
    config.addinivalue_line("markers", "tier(name): the test's tier, one of " + ", ".join(TIERS))
    for name, what in TIERS.items():
        config.addinivalue_line("markers", f"{name}: tier {name}, {what} (added from pytest.mark.tier)")
    config.addinivalue_line("markers", "slow: pays for its own program evaluation or process (not in make test-fast)")
    # pytest-xdist declares it too, but a run without its plugin (`-p no:xdist`) must still take the mark.
    config.addinivalue_line("markers", "xdist_group(name): tests pytest-xdist runs in one worker (--dist loadgroup)")


def tier_problem(item) -> str | None:
    marks = list(item.iter_markers("tier"))
    if not marks:
        return "has no tier: add pytestmark = pytest.mark.tier(...) to its module, or mark the test"
    if sum(1 for mark in item.own_markers if mark.name == "tier") > 1:
        return "has two tiers"
    tier = marks[0].args[0] if marks[0].args else None
    if tier not in TIERS:
        return f"tier {tier!r}: expected one of {', '.join(TIERS)}"
    if any(mark.name in TIERS for mark in item.iter_markers()):
        return f"is marked pytest.mark.{tier}: declare tiers with pytest.mark.tier({tier!r})"
    order = list(TIERS)
    needed = max((FIXTURE_TIERS[f] for f in item.fixturenames if f in FIXTURE_TIERS), key=order.index,
                 default="unit")
    if order.index(tier) < order.index(needed):
        return f"is tier {tier} but its fixtures need tier {needed}"
    return None


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by the markers added here
def pytest_collection_modifyitems(config, items):
    problems = []
    for item in items:
        problem = tier_problem(item)
        if problem:
            problems.append(f"{item.nodeid} {problem}")
        else:
            item.add_marker(next(item.iter_markers("tier")).args[0])
    if problems:
        raise pytest.UsageError("tests without a valid tier:\n  " + "\n  ".join(problems))
    grouped = set()
    for item in items:
        group = xdist_group(item)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
            grouped.add(item)
    # The long tests first (a Spark run, or a test paying for its own evaluation or process): the workers take tests
    # in this order (after the groups, largest first), so no long test is left to run alone at the end.
    # A module's tests sharing a module-scoped fixture stay together, so a single-process run makes it once.
    items.sort(key=lambda item: item not in grouped and not long_running(item))


def long_running(item) -> bool:
    return item.get_closest_marker("spark") is not None or item.get_closest_marker("slow") is not None


def xdist_group(item) -> str | None:
    """Which tests `make test`'s workers (pytest-xdist, `--dist loadgroup`) run in one process: a module's tests that
    share a module-scoped fixture (made once, not once per worker). Other tests go wherever a worker is free, Spark
    tests too: each worker starts its own Spark session, whose start and warm-up (some 10 s) costs less than
    leaving the Spark tests to one worker while the other idles."""
    definitions = item._fixtureinfo.name2fixturedefs  # pytest has no public view of a test's fixtures' scopes
    if any(defs[-1].scope == "module" for defs in definitions.values()):
        return item.module.__name__
    return None


# Allocations between two collections of the youngest generation (Python's default: 700). The tests allocate in
# bulk (program evaluations, moto's responses, Arrow tables) and keep what they make (the session's evaluations):
# at 700 the collector ran some 6,000 young and 30 full passes, 11 s of an 80 s non-Spark run; at this, about 6 s.
YOUNG_GENERATION_THRESHOLD = 10_000


def pytest_collection_finish(session):
    """What collection imported (pulumi_aws, pyspark, moto, ...) lives until the end: keep the cyclic collector from
    walking it on every full pass, and pytest's five passes at exit (its unraisable-exception check); and let it
    run less often (YOUNG_GENERATION_THRESHOLD)."""
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, *gc.get_threshold()[1:])


@pytest.fixture(autouse=True)
def unit_tests_evaluate_no_program(request, monkeypatch):
    """A unit test that evaluates a Pulumi program is a program test: say so instead of running slowly."""
    if request.node.get_closest_marker("unit") is not None:
        def refuse(*args, **kwargs):
            raise AssertionError(f"{request.node.nodeid} is tier unit but evaluates a Pulumi program under mocks: "
                                 "mark it pytest.mark.tier('program')")

        monkeypatch.setattr(pulumi.runtime, "set_mocks", refuse)


# --- program evaluations -----------------------------------------------------------------------------------------

BOOTSTRAP = ROOT / "bootstrap"

# The PR stack as the PR workflow deploys it, and the bootstrap's boundary of its roles.
PR_STACK = "pr-42"
PR_BOUNDARY_ARN = f"arn:aws:iam::{ACCOUNT_ID}:policy/data-pipeline-ci/data-pipeline-ci-pr-stacks-boundary"


def pr_stack_config_as_deployed() -> dict:
    """The PR stack's config as the CLI combines it: project defaults, then what `automation` sets."""
    # Imported here: a copy of the repository with only the program and the tests (test_scaffold) has no automation.
    from automation.profile import pull_request
    from automation.profile import stack_config as pr_stack_config

    pr = pull_request(42, "0123abc", "octocat")
    return {**project_defaults(), **pr_stack_config(pr)}


class Evaluations:
    """Each program evaluated at most once per test session, when a test first asks (the mocks are deterministic);
    tests read the runs and never change them. Strict runs: `of_type` finding nothing fails the test."""

    def __init__(self):
        self._runs: dict[tuple, ProgramRun] = {}

    def _once(self, key: tuple, evaluate: Callable[[], ProgramRun]) -> ProgramRun:
        if key not in self._runs:
            self._runs[key] = evaluate()
        return self._runs[key]

    def stack(self, stack: str, preview: bool = False) -> ProgramRun:
        """A shipped stack, its config from its stack file as the CLI builds it."""
        return self._once(("stack", stack, preview), lambda: run_program(stack, preview=preview, strict=True))

    def as_a_command_reads(self, stack: str, preview: bool = False) -> ProgramRun:
        """A shipped stack's evaluation read as a command reads any run: not strict (it takes what the stack has)."""
        return dataclasses.replace(self.stack(stack, preview), strict=False)

    def run_program_of_a_command(self, stack: str, config: dict, *, program, preview: bool = False) -> ProgramRun:
        """Stands in for `run_program` where a command evaluates a shipped stack file: the session's evaluation of
        it, checked to be of that file and program."""
        assert (config, program) == (stack_config(stack), ROOT / "__main__.py")
        return self.as_a_command_reads(stack, preview)

    def pr_stack(self) -> ProgramRun:
        return self._once(("pr",), lambda: run_program(PR_STACK, pr_stack_config_as_deployed(), strict=True))

    def check_stack(self) -> ProgramRun:
        """The check stack as `python -m automation pr` deploys it: project defaults, then its profile's config."""
        from automation.profile import check_stack_config
        from settings.delivery import CHECK_STACK

        return self._once(("check",), lambda: run_program(CHECK_STACK, {**project_defaults(), **check_stack_config()},
                                                          strict=True))

    def bootstrap(self, account: str, preview: bool = False) -> ProgramRun:
        """The bootstrap program for one account's example stack file."""
        from bootstrap.config import PROJECT as BOOTSTRAP_PROJECT

        return self._once(("bootstrap", account, preview), lambda: run_program(
            account, preview=preview, program=BOOTSTRAP / "__main__.py", project=BOOTSTRAP_PROJECT, strict=True))


@pytest.fixture(scope="session")
def evaluations() -> Evaluations:
    return Evaluations()


def stack_jobs(stack: str) -> list[str]:
    """The jobs a shipped stack deploys, by its config (the program registers them in this order)."""
    return sorted(stack_config(stack)[P + "glueJobs"])


# Every job of every shipped stack, and every job in the repository: what per-job tests parametrize over.
STACK_JOBS = [(stack, job) for stack in SHIPPED_STACKS for job in stack_jobs(stack)]
STACK_JOB_IDS = [f"{stack}-{job}" for stack, job in STACK_JOBS]
REPOSITORY_JOBS = job_names()


def parsed_once(parse: Callable[[str], dict]) -> Callable[[str], dict]:
    """`parse`, run once per argument in the session (the tests read the same files hundreds of times), each caller
    getting a copy of its own to change as it likes."""
    parsed = functools.cache(parse)
    return functools.wraps(parse)(lambda name: copy.deepcopy(parsed(name)))


# A shipped stack's config as the CLI builds it, from its stack file and Pulumi.yaml.
shipped_config = parsed_once(stack_config)


@pytest.fixture
def check_stack_run(evaluations) -> ProgramRun:
    return evaluations.check_stack()


@pytest.fixture(params=SHIPPED_STACKS)
def shipped(request, evaluations) -> tuple[str, dict, ProgramRun]:
    """(stack name, its config as the CLI would pass it, what the program registered)."""
    return request.param, shipped_config(request.param), evaluations.stack(request.param)


@pytest.fixture(params=STACK_JOBS, ids=STACK_JOB_IDS)
def shipped_job(request, evaluations) -> tuple[str, str, dict, ProgramRun]:
    """(stack name, one job it deploys, the stack's config, what the program registered)."""
    stack, job = request.param
    return stack, job, shipped_config(stack), evaluations.stack(stack)


def rows_frame(spark, schema: str, *rows: tuple):
    """A frame of these rows, in order, with this schema (DDL, as `createDataFrame` takes it). Made in the JVM, from
    literals exploded out of one row: a frame of Python rows (`createDataFrame`) starts Python workers each time a
    query reads it, some 0.2 s a read."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType

    struct = spark.createDataFrame([], schema).schema  # the DDL parsed; an empty frame's schema runs no query
    values = [F.struct(*[F.lit(value).cast(field.dataType).alias(field.name) for value, field in
                         zip(row, struct.fields, strict=True)]) for row in rows]
    return spark.range(1).select(F.explode(F.array(*values).cast(ArrayType(struct))).alias("row")).select("row.*")


def text_lines(spark, *records):
    """Lines as a job reads them (one column `value`), in order: a dict as its JSON, a string as it is."""
    return rows_frame(spark, "value string", *[(r if isinstance(r, str) else json.dumps(r),) for r in records])


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
def spark(tmp_path_factory):
    """One session for every Spark test, its curated catalog in a fresh warehouse (tests keep apart by namespace:
    `database`)."""
    from jobs.common.local import local_session

    session = local_session("data-pipeline-tests", cores=2, warehouse=tmp_path_factory.mktemp("warehouse"))
    # One shuffle partition: tens of rows per query, and one task per stage instead of two.
    session.conf.set("spark.sql.shuffle.partitions", "1")
    # Re-planning each query as its stages finish pays on large data only: off, a test's run of the job (some
    # 30 tiny queries) takes about an eighth less CPU. Results never depend on it, only the physical plan does.
    session.conf.set("spark.sql.adaptive.enabled", "false")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def local_cli(spark, database, monkeypatch) -> str:
    """`python -m jobs.common.local` (`local.main`) in this test's process: on the test session (its own
    getOrCreate would apply the CLI's settings, warehouse included, to the session every test shares) and into a
    namespace of this test's own, which it returns."""
    from jobs.common import iceberg, local

    monkeypatch.setattr(local, "local_session", lambda **_settings: spark)
    monkeypatch.setattr(iceberg, "LOCAL_DATABASE", database)
    return database


@pytest.fixture
def database(request) -> str:
    """A namespace of the test session's warehouse of this test's own, so its tables start empty."""
    return "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:80].lower()


@pytest.fixture(scope="session")
def moto_endpoint():
    from tests.aws_server import moto_server

    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def aws(moto_endpoint, monkeypatch):
    """boto3 (and the handlers) talking to the session's moto server; returns a client factory."""
    return talking_to_moto(moto_endpoint, monkeypatch)


def talking_to_moto(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], object]:
    """Sends boto3 (and the handlers) to the moto server at `moto_endpoint` for as long as `monkeypatch` lasts;
    returns a client factory."""
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
