"""The release controller, rollback and status against moto server (aliases, versions, alarms, S3 tags), with
the engine and the health check injected. moto lacks ListStateMachineVersions and DeleteStateMachineVersion,
so the test client lists the versions the test published and records deletions; those two boto3 calls are
checked against the service model with botocore's Stubber."""

from __future__ import annotations

import io
import json
import uuid
from contextlib import redirect_stdout
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from automation.cli import main
from automation.progress import Progress
from automation.release import AliasHistory, ReleaseController, ReleaseReport, rollback, status
from automation.release_client import AwsReleaseClient, ReleaseError, Route
from components.artifacts import RETIRED_TAG
from tests.aws_server import REGION

pytestmark = pytest.mark.tier("aws")

ACCOUNT = "123456789012"


class MotoReleaseClient(AwsReleaseClient):
    def __init__(self, published: dict[str, list[str]]):
        super().__init__(boto3.Session(region_name=REGION))
        self.published, self.deleted = published, []
        self.failed: dict[str, list[str]] = {}

    def versions(self, state_machine_arn: str) -> list[str]:
        return [v for v in self.published[state_machine_arn] if v not in self.deleted]

    def delete_version(self, version_arn: str) -> None:
        assert all(version_arn not in {r.version_arn for r in self.alias(a).routes}
                   for a in self.aliases(version_arn.rsplit(":", 1)[0])), "AWS refuses to delete a routed version"
        self.deleted.append(version_arn)

    def version(self, version_arn: str):
        return None if version_arn in self.deleted else super().version(version_arn)

    def failed_executions(self, version_arn: str, since: datetime) -> list[str]:
        return self.failed.get(version_arn, []) or super().failed_executions(version_arn, since)


def definition(commit: str, code: str = "a") -> str:
    return json.dumps({"Comment": f"Pipeline of Glue job x (stack), release commit {commit}", "StartAt": "RunGlueJob",
                       "States": {"RunGlueJob": {"Type": "Pass", "Parameters": {"Arguments": {
                           "--scriptLocation": f"s3://{{bucket}}/glue/orders/script/glue_main-{code}.py",
                           "--extra-py-files": f"s3://{{bucket}}/glue/orders/library/orders-{code}.zip"}},
                           "End": True}}})


class FakeStack:
    """The engine: `deploy` publishes the next version (as `pulumi up` does for a changed definition)."""

    name = "qa"

    def __init__(self, env, *, strategy="verify-then-switch", percent=10, bake=1, retained=10, fail_deploy=False):
        self.env, self.fail_deploy, self.deploys = env, fail_deploy, 0
        self.settings = {"strategy": strategy, "canary_percent": percent, "canary_bake_minutes": bake,
                         "retained_releases": retained, "artifacts_bucket": env["bucket"]}

    def deploy(self, on_output):
        if self.fail_deploy:
            raise RuntimeError("update failed: aws:glue/job:Job orders-job: AccessDenied")
        self.deploys += 1
        self.env["publish"](f"{self.deploys + 1:07x}", code=str(self.deploys + 1))

    def outputs(self):
        machine = self.env["machine"]
        return {"pipeline_versions": {"orders": self.env["published"][machine][-1]},
                "pipeline_aliases": {"orders": f"{machine}:live"}, "release": self.settings,
                "alarm_names": [self.env["alarm"]]}


@pytest.fixture
def env(aws):
    sfn, cloudwatch, s3 = aws("stepfunctions"), aws("cloudwatch"), aws("s3")
    suffix = uuid.uuid4().hex[:8]
    bucket = f"artifacts-{suffix}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    name = f"data-pipeline-qa{suffix[:4]}-orders-pipeline"
    created = sfn.create_state_machine(name=name, definition=definition("1000000").replace("{bucket}", bucket),
                                       roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn", publish=True)
    machine = created["stateMachineArn"]
    published = {machine: [created["stateMachineVersionArn"]]}
    sfn.create_state_machine_alias(name="live", description="created by the program", routingConfiguration=[
        {"stateMachineVersionArn": created["stateMachineVersionArn"], "weight": 100}])
    alarm = f"data-pipeline-qa-{suffix}-orders-pipeline-failed"
    cloudwatch.put_metric_alarm(AlarmName=alarm, Namespace="AWS/States", MetricName="ExecutionsFailed",
                                Statistic="Sum", Period=300, EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="GreaterThanOrEqualToThreshold")
    for code in "12345678":
        for key in (f"glue/orders/script/glue_main-{code}.py", f"glue/orders/library/orders-{code}.zip"):
            s3.put_object(Bucket=bucket, Key=key, Body=b"code", Tagging="project=data-pipeline")

    def publish(commit: str, code: str = "a") -> str:
        version = sfn.update_state_machine(stateMachineArn=machine, publish=True,
                                           definition=definition(commit, code).replace("{bucket}", bucket))
        published[machine].append(version["stateMachineVersionArn"])
        return version["stateMachineVersionArn"]

    env = {"sfn": sfn, "cloudwatch": cloudwatch, "s3": s3, "machine": machine, "published": published,
           "publish": publish, "alarm": alarm, "bucket": bucket, "stack": f"qa{suffix[:4]}"}
    env["client"] = MotoReleaseClient(published)
    return env


def routes(env) -> list[tuple[int, int]]:
    described = env["sfn"].describe_state_machine_alias(stateMachineAliasArn=f"{env['machine']}:live")
    return sorted((int(r["stateMachineVersionArn"].rsplit(":", 1)[1]), r["weight"])
                  for r in described["routingConfiguration"])


def controller(env, verify=None, sleep=None) -> tuple[ReleaseController, list]:
    verified = []

    def default_verify(outputs, job, version_arn):
        """What HealthCheck.run().to_dict() returns for one job: its run read main at VERIFIED_SNAPSHOT."""
        verified.append((job, version_arn))
        return {"run_id": "r1", "jobs": {job: {"outcome": "passed", "execution_status": "SUCCEEDED",
                                               "table_snapshot": VERIFIED_SNAPSHOT}}}

    ticks = iter(range(0, 10_000, 30))
    return ReleaseController(client=env["client"], verify=verify or default_verify,
                             progress=Progress(io.StringIO(), live=False), sleep=sleep or (lambda _s: None),
                             clock=lambda: float(next(ticks)), poll_seconds=60), verified


VERIFIED_SNAPSHOT = 7212019266135408001


def release(env, stack, **options) -> ReleaseReport:
    ctl, _ = controller(env, **options)
    return ctl.release(stack, ReleaseReport(stack="qa", commit="0000002", actor="ci"))


def test_verify_then_switch_runs_the_check_on_the_new_version_then_moves_the_alias(env):
    ctl, verified = controller(env)
    report = ctl.release(FakeStack(env), ReleaseReport(stack="qa", commit="0000002", actor="ci"))
    new = env["published"][env["machine"]][-1]
    assert (report.outcome, report.exit_code) == ("released", 0)
    assert verified == [("orders", new)]
    assert routes(env) == [(2, 100)]
    history = AliasHistory.parse(env["sfn"].describe_state_machine_alias(
        stateMachineAliasArn=f"{env['machine']}:live")["description"])
    assert (history.live, history.earlier) == (2, (1,)) and "release 0000002 by ci" in history.note
    assert [p.status for p in report.phases.values()] == ["ok", "ok", "ok", "not run", "ok"]
    assert "Release of `qa` from 0000002: released" in report.to_markdown()


def test_the_report_records_each_verified_jobs_table_snapshot_for_a_data_rollback(env):
    report = release(env, FakeStack(env))
    assert report.pipelines["orders"].table_snapshot == VERIFIED_SNAPSHOT
    assert json.loads(report.to_json())["pipelines"]["orders"]["table_snapshot"] == VERIFIED_SNAPSHOT
    assert (f"`python -m automation data-rollback --stack qa --job orders --snapshot {VERIFIED_SNAPSHOT}`"
            in report.to_markdown())
    silent = release(env, FakeStack(env), verify=lambda *_: {"run_id": "r2", "jobs": {}})
    assert silent.outcome == "verification failed" and "reported no jobs.orders.table_snapshot" in silent.failure
    unverified = release(env, FakeStack(env, strategy="all-at-once"))
    assert unverified.pipelines["orders"].table_snapshot is None and "data-rollback" not in unverified.to_markdown()


def test_all_at_once_switches_without_verification(env):
    ctl, verified = controller(env)
    report = ctl.release(FakeStack(env, strategy="all-at-once"), ReleaseReport(stack="qa", commit="0000002"))
    assert report.outcome == "released" and verified == [] and routes(env) == [(2, 100)]


def test_failed_verification_leaves_the_alias_untouched(env):
    def failing(outputs, job, version_arn):
        raise RuntimeError("data-quality checks failed: quarantine_ratio")

    report = release(env, FakeStack(env), verify=failing)
    assert (report.outcome, report.exit_code) == ("verification failed", 1)
    assert routes(env) == [(1, 100)]
    assert report.pipelines["orders"].status == "verification failed"
    assert "quarantine_ratio" in report.failure and "were not moved" in report.failure


def test_canary_takes_its_share_for_the_bake_then_everything(env):
    seen = []
    report = release(env, FakeStack(env, strategy="canary", percent=10, bake=2), sleep=lambda _s: seen.append(
        routes(env)))
    assert report.outcome == "released" and routes(env) == [(2, 100)]
    assert seen and all(r == [(1, 90), (2, 10)] for r in seen)


def test_an_alarm_during_the_bake_rolls_the_canary_back(env):
    def alarm_fires(_seconds):
        env["cloudwatch"].set_alarm_state(AlarmName=env["alarm"], StateValue="ALARM", StateReason="test")

    report = release(env, FakeStack(env, strategy="canary", bake=5), sleep=alarm_fires)
    assert (report.outcome, report.exit_code) == ("rolled back", 1)
    assert env["alarm"] in report.failure
    assert routes(env) == [(1, 100)]
    assert report.pipelines["orders"].status == "rolled back"
    assert "canary rolled back" in env["sfn"].describe_state_machine_alias(
        stateMachineAliasArn=f"{env['machine']}:live")["description"]


def test_a_failed_execution_of_the_new_version_rolls_the_canary_back(env):
    stack = FakeStack(env, strategy="canary", bake=5)
    env["client"].failed = {f"{env['machine']}:2": [f"arn:aws:states:{REGION}:{ACCOUNT}:execution:x:run-1"]}
    report = release(env, stack)
    assert report.outcome == "rolled back" and "run-1" in report.failure and routes(env) == [(1, 100)]


def test_a_canary_does_not_start_while_alarms_already_fire(env):
    env["cloudwatch"].set_alarm_state(AlarmName=env["alarm"], StateValue="ALARM", StateReason="test")
    report = release(env, FakeStack(env, strategy="canary"))
    assert (report.outcome, report.exit_code) == ("blocked", 1) and routes(env) == [(1, 100)]


def test_a_failed_deploy_changes_no_alias(env):
    report = release(env, FakeStack(env, fail_deploy=True))
    assert (report.outcome, report.exit_code) == ("failed", 2) and "AccessDenied" in report.failure
    assert routes(env) == [(1, 100)]


def test_an_unchanged_version_is_not_verified_again(env):
    ctl, verified = controller(env)
    stack = FakeStack(env)
    stack.deploy = lambda on_output: None  # nothing changed: the engine published no new version
    report = ctl.release(stack, ReleaseReport(stack="qa"))
    assert report.outcome == "unchanged" and verified == [] and routes(env) == [(1, 100)]


def test_rollback_goes_back_one_release_at_a_time_then_says_there_is_nothing_left(env):
    stack = FakeStack(env)
    release(env, stack)
    release(env, stack)
    aliases = {"orders": f"{env['machine']}:live"}
    assert routes(env) == [(3, 100)]
    (result,) = rollback(env["client"], aliases, reason="bad totals", actor="alice")
    assert routes(env) == [(2, 100)] and result.to_commit == "0000002" and result.from_commit == "0000003"
    rollback(env["client"], aliases)
    assert routes(env) == [(1, 100)]
    with pytest.raises(ReleaseError, match="nothing to roll back to"):
        rollback(env["client"], aliases)
    assert routes(env) == [(1, 100)]


def test_rollback_of_a_fresh_alias_or_to_a_missing_version_changes_nothing(env):
    aliases = {"orders": f"{env['machine']}:live"}
    with pytest.raises(ReleaseError, match="nothing to roll back to: v1 is the only version"):
        rollback(env["client"], aliases)
    with pytest.raises(ReleaseError, match="version v9 no longer exists"):
        rollback(env["client"], aliases, to=9)
    assert routes(env) == [(1, 100)]


def test_rollback_stops_a_canary_in_flight(env):
    release(env, FakeStack(env))  # v2 live
    env["publish"]("0000003")
    env["client"].route(f"{env['machine']}:live", (Route(f"{env['machine']}:3", 10), Route(f"{env['machine']}:2", 90)),
                        AliasHistory(2, (1,), "canary v3 10%").describe())
    (result,) = rollback(env["client"], {"orders": f"{env['machine']}:live"}, reason="p99 up")
    assert routes(env) == [(2, 100)] and result.from_version.endswith(":3")


def test_pruning_keeps_the_newest_releases_and_what_aliases_route_to(env):
    stack = FakeStack(env, retained=3)
    for _ in range(6):
        release(env, stack)  # v2..v7 released one after another, each release pruning behind it; v7 live
    rollback(env["client"], {"orders": f"{env['machine']}:live"}, to=5)  # an older kept version is live again
    env["publish"]("0000008", code="8")
    report = release(env, stack, verify=lambda *_: (_ for _ in ()).throw(RuntimeError("bad")))  # v9 fails
    deleted = sorted(int(v.rsplit(":", 1)[1]) for v in env["client"].deleted)
    # The newest three (9, 8, 7) and the live v5 stay, whatever else happened.
    assert deleted == [1, 2, 3, 4, 6] and report.outcome == "verification failed"
    assert routes(env) == [(5, 100)]
    tags = {code: {t["Key"]: t["Value"] for t in env["s3"].get_object_tagging(
        Bucket=env["bucket"], Key=f"glue/orders/script/glue_main-{code}.py")["TagSet"]} for code in "234567"}
    # Code only pruned versions ran is retired (the lifecycle expires it), its other tags kept; kept code is not.
    for code in "2346":
        assert tags[code][RETIRED_TAG[0]] == RETIRED_TAG[1] and tags[code]["project"] == "data-pipeline"
    for code in "57":
        assert RETIRED_TAG[0] not in tags[code]
    with pytest.raises(ReleaseError, match="version v6 no longer exists"):
        rollback(env["client"], {"orders": f"{env['machine']}:live"}, to=6)


def test_status_shows_routing_and_releases_with_commits(env):
    stack = FakeStack(env)
    release(env, stack)
    release(env, stack)
    (shown,) = status(env["client"], {"orders": f"{env['machine']}:live"})
    assert shown["routing"] == [{"version": 3, "weight": 100}]
    assert [(r["version"], r["commit"]) for r in shown["releases"]] == [(3, "0000003"), (2, "0000002"),
                                                                          (1, "1000000")]
    assert all(r["published"] for r in shown["releases"])


def test_rollback_and_status_commands_work_on_aws_alone(env, capsys):
    release(env, FakeStack(env))
    assert main(["status", "--stack", "qa"]) == 2  # the shipped qa stack is not deployed in this account
    assert "has no pipeline with a live alias" in capsys.readouterr().err
    stack = env["stack"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("automation.release_cli._check_stack", lambda _stack: None)
        out = io.StringIO()
        with redirect_stdout(out):
            assert main(["rollback", "--stack", stack, "--reason", "bad totals", "--actor", "alice"]) == 0
        assert "orders: live is now v1 (commit 1000000), was v2 (commit 0000002) — bad totals" in out.getvalue()
        assert "git revert 0000002" in out.getvalue()
        assert routes(env) == [(1, 100)]
        assert main(["rollback", "--stack", stack, "--job", "orders"]) == 2
        assert "Nothing was changed" in capsys.readouterr().err


@pytest.mark.tier("unit")
def test_history_fits_the_alias_description_and_reads_back():
    history = AliasHistory(live=812, earlier=tuple(range(811, 700, -1)), note="release abcdef0 by someone " * 5)
    text = history.describe()
    assert len(text) <= 256
    parsed = AliasHistory.parse(text)
    assert parsed.live == 812 and parsed.earlier[:3] == (811, 810, 809)
    assert AliasHistory.parse("Released pipeline version; routing is set by …") is None


@pytest.mark.tier("unit")
def test_version_listing_and_deletion_match_the_service_model():
    client = AwsReleaseClient(boto3.Session(region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"))
    machine = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:m"
    with Stubber(client.sfn) as stub:
        stub.add_response("list_state_machine_versions", {"stateMachineVersions": [
            {"stateMachineVersionArn": f"{machine}:2", "creationDate": datetime.now(UTC)}], "nextToken": "t"},
            {"stateMachineArn": machine})
        stub.add_response("list_state_machine_versions", {"stateMachineVersions": [
            {"stateMachineVersionArn": f"{machine}:1", "creationDate": datetime.now(UTC)}]},
            {"stateMachineArn": machine, "nextToken": "t"})
        stub.add_response("delete_state_machine_version", {}, {"stateMachineVersionArn": f"{machine}:1"})
        assert client.versions(machine) == [f"{machine}:2", f"{machine}:1"]
        client.delete_version(f"{machine}:1")
        stub.assert_no_pending_responses()
