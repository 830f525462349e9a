"""The release controller, rollback and status against moto server (aliases, versions, functions, alarms, S3
tags), with the engine and the health check injected.

The injected engine (`FakeStack`) publishes a version per deploy and moves each alias by the program's target
rule (contract: holdAliases -> stay; a pin holding against the published version -> stay on the pin; else the
published version), as the managed deployment ends; a test can make it end rolled back or fail. moto lacks
ListStateMachineVersions and DeleteStateMachineVersion: tests/moto_versions.py adds them to the moto server as AWS
documents them, and the boto3 calls are checked against the service model with botocore's Stubber."""

from __future__ import annotations

import io
import json
import os
import signal
import uuid
from contextlib import redirect_stdout
from datetime import UTC, datetime

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from automation import exit_codes
from automation.aws_setup import AwsSetupMissing, stack_file_region
from automation.cli import main
from automation.interrupts import Interrupts
from automation.progress import Progress
from automation.release import ReleaseController, ReleaseReport, rollback, status
from automation.release_client import AwsReleaseClient, ReleaseError, Route
from components.artifacts import RETIRED_TAG
from components.release_pins import parse_pin
from harness.program import AwsAlias, AwsState, run_program
from tests import moto_versions
from tests.aws_server import REGION

pytestmark = pytest.mark.tier("aws")

ACCOUNT = "123456789012"
VERIFIED_SNAPSHOT = 7212019266135408001


def definition(commit: str, code: str = "a") -> str:
    return json.dumps({"Comment": f"Pipeline of Glue job x (stack), release commit {commit}", "StartAt": "RunGlueJob",
                       "States": {"RunGlueJob": {"Type": "Pass", "Parameters": {"Arguments": {
                           "--scriptLocation": f"s3://{{bucket}}/glue/orders/script/glue_main-{code}.py",
                           "--extra-py-files": f"s3://{{bucket}}/glue/orders/library/orders-{code}.zip"}},
                           "End": True}}})


class CountingClient(AwsReleaseClient):
    """The real client on moto, counting the alias moves; `executions` answers from `ran` (moto cannot start an
    execution of a version)."""

    def __init__(self):
        super().__init__(boto3.Session(region_name=REGION))
        self.moves: list[str] = []
        self.ran: dict[str, dict[str, int]] = {}

    def route(self, alias_arn, routes, description):
        self.moves.append(alias_arn)
        super().route(alias_arn, routes, description)

    def route_function(self, function, version, description):
        self.moves.append(function)
        super().route_function(function, version, description)

    def executions(self, version_arn, since):
        return self.ran.get(version_arn) or super().executions(version_arn, since)


class FakeStack:
    """The engine and program of one stack: `deploy` publishes the next version when the code changed, then sets
    the alias by the program's target rule, the way the managed deployment leaves it."""

    name = "qa"

    def __init__(self, env, *, strategy="verify-then-switch", retained=10, fail_deploy=False, changes=True):
        self.env, self.fail_deploy, self.changes = env, fail_deploy, changes
        self.deploys: list[bool] = []  # hold_aliases of each deploy
        self.settings = {"strategy": strategy, "canary_percent": 10, "canary_bake_minutes": 5,
                         "retained_releases": retained, "artifacts_bucket": env["bucket"]}
        self.before_move = lambda: None  # runs inside the moving update, before the program reads the alias
        self.managed_deployment = "succeeds"  # | rolls back | fails after shifting

    def recover(self, on_output):
        return []

    def deploy(self, on_output, *, hold_aliases=False):
        self.deploys.append(hold_aliases)
        if self.fail_deploy:
            raise RuntimeError("update failed: aws:glue/job:Job orders-job: AccessDenied")
        if self.changes and hold_aliases:
            n = len(self.env["published"]) + 1
            self.env["publish"](f"{n:07x}", code=str(n))
        if not hold_aliases:
            self.before_move()
            self._program_moves_alias()

    def _program_moves_alias(self):
        published = int(self.env["published"][-1].rsplit(":", 1)[1])
        alias = self.env["sfn"].describe_state_machine_alias(stateMachineAliasArn=self.env["alias"])
        pin = parse_pin(alias.get("description"))
        if pin and pin.holds_against(published):
            return
        if self.managed_deployment == "rolls back":
            raise RuntimeError("update failed: aws-native:stepfunctions:StateMachineAlias live: deployment rolled "
                               "back (alarm data-pipeline-qa-orders-failed in ALARM)")
        self.env["sfn"].update_state_machine_alias(stateMachineAliasArn=self.env["alias"], description="released",
                                                   routingConfiguration=[{"stateMachineVersionArn": self.env[
                                                       "published"][-1], "weight": 100}])
        if self.managed_deployment == "fails after shifting":
            raise RuntimeError("update failed: aws:cloudwatch/dashboard:Dashboard: Throttling")

    def outputs(self):
        return {"pipeline_versions": {"orders": self.env["published"][-1]},
                "pipeline_aliases": {"orders": self.env["alias"]}, "release": self.settings,
                "alarm_names": [self.env["alarm"]]}


@pytest.fixture
def env(aws):
    moto_versions.install()
    # The client under test and the test's own look at moto share their boto3 clients: one set per test, not two.
    client = CountingClient()
    sfn, cloudwatch, s3 = client.sfn, client.cloudwatch, client.s3
    suffix = uuid.uuid4().hex[:8]
    bucket = f"artifacts-{suffix}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    stack = f"qa{suffix[:4]}"
    name = f"data-pipeline-{stack}-orders-pipeline"
    created = sfn.create_state_machine(name=name, definition=definition("1000000").replace("{bucket}", bucket),
                                       roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn", publish=True)
    machine = created["stateMachineArn"]
    published = [created["stateMachineVersionArn"]]
    sfn.create_state_machine_alias(name="live", description="created by the program", routingConfiguration=[
        {"stateMachineVersionArn": created["stateMachineVersionArn"], "weight": 100}])
    alarm = f"data-pipeline-{stack}-orders-pipeline-failed"
    cloudwatch.put_metric_alarm(AlarmName=alarm, Namespace="AWS/States", MetricName="ExecutionsFailed",
                                Statistic="Sum", Period=300, EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="GreaterThanOrEqualToThreshold")

    def publish(commit: str, code: str = "a") -> str:
        version = sfn.update_state_machine(stateMachineArn=machine, publish=True,
                                           definition=definition(commit, code).replace("{bucket}", bucket))
        published.append(version["stateMachineVersionArn"])
        return version["stateMachineVersionArn"]

    return {"sfn": sfn, "cloudwatch": cloudwatch, "s3": s3, "lambda": client.lambda_, "machine": machine,
            "alias": f"{machine}:live", "published": published, "publish": publish, "alarm": alarm, "bucket": bucket,
            "stack": stack, "client": client}


def put_code(env, codes: str) -> None:
    """The Glue code (script and library) the versions of `codes` run, tagged as the program uploads it: what a
    pruning retires (only the pruning test needs it: 16 uploads fewer for every other test)."""
    for code in codes:
        for key in (f"glue/orders/script/glue_main-{code}.py", f"glue/orders/library/orders-{code}.zip"):
            env["s3"].put_object(Bucket=env["bucket"], Key=key, Body=b"code", Tagging="project=data-pipeline")


def routes(env) -> list[tuple[int, int]]:
    described = env["sfn"].describe_state_machine_alias(stateMachineAliasArn=env["alias"])
    return sorted((int(r["stateMachineVersionArn"].rsplit(":", 1)[1]), r["weight"])
                  for r in described["routingConfiguration"])


def description(env) -> str:
    return env["sfn"].describe_state_machine_alias(stateMachineAliasArn=env["alias"]).get("description", "")


def controller(env, verify=None, interrupts=None) -> tuple[ReleaseController, list]:
    verified = []

    def default_verify(outputs, job, version_arn):
        """What HealthCheck.run().to_dict() returns for one job: its run read main at VERIFIED_SNAPSHOT."""
        verified.append((job, version_arn, routes(env)))
        return {"run_id": "r1", "jobs": {job: {"outcome": "passed", "execution_status": "SUCCEEDED",
                                               "table_snapshot": VERIFIED_SNAPSHOT}}}

    ticks = iter(range(0, 10_000, 30))
    return ReleaseController(client=env["client"], verify=verify or default_verify,
                             progress=Progress(io.StringIO(), live=False), clock=lambda: float(next(ticks)),
                             interrupts=interrupts or Interrupts(forward=lambda: None)), verified


def release(env, stack, **options) -> ReleaseReport:
    ctl, _ = controller(env, **options)
    return ctl.release(stack, ReleaseReport(stack="qa", commit="0000002", actor="ci"))


def test_the_new_version_is_verified_while_the_alias_is_held_then_the_second_update_moves_it(env):
    ctl, verified = controller(env)
    stack = FakeStack(env)
    env["client"].ran = {f"{env['machine']}:2": {"SUCCEEDED": 3, "RUNNING": 1}}
    report = ctl.release(stack, ReleaseReport(stack="qa", commit="0000002", actor="ci"))
    assert (report.outcome, report.exit_code) == ("released", exit_codes.OK)
    assert stack.deploys == [True, False]  # held, then moved
    assert verified == [("orders", f"{env['machine']}:2", [(1, 100)])]  # checked while v1 still took everything
    assert routes(env) == [(2, 100)]
    orders = report.pipelines["orders"]
    assert (orders.status, orders.routing, orders.canary) == ("live", [{"version": 2, "weight": 100}],
                                                              {"SUCCEEDED": 3, "RUNNING": 1})
    assert [p.status for p in report.phases.values()] == ["ok", "ok", "ok", "ok"]
    markdown = report.to_markdown()
    assert "Release of `qa` from 0000002: released" in markdown and "1 running, 3 succeeded" in markdown
    assert not report.warnings


def test_the_report_records_each_verified_jobs_table_snapshot_for_a_data_rollback(env):
    report = release(env, FakeStack(env))
    assert report.pipelines["orders"].table_snapshot == VERIFIED_SNAPSHOT
    assert json.loads(report.to_json())["pipelines"]["orders"]["table_snapshot"] == VERIFIED_SNAPSHOT
    assert (f"`python -m automation data rollback --stack qa --job orders --snapshot {VERIFIED_SNAPSHOT}`"
            in report.to_markdown())
    silent = release(env, FakeStack(env), verify=lambda *_: {"run_id": "r2", "jobs": {}})
    assert silent.outcome == "verification failed" and "reported no jobs.orders.table_snapshot" in silent.failure
    unverified = release(env, FakeStack(env, strategy="all-at-once"))
    assert unverified.pipelines["orders"].table_snapshot is None and "data-rollback" not in unverified.to_markdown()


def test_a_canary_that_saw_no_execution_is_flagged(env):
    report = release(env, FakeStack(env, strategy="canary"))
    assert report.outcome == "released" and report.pipelines["orders"].canary == {}
    assert any("no canary execution ran" in w and "10 % for 5 min" in w for w in report.warnings)


def test_all_at_once_moves_without_verification(env):
    ctl, verified = controller(env)
    report = ctl.release(FakeStack(env, strategy="all-at-once"), ReleaseReport(stack="qa", commit="0000002"))
    assert report.outcome == "released" and verified == [] and routes(env) == [(2, 100)]


def test_failed_verification_never_runs_the_moving_update(env):
    def failing(outputs, job, version_arn):
        raise RuntimeError("data-quality checks failed: quarantine_ratio")

    stack = FakeStack(env)
    report = release(env, stack, verify=failing)
    assert (report.outcome, report.exit_code) == ("verification failed", exit_codes.NOT_DONE)
    assert stack.deploys == [True] and routes(env) == [(1, 100)]
    assert report.pipelines["orders"].status == "verification failed"
    assert "quarantine_ratio" in report.failure and "were not moved" in report.failure


def test_a_rollback_by_the_managed_deployment_is_reported_as_such(env):
    stack = FakeStack(env, strategy="canary")
    stack.managed_deployment = "rolls back"
    report = release(env, stack)
    assert (report.outcome, report.exit_code) == ("rolled back", exit_codes.NOT_DONE)
    assert routes(env) == [(1, 100)] and report.pipelines["orders"].status == "rolled back"
    assert "deployment rolled back" in report.failure


def test_an_engine_failure_after_the_shift_says_where_each_alias_is(env):
    stack = FakeStack(env)
    stack.managed_deployment = "fails after shifting"
    report = release(env, stack)
    assert (report.outcome, report.exit_code) == ("failed", exit_codes.FAILED)
    assert report.pipelines["orders"].routing == [{"version": 2, "weight": 100}]
    assert "old or its new version" in report.failure


def test_a_canary_does_not_start_while_alarms_already_fire(env):
    env["cloudwatch"].set_alarm_state(AlarmName=env["alarm"], StateValue="ALARM", StateReason="test")
    stack = FakeStack(env, strategy="canary")
    report = release(env, stack)
    assert (report.outcome, report.exit_code) == ("blocked", exit_codes.NOT_DONE)
    assert stack.deploys == [True] and routes(env) == [(1, 100)]


def test_missing_stack_outputs_are_missing_setup(env):
    stack = FakeStack(env)
    stack.outputs = lambda: {"pipeline_versions": {}}
    report = release(env, stack)
    assert (report.outcome, report.exit_code) == ("failed", exit_codes.NO_AWS_SETUP)
    assert report.failure == "stack outputs lack pipeline_aliases, release: deploy this program version first"


def test_a_failed_deploy_changes_no_alias(env):
    report = release(env, FakeStack(env, fail_deploy=True))
    assert (report.outcome, report.exit_code) == ("failed", exit_codes.FAILED) and "AccessDenied" in report.failure
    assert routes(env) == [(1, 100)]


def test_an_unchanged_version_is_not_verified_again(env):
    ctl, verified = controller(env)
    report = ctl.release(FakeStack(env, changes=False), ReleaseReport(stack="qa"))
    assert report.outcome == "unchanged" and verified == [] and routes(env) == [(1, 100)]


def test_an_operator_change_during_the_release_stops_it_before_the_move(env):
    stack = FakeStack(env)

    def operator_moves_alias(outputs, job, version_arn):
        env["sfn"].update_state_machine_alias(stateMachineAliasArn=env["alias"], description="by hand",
                                              routingConfiguration=[{"stateMachineVersionArn": env["published"][0],
                                                                     "weight": 100}])
        return {"jobs": {job: {"table_snapshot": 1}}}

    report = release(env, stack, verify=operator_moves_alias)
    assert (report.outcome, report.exit_code) == ("pre-empted", exit_codes.NOT_DONE)
    assert stack.deploys == [True] and description(env) == "by hand"


def test_a_rollback_during_the_release_is_not_undone_by_it(env):
    stack = FakeStack(env)
    release(env, stack)  # v2 live
    stack.deploys.clear()

    def rollback_during_verification(outputs, job, version_arn):  # v3 is published and held
        rollback(env["client"], {"orders": env["alias"]}, reason="bad totals", actor="alice")
        return {"jobs": {job: {"table_snapshot": 1}}}

    report = release(env, stack, verify=rollback_during_verification)
    assert report.outcome == "pre-empted" and stack.deploys == [True] and routes(env) == [(1, 100)]
    pin = parse_pin(description(env))
    assert (pin.version, pin.over) == (1, 3)  # over the version the release had published: it holds against it


def test_a_rollback_landing_just_before_the_moving_update_is_kept_by_its_pin(env):
    stack = FakeStack(env)
    release(env, stack)  # v2 live
    stack.before_move = lambda: rollback(env["client"], {"orders": env["alias"]}, reason="p99 up")
    report = release(env, stack)  # v3 published; the rollback lands after the controller's last look
    assert routes(env) == [(1, 100)] and (report.outcome, report.exit_code) == ("pre-empted", exit_codes.NOT_DONE)
    assert report.pipelines["orders"].status == "pinned"


def test_a_rollback_overwritten_by_the_shift_in_flight_is_put_back_after_it(env):
    stack = FakeStack(env)
    release(env, stack)  # v2 live

    def rollback_then_aws_shifts_anyway():
        rollback(env["client"], {"orders": env["alias"]}, reason="p99 up")
        pinned = description(env)
        stack._program_moves_alias = lambda: env["sfn"].update_state_machine_alias(  # routing only, as a shift
            stateMachineAliasArn=env["alias"], description=pinned,
            routingConfiguration=[{"stateMachineVersionArn": env["published"][-1], "weight": 100}])

    stack.before_move = rollback_then_aws_shifts_anyway
    report = release(env, stack)
    assert routes(env) == [(1, 100)] and report.outcome == "pre-empted"
    assert any("moved it back to v1" in w for w in report.warnings)


def test_rollback_then_up_keeps_the_rolled_back_version_until_a_newer_release(env):
    stack = FakeStack(env)
    release(env, stack)
    release(env, stack)  # v3 live
    (result,) = rollback(env["client"], {"orders": env["alias"]}, reason="bad totals", actor="alice")
    assert routes(env) == [(2, 100)] and (result.from_version, result.to_version) == (3, 2)
    FakeStack(env, changes=False).deploy(print)  # a plain `pulumi up`, nothing new published
    assert routes(env) == [(2, 100)]
    report = release(env, FakeStack(env, changes=False))
    assert report.pipelines["orders"].status == "pinned" and routes(env) == [(2, 100)]
    release(env, stack)  # v4: newer than the pin's over, replaces it
    assert routes(env) == [(4, 100)]


def test_the_real_program_keeps_a_rollback_that_moto_holds_until_a_newer_version_is_published(env):
    """The program's side of the same story: after `rollback` on moto (v2 pinned over v3), the program under
    Pulumi's mocks, its alias data sources answering what moto holds, targets v2 on a `pulumi up` that publishes
    nothing, and the new v4 on one that publishes it."""
    stack = FakeStack(env)
    release(env, stack)
    release(env, stack)  # v3 live
    rollback(env["client"], {"orders": env["alias"]}, reason="bad totals", actor="alice")
    described = env["sfn"].describe_state_machine_alias(stateMachineAliasArn=env["alias"])
    in_aws = AwsAlias(routing={int(r["stateMachineVersionArn"].rsplit(":", 1)[1]): r["weight"]
                               for r in described["routingConfiguration"]},
                      description=described["description"], latest=3)
    assert in_aws.routing == {2: 100} and parse_pin(in_aws.description).over == 3
    unchanged = run_program("prod", aws=AwsState(default=in_aws, publishes=False)).exports["releases"]["orders"]
    assert (unchanged["live"], unchanged["target"]) == (2, 2), unchanged
    newer = run_program("prod", aws=AwsState(default=in_aws, publishes=True)).exports["releases"]["orders"]
    assert (newer["live"], newer["target"]) == (2, 4), newer


def test_an_exception_in_the_verification_leaves_the_alias_and_credentials_expiring_are_named(env):
    def expired(outputs, job, version_arn):
        raise ClientError({"Error": {"Code": "ExpiredToken", "Message": "The security token has expired"}},
                          "DescribeExecution")

    stack = FakeStack(env)
    report = release(env, stack, verify=expired)
    assert (report.outcome, report.exit_code) == ("failed", exit_codes.NO_AWS_SETUP)
    assert "credentials expired" in report.failure and stack.deploys == [True] and routes(env) == [(1, 100)]


def test_credentials_expiring_during_the_move_are_a_warning_on_the_read_back(env):
    stack = FakeStack(env)
    client = env["client"]
    moved = {"done": False}
    original = stack._program_moves_alias

    def move_then_expire():
        original()
        moved["done"] = True

    stack._program_moves_alias = move_then_expire
    real_alias = client.alias

    def alias(arn):
        if moved["done"]:
            raise ClientError({"Error": {"Code": "ExpiredTokenException", "Message": "expired"}},
                              "DescribeStateMachineAlias")
        return real_alias(arn)

    client.alias = alias
    report = release(env, stack)
    assert any("credentials expired" in w and "status --stack qa" in w for w in report.warnings)
    assert routes(env) == [(2, 100)]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_verification_ends_the_release_with_no_alias_moved(env, signum):
    def interrupted(outputs, job, version_arn):
        os.kill(os.getpid(), signum)
        return {"jobs": {job: {"table_snapshot": 1}}}

    stack = FakeStack(env)
    ctl, _ = controller(env, verify=interrupted)
    report = ctl.release(stack, ReleaseReport(stack="qa"))
    assert (report.outcome, report.exit_code) == ("interrupted", exit_codes.INTERRUPTED)
    assert stack.deploys == [True] and routes(env) == [(1, 100)]
    assert "during verify" in report.failure


def test_a_signal_during_the_moving_update_is_passed_to_the_engine_which_finishes(env):
    forwarded = []
    stack = FakeStack(env)
    stack.before_move = lambda: os.kill(os.getpid(), signal.SIGTERM)
    report = release(env, stack, interrupts=Interrupts(forward=lambda: forwarded.append(True)))
    assert forwarded == [True]  # to the Pulumi CLI, which cancels gracefully
    assert (report.outcome, report.exit_code) == ("interrupted", exit_codes.INTERRUPTED)
    assert "during move" in report.failure and routes(env) == [(2, 100)]  # the new version, whole


def test_rollback_goes_back_one_version_at_a_time_then_says_there_is_nothing_left(env):
    stack = FakeStack(env)
    release(env, stack)
    release(env, stack)
    aliases = {"orders": env["alias"]}
    assert routes(env) == [(3, 100)]
    (result,) = rollback(env["client"], aliases, reason="bad totals", actor="alice")
    assert routes(env) == [(2, 100)] and (result.to_commit, result.from_commit) == ("0000002", "0000003")
    assert description(env).startswith("pinned v2 over v3; rollback by alice") and "bad totals" in description(env)
    rollback(env["client"], aliases)
    assert routes(env) == [(1, 100)]
    with pytest.raises(ReleaseError, match="nothing to roll back to"):
        rollback(env["client"], aliases)
    with pytest.raises(ReleaseError, match="version v9 no longer exists"):
        rollback(env["client"], aliases, to=9)
    assert routes(env) == [(1, 100)]


def test_rollback_stops_a_shift_in_flight(env):
    release(env, FakeStack(env))  # v2 live
    env["publish"]("0000003")
    env["client"].route(env["alias"], (Route(f"{env['machine']}:3", 10), Route(f"{env['machine']}:2", 90)), "x")
    (result,) = rollback(env["client"], {"orders": env["alias"]}, reason="p99 up")
    assert routes(env) == [(2, 100)] and (result.from_version, result.to_version) == (3, 2)


def lambda_function(env, name: str, versions: int) -> None:
    iam = boto3.client("iam", region_name=REGION)  # to moto: the `aws` fixture's environment
    role = iam.create_role(RoleName=f"r-{uuid.uuid4().hex[:6]}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    import zipfile

    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("index.py", "def handler(e, c): return 1\n")
    env["lambda"].create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="index.handler",
                                  Code={"ZipFile": code.getvalue()})
    for n in range(versions):
        env["lambda"].update_function_configuration(FunctionName=name, Description=f"v{n + 1}")
        env["lambda"].publish_version(FunctionName=name)
    env["lambda"].create_alias(FunctionName=name, Name="live", FunctionVersion=str(versions))


def test_rollback_moves_every_alias_of_the_stack_at_once_one_call_each_and_pins_the_functions_too(env):
    release(env, FakeStack(env))  # v2 live
    cleanup, monitor = (f"data-pipeline-{env['stack']}-{f}" for f in ("cleanup", "job-monitor"))
    lambda_function(env, cleanup, versions=3)
    lambda_function(env, monitor, versions=1)  # never released twice: left where it is
    lambda_function(env, f"data-pipeline-{env['stack']}-quality-gate", versions=2)  # pinned by version, not moved
    env["client"].moves.clear()
    results = rollback(env["client"], {"orders": env["alias"]}, stack=env["stack"], reason="bad", actor="bob")
    assert sorted(env["client"].moves) == sorted([env["alias"], cleanup])
    assert {r.target: (r.from_version, r.to_version) for r in results} == {"orders": (2, 1),
                                                                           f"function {cleanup}": (3, 2)}
    alias = env["lambda"].get_alias(FunctionName=cleanup, Name="live")
    pin = parse_pin(alias["Description"])
    assert alias["FunctionVersion"] == "2" and (pin.version, pin.over) == (2, 3)
    assert env["lambda"].get_alias(FunctionName=monitor, Name="live")["FunctionVersion"] == "1"


def test_pruning_keeps_the_newest_releases_and_what_aliases_route_to(env):
    put_code(env, "12345678")
    stack = FakeStack(env, retained=3)
    for _ in range(6):
        release(env, stack)  # v2..v7 released one after another, each release pruning behind it; v7 live
    rollback(env["client"], {"orders": env["alias"]}, to=5)  # an older kept version is live again (pinned over 7)
    env["publish"]("0000008", code="8")
    report = release(env, stack, verify=lambda *_: (_ for _ in ()).throw(RuntimeError("bad")))  # v9 fails
    existing = sorted(int(v.rsplit(":", 1)[1]) for v in env["client"].versions(env["machine"]))
    # The newest three (9, 8, 7) and the live v5 stay; a failed verification prunes nothing.
    assert existing == [5, 7, 8, 9] and report.outcome == "verification failed"
    assert routes(env) == [(5, 100)]
    tags = {code: {t["Key"]: t["Value"] for t in env["s3"].get_object_tagging(
        Bucket=env["bucket"], Key=f"glue/orders/script/glue_main-{code}.py")["TagSet"]} for code in "234567"}
    # Code only pruned versions ran is retired (the lifecycle expires it), its other tags kept; kept code is not.
    for code in "2346":
        assert tags[code][RETIRED_TAG[0]] == RETIRED_TAG[1] and tags[code]["project"] == "data-pipeline"
    for code in "57":
        assert RETIRED_TAG[0] not in tags[code]
    with pytest.raises(ReleaseError, match="version v6 no longer exists"):
        rollback(env["client"], {"orders": env["alias"]}, to=6)


def test_status_shows_routing_the_pin_and_the_newest_versions_with_commits(env):
    stack = FakeStack(env)
    release(env, stack)
    release(env, stack)
    rollback(env["client"], {"orders": env["alias"]}, actor="alice")
    (shown,) = status(env["client"], {"orders": env["alias"]})
    assert shown["routing"] == [{"version": 2, "weight": 100}] and shown["pin"]["over"] == 3
    assert [(v["version"], v["commit"]) for v in shown["versions"]] == [(3, "0000003"), (2, "0000002"),
                                                                        (1, "1000000")]
    assert all(v["published"] for v in shown["versions"])


def test_rollback_and_status_commands_work_on_aws_alone(env, capsys):
    release(env, FakeStack(env))
    assert main(["release", "status", "--stack", "qa"]) == exit_codes.NO_AWS_SETUP  # qa is not deployed in this account
    assert "has no pipeline with a live alias" in capsys.readouterr().err
    stack = env["stack"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("automation.release_cli._check_stack", lambda _stack: None)
        out = io.StringIO()
        with redirect_stdout(out):
            assert main(["release", "rollback", "--stack", stack, "--reason", "bad totals", "--actor", "alice"]) == 0
        assert "orders: live is now v1 (commit 1000000), was v2 (commit 0000002) — pinned v1 over v2" in out.getvalue()
        assert "git revert 0000002" in out.getvalue()
        assert routes(env) == [(1, 100)]
        assert main(["release", "rollback", "--stack", stack, "--job", "orders"]) == exit_codes.USAGE
        assert "nothing was changed" in capsys.readouterr().err
        with redirect_stdout(io.StringIO()):
            assert main(["release", "status", "--stack", stack]) == exit_codes.OK


@pytest.mark.tier("unit")
@pytest.mark.parametrize("command", ["rollback", "status"])
def test_rollback_and_status_without_aws_setup_print_one_line(command, monkeypatch, capsys, tmp_path):
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                     "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert main(["release", command, "--stack", "prod"]) == exit_codes.NO_AWS_SETUP
    err = capsys.readouterr().err
    assert err.startswith("error: no AWS credentials") and err.count("\n") == 1
    assert os.environ["AWS_DEFAULT_REGION"] == "eu-west-1"  # from Pulumi.prod.yaml's aws:region
    monkeypatch.setattr("automation.aws_setup.stack_file_region", lambda _path: None)
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    assert main(["release", command, "--stack", "prod"]) == exit_codes.NO_AWS_SETUP
    assert capsys.readouterr().err == "error: no AWS region: set AWS_REGION, or aws:region in Pulumi.prod.yaml\n"


@pytest.mark.tier("unit")
def test_a_stack_file_that_is_not_yaml_gives_no_region_in_one_line_naming_it(tmp_path):
    broken = tmp_path / "Pulumi.prod.yaml"
    broken.write_text("config:\n  aws:region: {eu-west-1\n")
    with pytest.raises(AwsSetupMissing, match=r"^no AWS region: .*Pulumi\.prod\.yaml, line \d+, column \d+: not "
                                              r"valid YAML"):
        stack_file_region(broken)


@pytest.mark.tier("unit")
def test_version_listing_executions_and_deletion_match_the_service_model():
    client = AwsReleaseClient(boto3.Session(region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"))
    machine = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:m"
    since = datetime(2026, 1, 1, tzinfo=UTC)
    with Stubber(client.sfn) as stub:
        stub.add_response("list_state_machine_versions", {"stateMachineVersions": [
            {"stateMachineVersionArn": f"{machine}:2", "creationDate": datetime.now(UTC)}], "nextToken": "t"},
            {"stateMachineArn": machine})
        stub.add_response("list_state_machine_versions", {"stateMachineVersions": [
            {"stateMachineVersionArn": f"{machine}:1", "creationDate": datetime.now(UTC)}]},
            {"stateMachineArn": machine, "nextToken": "t"})
        stub.add_response("delete_state_machine_version", {}, {"stateMachineVersionArn": f"{machine}:1"})

        def execution(n: int, status: str, started: datetime) -> dict:
            return {"executionArn": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:m:{n}", "stateMachineArn": machine,
                    "name": str(n), "status": status, "startDate": started}

        stub.add_response("list_executions", {"executions": [
            execution(1, "SUCCEEDED", datetime(2026, 1, 3, tzinfo=UTC)),
            execution(2, "FAILED", datetime(2026, 1, 2, tzinfo=UTC)),
            execution(3, "SUCCEEDED", datetime(2025, 12, 31, tzinfo=UTC))], "nextToken": "more"},
            {"stateMachineArn": f"{machine}:2"})
        assert client.versions(machine) == [f"{machine}:2", f"{machine}:1"]
        client.delete_version(f"{machine}:1")
        assert client.executions(f"{machine}:2", since) == {"SUCCEEDED": 1, "FAILED": 1}  # stops at the older one
        stub.assert_no_pending_responses()
