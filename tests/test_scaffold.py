"""`python -m jobs new NAME`: before anyone edits it, the new job evaluates under mocks in every stack, passes the
policy report, runs locally and passes its tests; a name that cannot work leaves nothing behind."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.policy_report import report_for_run
from harness.program import copy_program, run_program
from jobs.common.catalog import job_names
from jobs.common.iceberg import RUNTIME_JAR
from jobs.common.local import CLASS_ARCHIVE
from jobs.scaffold import ScaffoldError, new_job, with_job
from stack_files import SHIPPED_STACKS, stack_config
from tests.conftest import P

pytestmark = pytest.mark.tier("program")

# The example: `python -m jobs new payments && make test` is green in one go. After that very sequence the
# repository has a payments job, so the suite adds the next free name.
JOB = next(name for name in (f"payments{n or ''}" for n in itertools.count()) if name not in job_names())
REPOSITORY_PARTS = ("harness", "policies", "schedules.py", "stack_files.py", "tests", "pyproject.toml", "automation")


def in_the_copy() -> dict[str, str]:
    """The environment of the processes that run in the copy (the command, the sample generator and the pytest it
    starts, the tests run here): they import the same files, and the first one's bytecode serves the others, where
    PYTHONDONTWRITEBYTECODE would have each of them compile everything again."""
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": ""}


def repository(folder: Path) -> Path:
    copy_program(folder, also=REPOSITORY_PARTS)
    return folder


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory) -> tuple[Path, str]:
    """A copy of the repository after `python -m jobs new JOB`, and what the command printed."""
    root = repository(tmp_path_factory.mktemp("repository"))
    done = subprocess.run([sys.executable, "-m", "jobs", "new", JOB], cwd=root, env=in_the_copy(), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return root, done.stdout


@pytest.mark.slow
@pytest.mark.tier("unit")
def test_the_job_its_test_and_a_line_in_every_stack_file_are_written(scaffolded):
    root, printed = scaffolded
    for module in ("__init__.py", "schema.py", "transforms.py", "job.py", "glue_main.py", "sample_data.py"):
        assert (root / "jobs" / JOB / module).is_file(), module
        assert f"created  jobs/{JOB}/{module}" in printed
    assert (root / "jobs" / JOB / "sample" / f"{JOB}.jsonl").stat().st_size > 0
    assert (root / "tests" / f"test_{JOB}_transforms.py").is_file()
    assert f"from jobs.{JOB}.job import JOB" in (root / "jobs" / JOB / "glue_main.py").read_text()
    for stack in SHIPPED_STACKS:
        before, after = stack_config(stack), stack_config(stack, root)
        assert after[P + "glueJobs"] == {**before[P + "glueJobs"], JOB: {}}
        assert {k: v for k, v in after.items() if k != P + "glueJobs"} == {
            k: v for k, v in before.items() if k != P + "glueJobs"}
        assert f"changed  Pulumi.{stack}.yaml" in printed
    assert "Now make it yours" in printed and f"python -m jobs.common.local {JOB}" in printed
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", f"jobs/{JOB}", f"tests/test_{JOB}_transforms.py"],
                          cwd=root, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout


@pytest.mark.slow
@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_the_new_job_deploys_in_every_stack_and_passes_the_policy_report(scaffolded, stack):
    root, _ = scaffolded
    run = run_program(stack, stack_config(stack, root), program=root / "__main__.py", strict=True)
    assert run.exports["glue_jobs"][JOB] == f"data-pipeline-{stack}-{JOB}"
    assert JOB in run.exports["state_machines"]
    role = run.one("aws:iam/rolePolicy:RolePolicy", f"{JOB}-policy").inputs["policy"]
    assert f"/{JOB}/*" in role and "/orders/" not in role, "the new job's role reaches only its own prefixes"
    report = report_for_run(run)
    assert report.findings == [] and report.errors == [], [f.message for f in report.findings] + report.errors


# What the new job affects, run in the copy by one pytest: its own tests, the tests that run each job (through the
# local CLI's entry, in the copy's Spark session, and through its Glue entrypoint), and the tests whose expectations
# follow the number of jobs: the stacks' snapshots, the config's job messages and the health check's counts ("1 of N
# job(s) failed"), which runs every job of the repository against moto server.
JOB_TESTS = ("tests/test_jobs.py", "tests/test_glue_entrypoint.py")
JOB_COUNT_TESTS = ("tests/test_snapshots.py::test_stack_graph_matches_its_snapshot", "tests/test_config.py",
                   "tests/test_health_check.py")


@pytest.fixture(scope="module")
def tests_in_the_copy(scaffolded) -> str:
    """What `pytest -v` printed in the copy: the new job's tests and the tests it affects, all passed."""
    root, _ = scaffolded
    # What `make setup` fetched and `make test` recorded into this checkout, as a clone's own set-up would.
    (root / ".build").mkdir(exist_ok=True)
    for made in (RUNTIME_JAR.parent, CLASS_ARCHIVE.parent):
        (root / ".build" / made.name).symlink_to(made, target_is_directory=True)
    # Of the files that run every job, the new job's tests; of the others, all that their file or test name names.
    selected = " or ".join((JOB, *(Path(path.rpartition("::")[2]).stem for path in JOB_COUNT_TESTS)))
    tests = subprocess.run([sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider",
                            f"tests/test_{JOB}_transforms.py", *JOB_TESTS, *JOB_COUNT_TESTS, "-k", selected],
                           cwd=root, env=in_the_copy(), capture_output=True, text=True, timeout=600)
    assert tests.returncode == 0, tests.stdout[-3000:]
    summary = tests.stdout.rstrip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary
    return tests.stdout


def ran(printed: str, path: str) -> list[str]:
    """The `-v` lines of the tests under `path`, each checked to have passed."""
    lines = [line for line in printed.splitlines() if line.startswith(path)]
    assert lines and all(" PASSED" in line for line in lines), f"{path}: {lines or 'nothing ran'}"
    return lines


@pytest.mark.tier("spark")
def test_the_new_job_runs_locally_and_passes_its_tests(tests_in_the_copy):
    ran(tests_in_the_copy, f"tests/test_{JOB}_transforms.py")
    for path in JOB_TESTS:
        assert all(f"[{JOB}]" in line for line in ran(tests_in_the_copy, path)), "only the new job's runs"
    local_cli = f"test_the_local_cli_runs_the_sample_publishes_and_accounts_for_every_line[{JOB}] PASSED"
    assert local_cli in tests_in_the_copy


@pytest.mark.tier("unit")
@pytest.mark.parametrize(("name", "message"), [
    ("Widgets", "job name 'Widgets': must match"),
    ("class", "job name 'class': must match"),
    ("common", "jobs/common/ already exists"),
    ("orders", "jobs/orders/ already exists"),
])
def test_a_name_that_cannot_be_a_job_is_refused(tmp_path, name, message):
    root = repository(tmp_path)
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    with pytest.raises(ScaffoldError, match=message):
        new_job(name, root)
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before


@pytest.mark.tier("unit")
def test_a_name_a_stack_cannot_take_leaves_nothing_behind(tmp_path):
    root = repository(tmp_path)
    stack_files = {path.name: path.read_text() for path in root.glob("Pulumi.*.yaml")}
    name = "customer_lifetime_value_2024"
    with pytest.raises(ScaffoldError) as error:
        new_job(name, root)
    assert str(error.value) == (
        "the stacks do not accept the new job:\n"
        "Pulumi.prod.yaml: data-pipeline:glueJobs.customer_lifetime_value_2024: IAM role name 'data-pipeline-prod-"
        "schedule-customer-lifetime-value-2024-pipeline' is 65 characters, over AWS's limit of 64: shorten the job "
        "name by 1 or more\n"
        "Pulumi.staging.yaml: data-pipeline:glueJobs.customer_lifetime_value_2024: IAM role name 'data-pipeline-"
        "staging-schedule-customer-lifetime-value-2024-pipeline' is 68 characters, over AWS's limit of 64: shorten "
        "the job name by 4 or more")
    assert not (root / "jobs" / name).exists() and not (root / "tests" / f"test_{name}_transforms.py").exists()
    assert {path.name: path.read_text() for path in root.glob("Pulumi.*.yaml")} == stack_files


STACK_FILE = """# comment kept
config:
  aws:region: eu-west-1
  data-pipeline:glueJobs:
    orders:
      numberOfWorkers: 10  # sized for month ends

    customers: {}
  data-pipeline:owner: team
"""


@pytest.mark.tier("unit")
def test_the_stack_file_line_goes_into_the_jobs_map_keeping_comments_and_layout():
    changed = with_job(STACK_FILE, "widgets")
    assert changed == STACK_FILE.replace("    customers: {}\n", "    customers: {}\n    widgets: {}\n")
    assert yaml.safe_load(changed)["config"]["data-pipeline:glueJobs"]["widgets"] == {}
    at_the_end = with_job(STACK_FILE.split("  data-pipeline:owner")[0].rstrip("\n"), "widgets")
    assert at_the_end.endswith("    customers: {}\n    widgets: {}\n")
    with pytest.raises(ScaffoldError, match="no block `data-pipeline:glueJobs:`"):
        with_job("config:\n  data-pipeline:glueJobs: {orders: {}}\n", "widgets")


@pytest.mark.slow
@pytest.mark.tier("spark")  # the copy's pytest runs the new job on its own Spark
def test_the_tests_a_new_job_affects_pass_in_the_repository_it_leaves(scaffolded, tests_in_the_copy):
    """Stack files, snapshots and the tests that derive the job list from jobs/: green without a further step."""
    root, printed = scaffolded
    for stack in (*SHIPPED_STACKS, "pr-stack"):
        assert f"changed  tests/snapshots/{stack}.json" in printed
        assert f"-{JOB}-" in (root / "tests" / "snapshots" / f"{stack}.json").read_text()
    for path in JOB_COUNT_TESTS:
        ran(tests_in_the_copy, path)
