"""The rest of the PR-stack loop: PR profile, report and cost, reaper, command line, and the real engine."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from automation import cli
from automation.health_check import JobResult
from automation.profile import PROFILE, InvalidPullRequest, pull_request, stack_config
from automation.reaper import reap
from automation.report import Report, estimate_cost
from components.config import parse_settings
from stack_files import ROOT, config_section, project_defaults
from tests.conftest import REPOSITORY_JOBS

pytestmark = pytest.mark.tier("unit")

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


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
    assert not run.of_type("aws:scheduler/schedule:Schedule") or all(
        "cleanup" in s.inputs["name"] for s in run.of_type("aws:scheduler/schedule:Schedule"))


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
        cli.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for command in ("run", "deploy", "check", "destroy", "reap"):
        assert f"    {command} " in out
    assert "PULUMI_BACKEND_URL" in out and "PULUMI_CONFIG_PASSPHRASE" in out


def test_bad_pr_number_is_a_usage_error(capsys):
    assert cli.main(["run", "--pr", "abc", "--commit", "abc1234", "--creator", "me"]) == cli.EXIT_USAGE
    assert "pull request number 'abc'" in capsys.readouterr().err


def reports(tmp_path) -> list[str]:
    return ["--report-json", str(tmp_path / "report.json"), "--report-md", str(tmp_path / "report.md")]


def written(tmp_path) -> tuple[dict, str]:
    return json.loads((tmp_path / "report.json").read_text()), (tmp_path / "report.md").read_text()


def test_a_failed_precondition_still_writes_the_report_files(tmp_path, capsys):
    """The PR comment says why the check never ran."""
    assert cli.main(["run", "--pr", "abc", "--commit", "abc1234", "--creator", "me", *reports(tmp_path)]) == 2
    report, markdown = written(tmp_path)
    assert (report["outcome"], report["exit_code"]) == ("failed", cli.EXIT_USAGE)
    assert report["failure"].startswith("pull request number 'abc': expected a positive whole number")
    assert "**Failure:** pull request number 'abc'" in markdown
    assert "error: pull request number 'abc'" in capsys.readouterr().err


def test_a_stack_that_cannot_be_opened_is_reported_in_the_files(tmp_path, monkeypatch, capsys):
    import automation.stacks

    def unopenable(*_args, **_kwargs):
        raise RuntimeError("stderr: \nerror: passphrase must be set with PULUMI_CONFIG_PASSPHRASE")

    monkeypatch.setattr(cli.shutil, "which", lambda _name: "/usr/local/bin/pulumi")
    monkeypatch.setattr(automation.stacks, "AutomationStack", unopenable)
    code = cli.main(["check", "--pr", "7", *reports(tmp_path)])
    assert code == cli.EXIT_DEPLOY_FAILED
    report, markdown = written(tmp_path)
    assert report["failure"] == "cannot open stack pr-7: error: passphrase must be set with PULUMI_CONFIG_PASSPHRASE"
    assert report["stack"] == "pr-7" and report["pr"] == 7
    assert markdown.startswith("### ❌ Pipeline check of PR #7 (`pr-7`") and "PULUMI_BACKEND_URL" in markdown


@pytest.mark.skipif(shutil.which("pulumi") is not None, reason="the Pulumi CLI is installed here")
def test_missing_pulumi_cli_is_reported_plainly(tmp_path, capsys):
    assert cli.main(["destroy", "--pr", "3"]) == cli.EXIT_USAGE
    assert "the Pulumi CLI is not on PATH" in capsys.readouterr().err
    assert cli.main(["run", "--pr", "3", "--commit", "abc1234", "--creator", "me", *reports(tmp_path)]) == 2
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
    code = cli.main(["run", "--pr", "999999", "--commit", "0000000", "--creator", "pytest",
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
