"""Releases in the program's graph, for every shipped stack under mocks: each pipeline is published with a `live`
alias AWS deploys (Step Functions' managed deployment, watched by the stack's own alarms on the new version),
aliases follow the target version rule (hold, a rollback's pin, a newer release) as AWS reports them at plan time,
schedules start the alias, a version pins its Lambda versions and Glue code, and the code older versions run
outlives later deploys."""

from __future__ import annotations

import json
import logging
import re

import pulumi
import pytest
from pulumi.output import Unknown

from components.artifacts import RETIRED_EXPIRATION_DAYS, RETIRED_TAG
from components.pipeline import LIVE_ALIAS
from components.release_info import COMMIT_VARIABLE, commit_of
from components.release_pins import Pin, parse_pin
from harness.program import AwsAlias, AwsState, ProgramRun, run_program
from settings.naming import FUNCTIONS
from stack_files import stack_config

pytestmark = pytest.mark.tier("program")

P = "data-pipeline:"
DEV_JOBS = stack_config("dev")[P + "glueJobs"]
STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
ALIAS = "aws-native:stepfunctions:StateMachineAlias"
FUNCTION_ALIAS = "aws:lambda/alias:Alias"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
QUALIFIED_FUNCTION = re.compile(r"^arn:aws:lambda:[a-z0-9-]+:\d{12}:function:[a-z0-9-]+:\d+$")


def jobs(config: dict) -> list[str]:
    return sorted(config[P + "glueJobs"])


def aliases_by_job(run: ProgramRun) -> dict[str, dict]:
    return {a.name.removesuffix("-pipeline-live"): a.inputs for a in run.of_type(ALIAS)}


def test_every_pipeline_alias_is_a_managed_deployment_watched_by_alarms_the_stack_creates(shipped):
    stack, config, run = shipped
    machines = {m.name.removesuffix("-pipeline-state-machine"): m for m in run.of_type(STATE_MACHINE)}
    aliases = aliases_by_job(run)
    assert sorted(machines) == sorted(aliases) == jobs(config)
    alarms = {a.inputs["name"]: a.inputs for a in run.of_type(ALARM)}
    canary = config[P + "releaseStrategy"] == "canary"
    released: set[str] = set()
    for job, machine in machines.items():
        assert machine.inputs["publish"] is True
        alias = aliases[job]
        assert alias["name"] == LIVE_ALIAS and "routingConfiguration" not in alias
        preference = alias["deploymentPreference"]
        # No alias in AWS yet (the mocks' default): the first deploy declares the version it published.
        version = machine.outputs["stateMachineVersionArn"]
        assert preference["stateMachineVersionArn"] == version
        if canary:
            assert (preference["type"], preference["percentage"], preference["interval"]) == (
                "CANARY", config[P + "canaryPercent"], config[P + "canaryBakeMinutes"])
        else:
            assert preference["type"] == "ALL_AT_ONCE"
            assert "percentage" not in preference and "interval" not in preference
        # AWS counts a name no alarm has as OK: every name must be an alarm this stack creates, on this version.
        assert preference["alarms"] and set(preference["alarms"]) <= set(alarms), preference["alarms"]
        watched = [alarms[name] for name in preference["alarms"]]
        assert all(query["metric"]["dimensions"] == {"StateMachineArn": version}
                   for alarm in watched for query in alarm["metricQueries"] if "metric" in query)
        failed = {query["metric"]["metricName"] for query in watched[0]["metricQueries"] if "metric" in query}
        assert failed == {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"}
        # Successes can only go missing where runs are scheduled.
        assert len(watched) == (2 if config[P + "pipelineSchedule"] else 1)
        assert run.exports["pipeline_aliases"][job] == f"{machine.outputs['arn']}:live"
        assert run.exports["pipeline_versions"][job] == version
        assert run.exports["releases"][job] == {"live": None, "target": 1, "reason": "first deploy"}
        released.update(preference["alarms"])
    # The release controller reads the same alarms.
    assert released <= set(run.exports["alarm_names"]) <= set(alarms)


def test_a_stack_deployed_with_pulumi_aws_alias_has_it_replaced_without_two_aliases_named_live(shipped):
    _, _, run = shipped
    for alias in run.of_type(ALIAS):
        assert [spec["spec"]["type"] for spec in alias.options["aliases"]] == ["aws:sfn/alias:Alias"]
        assert alias.options["deleteBeforeReplace"] is True


@pytest.mark.slow
@pytest.mark.parametrize(("strategy", "deployment"), [("canary", "CANARY"), ("linear", "LINEAR")])
def test_a_gradual_stack_declares_its_deployment_with_its_percent_and_interval(strategy, deployment):
    # Runs every minute: a fifth of them reach the new version, so a 7-minute bake sees one (the config rule).
    config = {**stack_config("dev"), P + "releaseStrategy": strategy, P + "pipelineSchedule": "rate(1 minute)",
              P + "canaryPercent": 20, P + "canaryBakeMinutes": 7}
    run = run_program("dev", config, strict=True)
    for job, alias in aliases_by_job(run).items():
        preference = alias["deploymentPreference"]
        assert (preference["type"], preference["percentage"], preference["interval"]) == (deployment, 20, 7), job
        assert len(preference["alarms"]) == 2


def run_with(aws: AwsState, caplog, *, preview: bool = False, **settings) -> ProgramRun:
    config = {**stack_config("dev"), **{P + key: value for key, value in settings.items()}}
    with caplog.at_level(logging.INFO):
        return run_program("dev", config, aws=aws, preview=preview, strict=True)


def declared(run: ProgramRun) -> dict[str, tuple[int, str]]:
    """Every `live` alias (pipelines' and functions') -> the version it is declared on, and its description."""
    pipelines = {f"pipeline {job}": (int(alias["deploymentPreference"]["stateMachineVersionArn"].rsplit(":", 1)[1]),
                                     alias["description"]) for job, alias in aliases_by_job(run).items()}
    functions = {f"function {a.inputs['functionName']}": (int(a.inputs["functionVersion"]), a.inputs["description"])
                 for a in run.of_type(FUNCTION_ALIAS)}
    assert sorted(pipelines) == [f"pipeline {job}" for job in sorted(DEV_JOBS)]
    assert len(functions) == len(FUNCTIONS)
    return {**pipelines, **functions}


@pytest.mark.slow
def test_a_hold_keeps_every_alias_on_the_version_live_in_aws(caplog):
    run = run_with(AwsState(default=AwsAlias.live(3)), caplog, holdAliases=True)
    assert {version for version, _ in declared(run).values()} == {3}
    assert run.exports["releases"] == {job: {"live": 3, "target": 3, "reason": "hold"} for job in DEV_JOBS}
    # The new version is published all the same: the release health-checks it before the update that moves.
    assert run.exports["pipeline_versions"]["orders"].endswith(":4")
    assert "orders: held at v3" in caplog.messages
    alarm = next(a for a in run.of_type(ALARM) if a.inputs["name"].endswith("orders-new-version-failed"))
    assert {q["metric"]["dimensions"]["StateMachineArn"] for q in alarm.inputs["metricQueries"] if "metric" in q} == {
        run.exports["state_machines"]["orders"] + ":3"}


RELEASE_COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.slow
def test_without_a_hold_every_alias_moves_to_the_version_this_update_published_which_records_the_commit(
        caplog, monkeypatch):
    monkeypatch.setenv(COMMIT_VARIABLE, RELEASE_COMMIT)
    run = run_with(AwsState(default=AwsAlias.live(3)), caplog)
    assert {version for version, _ in declared(run).values()} == {4}
    assert run.exports["releases"]["orders"] == {"live": 3, "target": 4, "reason": "release"}
    assert "orders: live v3 -> v4 (all at once)" in caplog.messages
    for machine in run.of_type(STATE_MACHINE):
        assert commit_of(json.loads(machine.inputs["definition"])["Comment"]) == RELEASE_COMMIT


@pytest.mark.slow
def test_a_rollback_pin_holds_until_a_newer_version_is_published(caplog):
    pin = Pin(version=3, over=5, note="rolled back by octocat")
    # The next `pulumi up` publishes nothing newer than v5 (nothing changed): the rollback stays, pin and all.
    kept = run_with(AwsState(default=AwsAlias.pinned(pin), publishes=False), caplog)
    assert set(declared(kept).values()) == {(3, pin.describe())}
    assert kept.exports["releases"]["orders"] == {"live": 3, "target": 3, "reason": "pin"}
    assert any(message.startswith("orders: pinned v3 by rollback") for message in caplog.messages)
    # A release publishes v6: it replaces the pin, on every alias.
    replaced = run_with(AwsState(default=AwsAlias.pinned(pin)), caplog)
    assert {version for version, _ in declared(replaced).values()} == {6}
    assert not any(parse_pin(description) for _, description in declared(replaced).values())
    assert replaced.exports["releases"]["orders"] == {"live": 3, "target": 6, "reason": "release"}


@pytest.mark.slow
def test_a_preview_tells_what_it_knows_and_leaves_the_unpublished_version_unknown(caplog):
    moving = run_with(AwsState(default=AwsAlias.live(3)), caplog, preview=True)
    assert moving.exports["releases"]["orders"] == {"live": 3, "target": None, "reason": "release"}
    assert "orders: live v3 -> the version this update publishes (all at once)" in caplog.messages
    assert isinstance(aliases_by_job(moving)["orders"]["deploymentPreference"]["stateMachineVersionArn"], Unknown)
    held = run_with(AwsState(default=AwsAlias.live(3)), caplog, preview=True, holdAliases=True)
    assert held.exports["releases"]["orders"] == {"live": 3, "target": 3, "reason": "hold"}
    assert aliases_by_job(held)["orders"]["deploymentPreference"]["stateMachineVersionArn"].endswith(":3")


@pytest.mark.slow
def test_an_alias_aws_will_not_show_stops_the_update_instead_of_passing_for_a_first_deploy(caplog):
    """A first deploy's target would move an alias a hold or a pin must keep: only a missing alias is one."""
    denied = ("getting Lambda alias: operation error Lambda: GetAlias, AccessDeniedException: not authorized to "
              "perform: lambda:GetAlias")
    with pytest.raises(pulumi.RunError, match=r"reading alias live of .* from AWS failed: .*AccessDeniedException"):
        run_with(AwsState(default=AwsAlias.live(3), lookup_error=denied), caplog, holdAliases=True)


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
    policies = {p.name.removesuffix("-pipeline-schedule-policy"): json.loads(p.inputs["policy"])
                for p in run.of_type("aws:iam/rolePolicy:RolePolicy") if p.name.endswith("-pipeline-schedule-policy")}
    if not config[P + "pipelineSchedule"]:
        assert policies == {}, "a stack without a pipeline schedule gives no schedule a role"
        return
    assert sorted(policies) == jobs(config)
    for job, policy in policies.items():
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


def test_a_malformed_release_commit_stops_the_program_with_its_name(monkeypatch):
    monkeypatch.setenv(COMMIT_VARIABLE, "main; rm -rf /")
    with pytest.raises(pulumi.RunError, match=r"RELEASE_COMMIT = 'main; rm -rf /': must be a git commit hash"):
        run_program("dev", stack_config("dev"), strict=True)


@pytest.mark.parametrize(("key", "value", "allowed"), [
    ("releaseStrategy", "blue-green", "one of all-at-once, verify-then-switch, canary"),
    ("canaryPercent", 100, "an integer from 1 to 99"),
    ("retainedReleases", 1, "an integer from 2 to 100"),
])
def test_bad_release_settings_name_the_key_and_what_is_allowed(key, value, allowed):
    with pytest.raises(pulumi.RunError, match=re.escape(f"{P}{key} = {str(value)!r}: must be {allowed}")):
        run_program("dev", {**stack_config("dev"), P + key: value}, strict=True)
