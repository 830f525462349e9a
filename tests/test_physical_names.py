"""Physical names against AWS's limits: every name the program registers is one the config check measured, and a
name built too long from config stops the program before anything is registered, naming the setting to shorten."""

from __future__ import annotations

import dataclasses
import shutil

import pulumi
import pytest

from harness.program import copy_program, run_program
from settings.parse import parse_stack_config
from settings.physical_names import LIMITS, name_problems, physical_names
from stack_files import ROOT, SHIPPED_STACKS, stack_config
from tests.conftest import PR_STACK, P, pr_stack_config_as_deployed

pytestmark = pytest.mark.tier("program")

JOBS_DIR = ROOT / "jobs"
# Inputs that carry a resource's physical name.
NAME_INPUTS = ("name", "bucketPrefix", "namePrefix", "dashboardName")
# Named resources the check leaves out, with AWS's limit: their names are constants, or built from the stack and
# job names with so much room that no name the config accepts reaches the limit (the last test proves it).
UNCHECKED = {"aws:lambda/alias:Alias": 128, "aws-native:stepfunctions:StateMachineAlias": 80,
             "aws:cloudwatch/metricAlarm:MetricAlarm": 255}


def settings_of(stack: str, config: dict):
    return parse_stack_config(stack, config, JOBS_DIR)


def registered_names(run) -> dict[str, set[str]]:
    names: dict[str, set[str]] = {}
    for resource in run.resources:
        for key in NAME_INPUTS:
            if isinstance(resource.inputs.get(key), str):
                names.setdefault(resource.type, set()).add(resource.inputs[key])
    return names


# The shipped stacks and the PR stack (each evaluated once per session), and dev scheduled (its own evaluation).
SCHEDULED_DEV = {**stack_config("dev"), P + "pipelineSchedule": "rate(1 day)"}
STACKS = [pytest.param(stack, id=stack) for stack in SHIPPED_STACKS] + [
    pytest.param(PR_STACK, id=PR_STACK), pytest.param("dev-scheduled", id="dev-scheduled", marks=pytest.mark.slow)]


def run_and_config(evaluations, case: str):
    if case == PR_STACK:
        return evaluations.pr_stack(), pr_stack_config_as_deployed()
    if case == "dev-scheduled":
        return run_program("dev", SCHEDULED_DEV, strict=True), SCHEDULED_DEV
    return evaluations.stack(case), stack_config(case)


@pytest.mark.parametrize("case", STACKS)
def test_every_name_the_program_registers_is_measured_against_its_limit(evaluations, case):
    """The check and the components build names with the same naming functions; this holds them to each other."""
    run, config = run_and_config(evaluations, case)
    stack = run.stack
    measured: dict[str, set[str]] = {}
    settings = settings_of(stack, config)
    for name in physical_names(settings):
        measured.setdefault(name.type, set()).add(name.name)
    for type_, names in registered_names(run).items():
        if type_ in UNCHECKED:
            continue
        assert type_ in LIMITS, f"{type_} is named ({sorted(names)[0]}): add its limit to settings/physical_names.py"
        assert names <= measured[type_], f"{type_} names the check does not measure: {sorted(names - measured[type_])}"
    # Every limit is in use (the trail and its metric filters only where the object-access audit is on).
    audit_only = {"aws:cloudtrail/trail:Trail", "aws:cloudwatch/logMetricFilter:LogMetricFilter"}
    assert set(LIMITS) - set(measured) == (set() if settings.object_access_audit else audit_only)


@pytest.mark.slow
def test_a_job_name_that_makes_a_name_too_long_names_the_job_and_how_much_to_shorten(tmp_path):
    """In prod (scheduled) a 28-character job gives a 65-character schedule role name; IAM allows 64."""
    program = copy_program(tmp_path)
    job = "customer_lifetime_value_2024"
    shutil.copytree(tmp_path / "jobs" / "customers", tmp_path / "jobs" / job)
    entrypoint = tmp_path / "jobs" / job / "glue_main.py"
    entrypoint.write_text(entrypoint.read_text().replace("jobs.customers.job", f"jobs.{job}.job"))
    config = {**stack_config("prod"), P + "glueJobs": {"orders": {}, job: {}}}
    expected = (f"data-pipeline:glueJobs.{job}: IAM role name 'data-pipeline-prod-schedule-customer-lifetime-value-"
                f"2024-pipeline' is 65 characters, over AWS's limit of 64: shorten the job name by 1 or more")
    with pytest.raises(pulumi.RunError) as error:
        run_program("prod", config, program=program, strict=True)
    assert str(error.value) == f"stack 'prod' has 1 invalid config value(s):\n  - {expected}"
    # Unscheduled, the same job fits: only the names a stack really builds are measured.
    assert run_program("dev", {**stack_config("dev"), P + "glueJobs": {job: {}}}, program=program, strict=True).exports[
        "glue_jobs"] == {job: f"data-pipeline-dev-{job}"}


@pytest.mark.tier("unit")
def test_a_stack_name_that_makes_a_name_too_long_names_the_stack():
    """STACK_NAME keeps stack names short enough today; the check still covers every name the stack owns."""
    settings = dataclasses.replace(settings_of("dev", stack_config("dev")), stack="integration-eu-1")
    assert name_problems(settings) == [
        "stack name 'integration-eu-1': S3 bucket name prefix 'data-pipeline-integration-eu-1-curated-' is 39 "
        "characters, over AWS's limit of 37: shorten the stack name by 2 or more",
        "stack name 'integration-eu-1': S3 bucket name prefix 'data-pipeline-integration-eu-1-artifacts-' is 41 "
        "characters, over AWS's limit of 37: shorten the stack name by 4 or more"]


@pytest.mark.tier("unit")
def test_every_kind_of_name_is_measured():
    settings = dataclasses.replace(settings_of("prod", stack_config("prod")), stack="x" * 60)
    kinds = {problem.split(": ", 1)[1].split(" '", 1)[0] for problem in name_problems(settings)}
    assert kinds == {LIMITS[type_].what for type_ in LIMITS if LIMITS[type_].maximum < 60 + 60}


@pytest.mark.slow
def test_names_the_check_leaves_out_fit_at_the_longest_stack_and_job_names(tmp_path):
    program = copy_program(tmp_path)
    job = "j" * 30  # the longest job name config accepts (JOB_NAME)
    shutil.copytree(tmp_path / "jobs" / "customers", tmp_path / "jobs" / job)
    entrypoint = tmp_path / "jobs" / job / "glue_main.py"
    entrypoint.write_text(entrypoint.read_text().replace("jobs.customers.job", f"jobs.{job}.job"))
    run = run_program("s" * 12, {**stack_config("dev"), P + "glueJobs": {job: {}}}, program=program, strict=True)
    names = registered_names(run)
    for type_, limit in UNCHECKED.items():
        assert names[type_] and max(len(name) for name in names[type_]) <= limit, type_
