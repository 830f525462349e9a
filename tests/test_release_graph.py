"""Releases in the program's graph, for every shipped stack under mocks: each pipeline is published with a `live`
alias the release controller owns, schedules start the alias, a version pins its Lambda versions and Glue code,
and the code older versions run outlives later deploys."""

from __future__ import annotations

import json
import re

import pulumi
import pytest

from components.artifacts import RETIRED_EXPIRATION_DAYS, RETIRED_TAG
from components.pipeline import LIVE_ALIAS
from components.release_info import COMMIT_VARIABLE, commit_of
from harness.program import run_program
from stack_files import stack_config

pytestmark = pytest.mark.tier("program")

P = "data-pipeline:"
STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
ALIAS = "aws:sfn/alias:Alias"
QUALIFIED_FUNCTION = re.compile(r"^arn:aws:lambda:[a-z0-9-]+:\d{12}:function:[a-z0-9-]+:\d+$")


def jobs(config: dict) -> list[str]:
    return sorted(config[P + "glueJobs"])


def test_every_pipeline_is_published_with_a_live_alias_the_controller_owns(shipped):
    stack, config, run = shipped
    machines = {m.name.removesuffix("-pipeline-state-machine"): m for m in run.of_type(STATE_MACHINE)}
    aliases = {a.name.removesuffix("-pipeline-live"): a for a in run.of_type(ALIAS)}
    assert sorted(machines) == sorted(aliases) == jobs(config)
    for job, machine in machines.items():
        assert machine.inputs["publish"] is True
        alias = aliases[job]
        assert alias.inputs["name"] == LIVE_ALIAS
        # Created on the first version, then routed by `release` and `rollback` only: `up` must not undo them.
        assert alias.inputs["routingConfigurations"] == [
            {"stateMachineVersionArn": machine.outputs["stateMachineVersionArn"], "weight": 100}]
        assert set(alias.ignore_changes) == {"routingConfigurations", "description"}
        assert run.exports["pipeline_aliases"][job] == alias.outputs["arn"] == f"{machine.outputs['arn']}:live"
        assert run.exports["pipeline_versions"][job] == machine.outputs["stateMachineVersionArn"]


def test_a_version_pins_its_functions_and_its_glue_code(shipped):
    _, config, run = shipped
    functions = {f.inputs["name"]: f.outputs["qualifiedArn"] for f in run.of_type("aws:lambda/function:Function")}
    for job in jobs(config):
        states = json.loads(run.one(STATE_MACHINE, f"{job}-pipeline-state-machine").inputs["definition"])["States"]
        for state, function in (("ValidateInput", "validate-input"), ("QualityGate", "quality-gate")):
            called = states[state]["Parameters"]["FunctionName"]
            assert QUALIFIED_FUNCTION.match(called), called
            assert called == functions[f"data-pipeline-{run.stack}-{function}"]
        glue_job = run.one("aws:glue/job:Job", f"{job}-job").inputs
        arguments = states["RunGlueJob"]["Parameters"]["Arguments"]
        # The code of this deploy, per run: the job's defaults may already belong to a newer deploy.
        assert arguments["--scriptLocation"] == glue_job["command"]["scriptLocation"]
        assert arguments["--extra-py-files"] == glue_job["defaultArguments"]["--extra-py-files"]
        for kind in ("script", "library"):
            uploaded = run.one("aws:s3/bucketObjectv2:BucketObjectv2", f"{job}-{kind}")
            assert uploaded.inputs["key"] in arguments["--scriptLocation" if kind == "script" else "--extra-py-files"]


def test_code_that_older_versions_run_outlives_later_deploys(shipped):
    _, _, run = shipped
    for uploaded in run.of_type("aws:s3/bucketObjectv2:BucketObjectv2"):
        assert uploaded.retain_on_delete, uploaded.name
    lifecycles = {c.name.removeprefix("lake-").removesuffix("-lifecycle"): c.inputs["rules"]
                  for c in run.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")}
    retired = [r for r in lifecycles.pop("artifacts") if r["id"] == "expire-tagged"]
    assert retired == [{"id": "expire-tagged", "status": "Enabled",
                        "filter": {"tag": {"key": RETIRED_TAG[0], "value": RETIRED_TAG[1]}},
                        "expiration": {"days": RETIRED_EXPIRATION_DAYS}}]
    assert all(rule["id"] != "expire-tagged" for rules in lifecycles.values() for rule in rules)


def test_lambda_versions_stay_published(shipped):
    _, _, run = shipped
    assert all(f.inputs["publish"] is True for f in run.of_type("aws:lambda/function:Function"))


def test_the_scheduled_start_may_start_only_the_alias(shipped):
    _, config, run = shipped
    for job in jobs(config) if config[P + "pipelineSchedule"] else []:
        role_policy = run.one("aws:iam/rolePolicy:RolePolicy", f"{job}-pipeline-schedule-policy")
        policy = json.loads(role_policy.inputs["policy"])
        (start,) = [s for s in policy["Statement"] if s["Sid"] == "StartTarget"]
        assert start["Resource"] == [run.exports["pipeline_aliases"][job]]


def test_release_settings_are_exported_from_config(shipped):
    _, config, run = shipped
    release = run.exports["release"]
    assert (release["strategy"], release["canary_percent"], release["canary_bake_minutes"],
            release["retained_releases"]) == tuple(config[P + key] for key in (
                "releaseStrategy", "canaryPercent", "canaryBakeMinutes", "retainedReleases"))
    assert release["artifacts_bucket"] == run.exports["buckets"]["artifacts"]
    assert run.exports["alarm_names"] and all(n.startswith(f"data-pipeline-{run.stack}-")
                                              for n in run.exports["alarm_names"])


@pytest.mark.slow
def test_each_version_records_the_release_commit(monkeypatch):
    monkeypatch.setenv(COMMIT_VARIABLE, "0123456789abcdef0123456789abcdef01234567")
    run = run_program("qa")
    for machine in run.of_type(STATE_MACHINE):
        comment = json.loads(machine.inputs["definition"])["Comment"]
        assert commit_of(comment) == "0123456789abcdef0123456789abcdef01234567"


def test_a_malformed_release_commit_stops_the_program_with_its_name(monkeypatch):
    monkeypatch.setenv(COMMIT_VARIABLE, "main; rm -rf /")
    with pytest.raises(pulumi.RunError, match=r"RELEASE_COMMIT = 'main; rm -rf /': must be a git commit hash"):
        run_program("dev", stack_config("dev"))


@pytest.mark.parametrize(("key", "value", "allowed"), [
    ("releaseStrategy", "blue-green", "one of all-at-once, verify-then-switch, canary"),
    ("canaryPercent", 100, "an integer from 1 to 99"),
    ("retainedReleases", 1, "an integer from 2 to 100"),
])
def test_bad_release_settings_name_the_key_and_what_is_allowed(key, value, allowed):
    with pytest.raises(pulumi.RunError, match=re.escape(f"{P}{key} = {str(value)!r}: must be {allowed}")):
        run_program("dev", {**stack_config("dev"), P + key: value})
