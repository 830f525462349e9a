"""The rest of the PR-stack loop: PR profile, report and cost, reaper, command line, and the real engine."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from automation import cli, exit_codes, pr_cli
from automation.health_check import JobResult
from automation.profile import PROFILE, InvalidPullRequest, pull_request, stack_config
from automation.reaper import reap
from automation.report import Report, estimate_cost
from settings.parse import parse_settings
from stack_files import ROOT, config_section, project_defaults
from tests.conftest import REPOSITORY_JOBS

pytestmark = pytest.mark.tier("unit")

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def aws_credentials(monkeypatch):
    """Credentials that exist (the commands check for them before the engine runs); nothing here calls AWS."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")


# --- PR profile ------------------------------------------------------------------------------------------------

def test_pr_stack_config_is_valid_small_destroyable_and_unscheduled():
    pr = pull_request(42, "0123abc", "octocat")
    config = {**project_defaults(), **stack_config(pr)}  # as the CLI combines them
    raw = {k.removeprefix("data-pipeline:"): v for k, v in config.items() if k.startswith("data-pipeline:")}
    settings = parse_settings(pr.stack_name, raw, ROOT / "jobs")
    assert settings.stack == "pr-42" and settings.owner == "octocat" and settings.cost_center == "pr-42"
    assert [job.name for job in settings.glue_jobs] == REPOSITORY_JOBS, "a PR runs every job of the repository"
    assert not settings.protect_data and settings.orchestration.schedule == ""
    assert {(j.execution_class, j.number_of_workers) for j in settings.glue_jobs} == {("STANDARD", 2)}
    assert settings.log_retention_days == 1


@pytest.mark.tier("program")
def test_pr_stack_program_registers_nothing_protected(evaluations):
    # Strings, as the Automation API sets them and the engine hands them to the program.
    run = evaluations.pr_stack()
    assert not any(r.protect for r in run.resources)
    assert all(r.inputs.get("forceDestroy") for r in run.of_type("aws:s3/bucket:Bucket"))
    # A PR stack's jobs run on demand only: its one schedule is the cleanup's.
    assert [s.inputs["name"] for s in run.of_type("aws:scheduler/schedule:Schedule")] == [
        "data-pipeline-pr-42-cleanup"]


def test_pr_profile_may_narrow_the_jobs_on_purpose(tmp_path):
    profile = tmp_path / "pr-profile.yaml"
    profile.write_text(PROFILE.read_text() + "  data-pipeline:glueJobs:\n    orders: {}\n")
    config = stack_config(pull_request(42, "0123abc", "octocat"), profile)
    assert json.loads(config["data-pipeline:glueJobs"]) == {"orders": {}}
    assert "data-pipeline:glueJobs" not in config_section(PROFILE), "the shipped profile runs every job"


def test_tags_record_pr_commit_creator_and_creation_time():
    assert pull_request("7", "deadbeef", "octocat").tags(NOW) == {
        "pr": "7", "commit": "deadbeef", "creator": "octocat", "created-at": "2026-11-23T12:00:00+00:00"}


@pytest.mark.parametrize(("number", "commit", "creator", "message"), [
    ("0", "abc1234", "o", "pull request number '0'"),
    ("12a", "abc1234", "o", "expected a positive whole number"),
    ("12", "main", "o", "commit 'main': expected a git commit hash"),
    ("12", "abc1234", "", "creator is empty"),
])
def test_bad_pr_identity_is_rejected_clearly(number, commit, creator, message):
    with pytest.raises(InvalidPullRequest, match=message):
        pull_request(number, commit, creator)


# --- report and cost -------------------------------------------------------------------------------------------

def test_cost_uses_worker_dpus_price_and_the_one_minute_minimum():
    standard = estimate_cost({"worker_type": "G.1X", "number_of_workers": 2, "glue_execution_seconds": 120,
                              "execution_class": "STANDARD"})
    assert standard == {"dpu_seconds": 240.0, "billed_dpu_seconds": 240.0, "usd_per_dpu_hour": 0.44,
                        "usd": round(240 / 3600 * 0.44, 6)}
    short_flex = estimate_cost({"worker_type": "G.2X", "number_of_workers": 2, "glue_execution_seconds": 10,
                                "execution_class": "FLEX"})
    assert short_flex["billed_dpu_seconds"] == 240 and short_flex["usd_per_dpu_hour"] == 0.29
    reported = estimate_cost({"worker_type": "G.1X", "number_of_workers": 10, "glue_execution_seconds": 100,
                              "glue_dpu_seconds": 300.0})
    assert reported["dpu_seconds"] == 300.0 and reported["billed_dpu_seconds"] == 600
    assert estimate_cost({})["usd"] == 0


def job_health(job: str, **values) -> dict:
    """A job's health-run result as the report receives it (JobResult as a dict)."""
    return asdict(JobResult(job=job, **values))


def test_report_renders_every_job_with_its_run_cost_quality_and_failure():
    report = Report(stack="pr-7", pr=7, commit="0123abcdef", outcome="failed", exit_code=1,
                    failure="check failed: output of 1 of 2 job(s) failed: orders: data-quality checks failed",
                    where_to_look="orders: s3://curated/_health/orders/r1/_dq/run_id=jr_1/result.json",
                    health={"run_id": "r1", "jobs": {
                        "customers": job_health("customers", outcome="passed", glue_run_id="jr_2",
                                                glue_run_state="SUCCEEDED", glue_execution_seconds=45,
                                                worker_type="G.1X", number_of_workers=2, execution_class="STANDARD",
                                                quality={"passed": True, "input_rows": 140, "curated_rows": 114,
                                                         "quarantined_rows": 8, "checks": []}),
                        "orders": job_health("orders", outcome="failed", glue_run_id="jr_1",
                                             failure="data-quality checks failed: unique_key",
                                             where="s3://curated/_health/orders/r1/_dq/run_id=jr_1/result.json",
                                             glue_run_state="SUCCEEDED", glue_execution_seconds=61,
                                             worker_type="G.1X", number_of_workers=2, execution_class="STANDARD",
                                             quality={"passed": False, "input_rows": 150, "curated_rows": 128,
                                                      "quarantined_rows": 10,
                                                      "checks": [{"name": "unique_key", "passed": False,
                                                                  "observed": 2, "expected": "0 duplicate keys"}]}),
                    }})
    report.phases["deploy"].status, report.phases["deploy"].seconds = "ok", 151.2
    markdown = report.to_markdown()
    assert markdown.startswith("### ❌ Pipeline check of PR #7 (`pr-7`, 0123abc): failed")
    assert "| deploy | ok | 151.2 | 0 |" in markdown
    assert "| customers | ✅ passed | `jr_2` SUCCEEDED | 45 | 2 × G.1X (STANDARD) | 90 | $0.0147 | 140 | 114 | 8 |" in (
        markdown)
    assert "| orders | ❌ failed | `jr_1` SUCCEEDED | 61 | 2 × G.1X (STANDARD) | 122 | $0.0149 | 150 | 128 | 10 |" in (
        markdown)
    assert "**orders**: data-quality checks failed: unique_key" in markdown
    assert "- ❌ `unique_key`: observed 2, expected 0 duplicate keys" in markdown
    assert "- where to look: s3://curated/_health/orders/r1/_dq/run_id=jr_1/result.json" in markdown
    assert "**customers**" not in markdown
    assert "Estimated Glue cost of the check: $0.0296" in markdown
    assert "**Where to look:** orders: s3://" in markdown
    as_json = json.loads(report.to_json())
    assert as_json["cost"]["jobs"]["orders"]["billed_dpu_seconds"] == 122
    assert as_json["cost"]["billed_dpu_seconds"] == 122 + 120  # customers: the 1-minute minimum
    assert as_json["phases"]["deploy"]["seconds"] == 151.2
    assert set(as_json["health"]["jobs"]) == {"customers", "orders"}


# --- reaper ----------------------------------------------------------------------------------------------------

@dataclass
class Summary:
    name: str
    last_update: datetime | None


class FakeBackend:
    def __init__(self, stacks: dict[str, dict], failing: set[str] = frozenset()):
        self._stacks, self._failing = stacks, failing
        self.destroyed: list[str] = []

    def list_stacks(self):
        return [Summary(name, info.get("last_update")) for name, info in self._stacks.items()]

    def tags(self, stack):
        return self._stacks[stack].get("tags", {})

    def stack(self, name):
        backend = self

        class Stack:
            def destroy(self, on_output):
                if name in backend._failing:
                    raise RuntimeError("destroy failed:\nerror: resource in use")

            def remove(self):
                backend.destroyed.append(name)
        return Stack()


STACKS = {
    "dev": {"tags": {}},
    "pr-1": {"tags": {"pr": "1", "created-at": (NOW - timedelta(hours=2)).isoformat()}},
    "pr-2": {"tags": {"pr": "2", "created-at": (NOW - timedelta(hours=2)).isoformat()}},
    "pr-3": {"tags": {"pr": "3", "created-at": (NOW - timedelta(hours=30)).isoformat()}},
    "org/data-pipeline/pr-4": {"last_update": NOW - timedelta(days=3)},
    "pr-5": {"tags": {"pr": "5"}},
}


def test_reaper_dry_run_reports_without_destroying():
    backend = FakeBackend(STACKS)
    decisions = {d.stack: (d.action, d.reason) for d in reap(backend, ttl=timedelta(hours=24), closed_prs=[2],
                                                              now=NOW)}
    assert "dev" not in decisions
    assert decisions["pr-1"] == ("kept", "open PR, within TTL")
    assert decisions["pr-2"] == ("would destroy", "PR #2 is closed")
    assert decisions["pr-3"] == ("would destroy", "30.0 h old, TTL 24 h")
    assert decisions["org/data-pipeline/pr-4"][0] == "would destroy"  # no tags: last update decides
    assert decisions["pr-5"] == ("would destroy", "no creation time or update recorded")
    assert backend.destroyed == []


def test_reaper_destroys_stale_stacks_and_carries_on_past_a_failure():
    backend = FakeBackend(STACKS, failing={"pr-3"})
    decisions = {d.stack: d for d in reap(backend, ttl=timedelta(hours=24), closed_prs=[2], dry_run=False, now=NOW)}
    assert sorted(backend.destroyed) == ["org/data-pipeline/pr-4", "pr-2", "pr-5"]
    assert decisions["pr-3"].action == "failed" and "destroy failed" in decisions["pr-3"].reason
    assert decisions["pr-1"].action == "kept"


# --- command line ----------------------------------------------------------------------------------------------

def test_help_documents_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["pr", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for command in ("run", "deploy", "check", "destroy", "reap"):
        assert f"    {command} " in out
    assert "PULUMI_BACKEND_URL" in out and "PULUMI_CONFIG_PASSPHRASE" in out


def test_bad_pr_number_is_a_usage_error(capsys):
    assert cli.main(["pr", "run", "--pr", "abc", "--commit", "abc1234", "--creator", "me"]) == exit_codes.USAGE
    assert "pull request number 'abc'" in capsys.readouterr().err


def reports(tmp_path) -> list[str]:
    return ["--report-json", str(tmp_path / "report.json"), "--report-md", str(tmp_path / "report.md")]


def written(tmp_path) -> tuple[dict, str]:
    return json.loads((tmp_path / "report.json").read_text()), (tmp_path / "report.md").read_text()


def test_a_failed_precondition_still_writes_the_report_files(tmp_path, capsys):
    """The PR comment says why the check never ran."""
    assert cli.main(["pr", "run", "--pr", "abc", "--commit", "abc1234", "--creator", "me", *reports(tmp_path)]) == 2
    report, markdown = written(tmp_path)
    assert (report["outcome"], report["exit_code"]) == ("failed", exit_codes.USAGE)
    assert report["failure"].startswith("pull request number 'abc': expected a positive whole number")
    assert "**Failure:** pull request number 'abc'" in markdown
    assert "error: pull request number 'abc'" in capsys.readouterr().err


def test_a_stack_that_cannot_be_opened_is_reported_in_the_files(tmp_path, monkeypatch, capsys, aws_credentials):
    import automation.stacks

    def unopenable(*_args, **_kwargs):
        raise RuntimeError("stderr: \nerror: passphrase must be set with PULUMI_CONFIG_PASSPHRASE")

    monkeypatch.setattr(pr_cli.shutil, "which", lambda _name: "/usr/local/bin/pulumi")
    monkeypatch.setattr(automation.stacks, "AutomationStack", unopenable)
    code = cli.main(["pr", "check", "--pr", "7", *reports(tmp_path)])
    assert code == exit_codes.FAILED
    report, markdown = written(tmp_path)
    assert report["failure"] == "cannot open stack pr-7: error: passphrase must be set with PULUMI_CONFIG_PASSPHRASE"
    assert report["stack"] == "pr-7" and report["pr"] == 7
    assert markdown.startswith("### ❌ Pipeline check of PR #7 (`pr-7`") and "PULUMI_BACKEND_URL" in markdown


@pytest.mark.skipif(shutil.which("pulumi") is not None, reason="the Pulumi CLI is installed here")
def test_missing_pulumi_cli_is_reported_plainly(tmp_path, capsys):
    assert cli.main(["pr", "destroy", "--pr", "3"]) == exit_codes.USAGE
    assert "the Pulumi CLI is not on PATH" in capsys.readouterr().err
    assert cli.main(["pr", "run", "--pr", "3", "--commit", "abc1234", "--creator", "me", *reports(tmp_path)]) == 2
    assert written(tmp_path)[0]["failure"].startswith("the Pulumi CLI is not on PATH")


# --- the real engine -------------------------------------------------------------------------------------------

@pytest.mark.tier("aws")
def test_full_loop_on_the_real_engine(tmp_path, monkeypatch):
    """deploy -> check -> destroy with the Pulumi CLI, a file:// backend and real AWS (or an endpoint)."""
    if shutil.which("pulumi") is None:
        pytest.skip("the Pulumi CLI is not on PATH (it is downloaded from outside the package registries); "
                    "install it to run the real loop")
    if boto3.Session().get_credentials() is None:
        pytest.skip("no AWS credentials: the real loop deploys to AWS (set AWS_PROFILE or AWS_ACCESS_KEY_ID)")
    monkeypatch.setenv("PULUMI_BACKEND_URL", f"file://{tmp_path}")
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "pr-stack-test")
    code = cli.main(["pr", "run", "--pr", "999999", "--commit", "0000000", "--creator", "pytest",
                     "--report-json", str(tmp_path / "report.json")])
    report = json.loads((tmp_path / "report.json").read_text())
    assert code == 0, report
    assert report["phases"]["destroy"]["status"] == "ok" and report["phases"]["remove"]["status"] == "ok"


@pytest.mark.parametrize(("provider", "expected"), [
    ("awskms://alias/data-pipeline-ci/secrets?region=eu-west-1",
     "awskms://alias/data-pipeline-ci/secrets?region=eu-west-1&context_stack=pr-7"),
    (None, None)])
def test_each_stack_the_automation_creates_encrypts_its_secrets_with_its_own_context(provider, expected,
                                                                                   monkeypatch):
    from pulumi import automation as auto

    from automation.stacks import AutomationStack

    created = {}

    def create_or_select_stack(*, stack_name, work_dir, opts):
        created.update(stack=stack_name, secrets_provider=opts.secrets_provider)

    monkeypatch.setattr(auto, "create_or_select_stack", create_or_select_stack)
    if provider:
        monkeypatch.setenv("PULUMI_SECRETS_PROVIDER", provider)
    else:
        monkeypatch.delenv("PULUMI_SECRETS_PROVIDER", raising=False)
    AutomationStack("pr-7")
    assert created == {"stack": "pr-7", "secrets_provider": expected}


@pytest.mark.tier("aws")
def test_the_reaper_lists_an_s3_backends_stacks_without_reading_any_checkpoint(aws):
    """What the PR-stacks role runs the reaper with: it may list every stack's name but read only pr-* state."""
    from automation.stacks import ListedStack, s3_stacks

    s3 = aws("s3")
    bucket = "state-reaper-listing"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": s3.meta.region_name})
    keys = [".pulumi/meta.yaml", ".pulumi/stacks/data-pipeline/pr-7.json", ".pulumi/stacks/data-pipeline/pr-7.json.bak",
            ".pulumi/stacks/data-pipeline/pr-7.pulumi-tags", ".pulumi/stacks/data-pipeline/dev.json.gz",
            ".pulumi/stacks/data-pipeline/pr-base.json", ".pulumi/stacks/data-pipeline-bootstrap/nonprod.json",
            ".pulumi/history/data-pipeline/pr-8/pr-8-1.history.json"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"{}")
    reads = []
    s3.get_object = lambda **kwargs: reads.append(kwargs)
    listed = s3_stacks(s3, bucket)
    assert [stack.name for stack in listed] == ["dev", "pr-7", "pr-base"]
    assert all(isinstance(stack, ListedStack) and stack.last_update is not None for stack in listed)
    assert reads == []
    decisions = reap(ListedBackend(listed), ttl=timedelta(hours=24), now=max(s.last_update for s in listed)
                     + timedelta(days=2), dry_run=True)
    assert [(d.stack, d.action) for d in decisions] == [("pr-7", "would destroy")]


class ListedBackend:
    def __init__(self, stacks):
        self.stacks = stacks

    def list_stacks(self):
        return self.stacks

    def tags(self, _stack):
        return {}

    def stack(self, name):
        raise AssertionError(f"a dry run opens no stack ({name})")


# --- stale locks, pending operations and the workspace's stack file ---------------------------------------------

def write_lock(root, stack: str, *, taken: datetime, hostname: str = "runner-1", pid: int = 4242) -> object:
    """A DIY backend's lock file as Pulumi writes it (pkg/backend/diy/lock.go), with Go's nanoseconds."""
    from automation.locks import LOCK_ROOT

    folder = root / LOCK_ROOT / stack
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{pid}-{hostname}.json"
    path.write_text(json.dumps({"pid": pid, "username": "runner", "hostname": hostname,
                                "timestamp": taken.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"}))
    return path


def ended_pid() -> int:
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_stale_locks_are_cleared_and_a_live_update_keeps_its_lock(tmp_path):
    import socket

    from automation.locks import FileLocks, clear_stale_locks

    old = write_lock(tmp_path, "pr-3", taken=NOW - timedelta(hours=13))
    dead_here = write_lock(tmp_path, "pr-3", taken=NOW - timedelta(minutes=5), hostname=socket.gethostname(),
                           pid=ended_pid())
    live = write_lock(tmp_path, "pr-3", taken=NOW - timedelta(minutes=5), hostname="runner-2")
    cleared, kept = clear_stale_locks(FileLocks(tmp_path), "pr-3", now=NOW)
    assert not old.exists() and not dead_here.exists() and live.exists()
    assert len(cleared) == 2 and any("older than the longest run (12 h)" in c for c in cleared)
    assert any("its process on this machine has ended" in c for c in cleared)
    assert kept == [f"{live} (pid 4242 on runner-2 by runner, since {NOW - timedelta(minutes=5):%Y-%m-%dT%H:%MZ})"]


def test_the_reaper_clears_a_killed_destroys_lock_before_destroying(tmp_path):
    """Cancel during destroy: the killed destroy's lock would stop every later update of the stack."""
    from automation.locks import FileLocks

    lock = write_lock(tmp_path, "pr-3", taken=NOW - timedelta(hours=13))
    backend = FakeBackend(STACKS)
    reap(backend, ttl=timedelta(hours=24), closed_prs=[2], now=NOW, locks=FileLocks(tmp_path))
    assert lock.exists()  # a dry run changes nothing
    decisions = reap(backend, ttl=timedelta(hours=24), closed_prs=[2], dry_run=False, now=NOW,
                     locks=FileLocks(tmp_path))
    assert not lock.exists() and "pr-3" in backend.destroyed
    assert [d.stack for d in decisions if d.action == "lock cleared"] == ["pr-3"]


@pytest.mark.tier("aws")
def test_stale_locks_in_an_s3_backend(aws):
    from automation.locks import LOCK_ROOT, S3Locks, backend_locks, clear_stale_locks

    s3 = aws("s3")
    bucket = "state-locks"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": s3.meta.region_name})
    s3.put_object(Bucket=bucket, Key=f"{LOCK_ROOT}/pr-9/a.json", Body=json.dumps({
        "pid": 1, "username": "u", "hostname": "h", "timestamp": "2026-11-22T08:00:00.123456789Z"}).encode())
    s3.put_object(Bucket=bucket, Key=f"{LOCK_ROOT}/pr-9/b.json", Body=json.dumps({
        "pid": 1, "username": "u", "hostname": "h", "timestamp": "2026-11-23T11:50:00Z"}).encode())
    assert isinstance(backend_locks(f"s3://{bucket}?region=eu-west-1"), S3Locks)
    cleared, live = clear_stale_locks(S3Locks(s3, bucket), "pr-9", now=NOW)
    assert [c.split(" ")[0] for c in cleared] == [f"s3://{bucket}/{LOCK_ROOT}/pr-9/a.json"] and len(live) == 1
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [f"{LOCK_ROOT}/pr-9/b.json"]


class FakeEngine:
    """The Automation API stack under AutomationStack: records calls; `up` can fail as the test says."""

    def __init__(self, stack_file, *, up_errors=(), pending=()):
        self.stack_file, self.up_errors, self.pending = stack_file, list(up_errors), list(pending)
        self.calls: list[tuple] = []

    def set_config(self, key, value):
        # `pulumi config set` rewrites the whole file (comments lost): the restore must not depend on it.
        self.calls.append(("set_config", key, value.value))
        self.stack_file.write_text(f"config:\n  {key}: '{value.value}'\n")

    def up(self, **kwargs):
        self.calls.append(("up", self.stack_file.read_text() if self.stack_file else ""))
        if self.up_errors:
            raise self.up_errors.pop(0)

    def export_stack(self):
        from pulumi import automation as auto

        return auto.Deployment(version=3, deployment={"pending_operations": self.pending})

    def refresh(self, **kwargs):
        self.calls.append(("refresh", kwargs.get("clear_pending_creates")))


def automation_stack(engine, name="prod", sleeps=None):
    from pulumi import automation as auto

    from automation.stacks import AutomationStack

    stack = object.__new__(AutomationStack)
    stack._auto, stack.name, stack._stack = auto, name, engine
    stack._concurrent_wait, stack._sleep = 30, (sleeps.append if sleeps is not None else lambda _s: None)
    return stack


def concurrent_update():
    from pulumi import automation as auto

    return auto.ConcurrentUpdateError(auto.CommandResult(stdout="", stderr="the stack is currently locked", code=255))


@pytest.mark.parametrize("fault", ["engine error", "signal"])
def test_hold_aliases_is_set_for_one_update_and_the_stack_file_is_restored_even_when_interrupted(tmp_path, monkeypatch,
                                                                                                 fault):
    from automation.phases import Interrupted
    from automation.stacks import HOLD_ALIASES

    stack_file = tmp_path / "Pulumi.prod.yaml"
    original = b"# Production: comments and order survive\nconfig:\n  aws:region: eu-west-1\n"
    stack_file.write_bytes(original)
    monkeypatch.setattr("automation.stacks.ROOT", tmp_path)
    engine = FakeEngine(stack_file)
    automation_stack(engine).deploy(print, hold_aliases=True)
    assert engine.calls[:2] == [("set_config", HOLD_ALIASES, "true"), ("up", f"config:\n  {HOLD_ALIASES}: 'true'\n")]
    assert stack_file.read_bytes() == original and list(tmp_path.iterdir()) == [stack_file]
    error = RuntimeError("update failed") if fault == "engine error" else Interrupted(2)
    engine.up_errors = [error]
    with pytest.raises(type(error)):
        automation_stack(engine).deploy(print, hold_aliases=True)
    assert stack_file.read_bytes() == original and list(tmp_path.iterdir()) == [stack_file]
    automation_stack(engine).deploy(print)  # the moving update: no hold written
    assert engine.calls[-1] == ("up", original.decode())


def test_a_killed_runs_stack_file_is_restored_by_the_next_run(tmp_path, monkeypatch):
    from automation.stacks import stack_file_restored

    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_bytes(b"config:\n  aws:region: eu-west-1\n")
    with pytest.raises(SystemExit), stack_file_restored(stack_file):
        stack_file.write_text("config:\n  data-pipeline:holdAliases: 'true'\n")
        # kill -9 here: neither `finally` nor the restore runs; simulated by leaving the copy behind
        (tmp_path / "copy").write_bytes((tmp_path / ".Pulumi.prod.yaml.before-release").read_bytes())
        raise SystemExit
    (tmp_path / "copy").rename(tmp_path / ".Pulumi.prod.yaml.before-release")
    stack_file.write_text("config:\n  data-pipeline:holdAliases: 'true'\n")
    with stack_file_restored(stack_file):
        assert b"holdAliases" not in stack_file.read_bytes()  # restored from the killed run's copy first
    assert stack_file.read_bytes() == b"config:\n  aws:region: eu-west-1\n"


def test_a_stale_lock_is_cleared_and_the_update_retried_a_live_one_is_waited_for(tmp_path, monkeypatch):
    from automation.stacks import EngineError

    monkeypatch.setenv("PULUMI_BACKEND_URL", f"file://{tmp_path}")
    stale = write_lock(tmp_path, "prod", taken=datetime.now(UTC) - timedelta(hours=13))
    engine, sleeps = FakeEngine(None, up_errors=[concurrent_update()]), []
    automation_stack(engine, sleeps=sleeps).deploy(print)
    assert not stale.exists() and sleeps == [] and [c[0] for c in engine.calls] == ["up", "up"]
    write_lock(tmp_path, "prod", taken=datetime.now(UTC) - timedelta(minutes=3), hostname="runner-2")
    engine.up_errors = [concurrent_update() for _ in range(10)]
    with pytest.raises(EngineError, match=r"running for over 30 s \(.*pid 4242 on runner-2.*delete that lock file"):
        automation_stack(engine, sleeps=sleeps).deploy(print)
    assert sum(sleeps) >= 30


def test_a_killed_runs_pending_operations_are_cleared_by_a_refresh_first():
    urn = "urn:pulumi:prod::data-pipeline::aws:s3/bucket:Bucket::raw"
    engine = FakeEngine(None, pending=[{"type": "creating", "resource": {"urn": urn}}])
    assert automation_stack(engine).recover(print) == [f"creating {urn}"]
    assert engine.calls == [("refresh", True)]
    assert automation_stack(FakeEngine(None)).recover(print) == []  # nothing pending: no refresh


def test_the_teardown_job_clears_the_killed_check_jobs_young_lock_and_destroys(tmp_path, monkeypatch,
                                                                               aws_credentials):
    """Cancel during destroy: GitHub killed the check job's destroy 10 s after SIGINT; its lock is minutes old."""
    destroyed = []

    class Stack:
        name = "pr-3"

        def __init__(self, *args, **kwargs):
            pass

        def destroy(self, on_output):
            assert not lock.exists(), "the lock goes before the destroy"
            destroyed.append("destroy")

        def remove(self):
            destroyed.append("remove")

    monkeypatch.setenv("PULUMI_BACKEND_URL", f"file://{tmp_path}")
    monkeypatch.setattr("automation.pr_cli.shutil.which", lambda _name: "/usr/bin/pulumi")
    monkeypatch.setattr("automation.stacks.AutomationStack", Stack)
    lock = write_lock(tmp_path, "pr-3", taken=datetime.now(UTC) - timedelta(minutes=2))
    assert cli.main(["pr", "destroy", "--pr", "3", "--clear-locks"]) == exit_codes.OK
    assert destroyed == ["destroy", "remove"]


def test_pr_commands_without_credentials_print_one_line_and_write_the_report(tmp_path, monkeypatch, capsys):
    for variable in ("AWS_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    for variable in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.setenv(variable, str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setattr(pr_cli.shutil, "which", lambda _name: "/usr/local/bin/pulumi")
    assert cli.main(["pr", "check", "--pr", "7", *reports(tmp_path)]) == exit_codes.NO_AWS_SETUP
    err = capsys.readouterr().err
    assert err.startswith("error: no AWS credentials") and err.count("\n") == 1
    assert written(tmp_path)[0]["exit_code"] == exit_codes.NO_AWS_SETUP
