"""The fast PR check: which path a pull request's changes take, the check stack (pr-base) and what its Glue roles
may do, the bootstrap role that runs it, and the PR's job code run on it against moto server. moto runs no Glue
code, so what a run would write is put in S3 by the test when the run starts, from the run's own arguments."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from automation import cli, paths, pr_cli
from automation.code_check import CodeCheck
from automation.health_check import Expected, HealthCheckFailed
from automation.lifecycle import EXIT_CHECK_FAILED, EXIT_PASSED, Lifecycle
from automation.profile import is_pull_request_stack
from automation.progress import Progress
from automation.reaper import reap
from automation.report import Report
from bootstrap.documents import Account, StackArns, StackScope, StateArns, deployer_policies, pr_stacks_policies
from harness.policy_report import report_for_run
from harness.program import ACCOUNT_ID
from jobs.common.catalog import job_names
from settings import naming
from settings.delivery import CHECK_STACK
from stack_files import ROOT
from tests.aws_server import REGION
from tests.conftest import REPOSITORY_JOBS
from tests.iam_access import allows
from tests.quality_results import put_health_run_result
from tests.test_automation import FakeBackend

pytestmark = pytest.mark.tier("unit")
JOBS = tuple(REPOSITORY_JOBS)


# --- path choice ------------------------------------------------------------------------------------------------

PATH_CASES = [
    (["jobs/orders/transforms.py"], paths.FAST, ("orders",)),
    (["jobs/orders/sample/orders.jsonl", "tests/test_orders_transforms.py", "README.md"], paths.FAST, ("orders",)),
    (["tests/test_customers_transforms.py"], paths.FAST, ("customers",)),
    (["jobs/common/runner.py"], paths.FAST, JOBS),
    (["jobs/__init__.py"], paths.FAST, JOBS),
    (["jobs/returns/job.py", "jobs/returns/schema.py"], paths.FULL, ()),
    (["components/glue_job.py", "jobs/orders/transforms.py"], paths.FULL, ()),
    (["functions/quality_gate/handler.py"], paths.FULL, ()),
    (["Pulumi.prod.yaml"], paths.FULL, ()),
    (["policies/guardrails/least_privilege.py"], paths.FULL, ()),
    (["requirements.txt"], paths.FULL, ()),
    (["automation/code_check.py"], paths.FULL, ()),
    (["__main__.py"], paths.FULL, ()),
    (["bootstrap/documents.py"], paths.FULL, ()),
    ([".github/workflows/pull-request.yml"], paths.FULL, ()),
    (["README.md", "docs/design.md"], paths.NONE, ()),
    (["tests/test_stacks.py", "jobs/scaffold/templates/job.py.txt"], paths.NONE, ()),
    ([], paths.NONE, ()),
]


@pytest.mark.parametrize(("changed", "path", "jobs"), PATH_CASES, ids=[",".join(c) or "nothing" for c, _, _ in
                                                                        PATH_CASES])
def test_path_follows_what_the_pull_request_changes(changed, path, jobs):
    choice = paths.choose(changed, JOBS, JOBS)
    assert (choice.path, choice.jobs) == (path, tuple(sorted(jobs)))
    if path == paths.FULL:
        assert choice.deciding and all(f in changed for f in choice.deciding) and choice.reason


def test_full_path_names_the_files_and_the_new_job():
    choice = paths.choose(["jobs/returns/job.py", "jobs/orders/job.py", "README.md"], JOBS, [*JOBS, "returns"])
    assert choice.path == paths.FULL and "returns" in choice.reason
    assert choice.deciding == ("jobs/returns/job.py",) and set(choice.ignored) == {"README.md", "jobs/orders/job.py"}
    infrastructure = paths.choose([f"components/f{i}.py" for i in range(5)], JOBS, JOBS)
    assert infrastructure.reason.endswith("components/f0.py, components/f1.py, components/f2.py and 2 more")


def test_a_job_the_tree_no_longer_has_is_a_removal_and_needs_a_deploy():
    choice = paths.choose(["jobs/customers/job.py"], JOBS, ["orders"])
    assert choice.path == paths.FULL and "customers" in choice.reason


def test_the_path_can_be_forced_and_a_bad_one_is_named():
    assert paths.choose(["components/glue_job.py"], JOBS, JOBS, forced=paths.FAST).jobs == tuple(sorted(JOBS))
    assert paths.choose(["jobs/orders/job.py"], JOBS, JOBS, forced=paths.FULL).path == paths.FULL
    with pytest.raises(ValueError, match="--path 'quick': expected one of auto, fast, full"):
        paths.choose([], JOBS, JOBS, forced="quick")


def test_changed_files_are_what_git_diff_shows_since_the_base(tmp_path):
    def git(*args):
        subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=tmp_path,
                       check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    (tmp_path / "README.md").write_text("a\n")
    git("add", ".")
    git("commit", "-q", "-m", "base")
    git("checkout", "-q", "-b", "feature")
    (tmp_path / "jobs" / "orders").mkdir(parents=True)
    (tmp_path / "jobs" / "orders" / "job.py").write_text("x = 1\n")
    git("add", ".")
    git("commit", "-q", "-m", "change")
    assert paths.changed_files("main", cwd=str(tmp_path)) == ["jobs/orders/job.py"]
    with pytest.raises(paths.ChangedFilesError, match="git diff --name-only nowhere...HEAD failed.*fetch-depth"):
        paths.changed_files("nowhere", cwd=str(tmp_path))


# --- the command line's choice ------------------------------------------------------------------------------------

class CheckStack:
    """An injected check stack: its outputs, and a record that nothing deploys or destroys it."""

    def __init__(self, outputs: dict | None = None, error: Exception | None = None):
        self._outputs, self._error, self.calls = outputs or {}, error, []

    def outputs(self):
        if self._error:
            raise self._error
        return self._outputs

    def deploy(self, _on_output):
        self.calls.append("deploy")

    def destroy(self, _on_output):
        self.calls.append("destroy")

    def remove(self):
        self.calls.append("remove")

    def cancel(self):
        self.calls.append("cancel")


def choose_for(argv: list[str], stack: CheckStack):
    args = cli.parser().parse_args(["pr", "run", "--pr", "7", *argv])
    return pr_cli._choose_path(args.path, pr_cli._changed(args), lambda: stack)


def test_run_chooses_from_the_changed_files_and_the_check_stacks_jobs(tmp_path):
    changed = tmp_path / "changed.txt"
    changed.write_text("jobs/orders/transforms.py\n")
    deployed = CheckStack({"glue_jobs": {job: f"data-pipeline-pr-base-{job}" for job in JOBS}})
    assert choose_for(["--changed-files", str(changed)], deployed).path == paths.FAST
    assert choose_for([], deployed).reason == "no changed files given (--changed-files or --base)"
    assert choose_for(["--path", "full", "--changed-files", str(changed)], deployed).path == paths.FULL
    missing = choose_for(["--changed-files", str(changed)], CheckStack(error=pr_cli.StackUnavailable("no backend")))
    assert missing.path == paths.FULL and "the check stack is unavailable (no backend)" in missing.reason
    empty = choose_for(["--changed-files", str(changed)], CheckStack({}))
    assert empty.path == paths.FULL and "python -m automation pr update-base" in empty.reason
    assert deployed.calls == []


# --- the check stack's program ------------------------------------------------------------------------------------

@pytest.mark.tier("program")
def test_check_stack_glue_roles_reach_only_health_folders_and_pr_code(check_stack_run):
    run = check_stack_run
    buckets = {r.name.rsplit("-", 1)[-1]: r.outputs["arn"] for r in run.of_type("aws:s3/bucket:Bucket")}
    jobs = {r.inputs["name"]: r for r in run.of_type("aws:glue/job:Job")}
    assert len(jobs) == len(job_names()) >= 2
    policies = {job: run.one("aws:iam/rolePolicy:RolePolicy", f"{job}-policy") for job in job_names()}
    for job, policy in policies.items():
        document = json.loads(policy.inputs["policy"])
        actions = {a for s in document["Statement"] for a in s["Action"]}
        # Reading the catalog and committing to its own table (a health check's throw-away branch) only.
        assert {a for a in actions if a.startswith("glue:")} == {"glue:GetDatabase", "glue:GetTable",
                                                                 "glue:UpdateTable"}, policy.name
        health = f"{naming.health_check_prefix(job)}pr7-1/"
        assert allows([document], "s3:GetObject", f"{buckets['raw']}/{health}orders.jsonl")
        assert allows([document], "s3:PutObject", f"{buckets['curated']}/{health}data/part-0.parquet")
        assert allows([document], "s3:GetObject", f"{buckets['artifacts']}/pr-checks/7/glue/{job}/script/g.py")
        for outside in (f"{buckets['raw']}/{job}/2026/input.jsonl", f"{buckets['curated']}/{job}/data/x.parquet"):
            assert not allows([document], "s3:GetObject", outside) and not allows([document], "s3:PutObject",
                                                                                   outside)
    for job in jobs.values():
        arguments = job.inputs["defaultArguments"]
        assert arguments["--health_check"] == "true"
        for key in ("--source_path", "--target_path", "--TempDir"):
            assert "/_health/" in arguments[key], key


@pytest.mark.tier("program")
def test_check_stack_expires_pull_requests_code_and_passes_the_policy_pack(check_stack_run):
    artifacts = next(r for r in check_stack_run.of_type(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration") if "artifacts" in r.name)
    rule = next(rule for rule in artifacts.inputs["rules"] if rule["id"] == "expire-prefix")
    assert rule["filter"] == {"prefix": "pr-checks/"} and rule["expiration"]["days"] >= 1
    report = report_for_run(check_stack_run)
    assert report.findings == [] and report.errors == [], [f.message for f in report.findings]


def test_only_the_pr_stacks_role_runs_the_check_stacks_glue_jobs_and_only_those():
    account = Account("aws", REGION, ACCOUNT_ID)
    state = StateArns("arn:aws:s3:::state", "arn:aws:kms:r:1:key/s", "arn:aws:kms:r:1:key/t")

    def glue_job(stack: str) -> str:
        return f"arn:aws:glue:{REGION}:{ACCOUNT_ID}:job/data-pipeline-{stack}-orders"

    pr_stacks = pr_stacks_policies(StackArns(account, StackScope("pr-*")), state, permissions_boundary_arn="b",
                                   check_stack=StackArns(account, StackScope(CHECK_STACK))).values()
    assert allows(pr_stacks, "glue:StartJobRun", glue_job(CHECK_STACK))
    assert allows(pr_stacks, "glue:BatchStopJobRun", glue_job(CHECK_STACK))
    assert not allows(pr_stacks, "glue:StartJobRun", glue_job("pr-42"))
    assert not allows(pr_stacks, "glue:StartJobRun", glue_job("dev"))
    deploy = deployer_policies(StackArns(account, StackScope("dev")), state, permissions_boundary_arn="b").values()
    assert not allows(deploy, "glue:StartJobRun", glue_job("dev"))


def test_the_reaper_leaves_the_check_stack():
    old = {"last_update": datetime.now(UTC) - timedelta(days=30)}
    backend = FakeBackend({CHECK_STACK: old, "pr-7": old})
    decisions = reap(backend, ttl=timedelta(hours=24), dry_run=False)
    assert backend.destroyed == ["pr-7"] and [d.stack for d in decisions] == ["pr-7"]
    assert not is_pull_request_stack(CHECK_STACK) and is_pull_request_stack("pr-7")


# --- the fast path against moto server ---------------------------------------------------------------------------

@pytest.fixture
def check_stack(aws):
    """The check stack in moto: its buckets and Glue jobs, and its outputs."""
    s3, glue = aws("s3"), aws("glue")
    suffix = uuid.uuid4().hex[:8]
    buckets = {zone: f"{zone}-{suffix}" for zone in ("raw", "curated", "artifacts", "temp")}
    for bucket in buckets.values():
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    glue_jobs = {}
    for job in JOBS:
        glue_jobs[job] = f"data-pipeline-pr-base-{job}-{suffix}"
        glue.create_job(Name=glue_jobs[job], Role=f"arn:aws:iam::{ACCOUNT_ID}:role/glue", GlueVersion="5.0",
                        WorkerType="G.1X", NumberOfWorkers=2, ExecutionClass="STANDARD",
                        ExecutionProperty={"MaxConcurrentRuns": 10},
                        Command={"Name": "glueetl", "ScriptLocation": "s3://x/glue_main.py"})
    outputs = {"buckets": buckets, "glue_jobs": glue_jobs,
               "pipeline_versions": {job: f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:{job}:1"
                                     for job in JOBS}}
    return {"outputs": outputs, "s3": s3, "glue": glue, "buckets": buckets}


def simulate_glue(check: CodeCheck, s3, *, passed: bool = True, failing: dict[str, str] | None = None,
                  started: list | None = None):
    """Each run writes what its job would (the quality result under its --target_path), or fails with an error
    message for the jobs in `failing`."""
    start_job_run, get_job_run = check.glue.start_job_run, check.glue.get_job_run
    names = {name: job for job, name in check.outputs["glue_jobs"].items()}

    def start(**kwargs):
        run = start_job_run(**kwargs)
        job, arguments = names[kwargs["JobName"]], kwargs["Arguments"]
        (started if started is not None else []).append((job, arguments))
        put_health_run_result(s3, arguments["--target_path"], job, run["JobRunId"], passed=passed)
        return run

    def get(**kwargs):
        run = get_job_run(**kwargs)
        job = names[kwargs["JobName"]]
        if job in (failing or {}):
            run["JobRun"].update(JobRunState="FAILED", ErrorMessage=failing[job])
        return run

    check.glue.start_job_run, check.glue.get_job_run = start, get


def code_check(outputs: dict, pr: int = 7, **options) -> CodeCheck:
    return CodeCheck(outputs, pr=pr, jobs=options.pop("jobs", JOBS), sleep=lambda _s: time.sleep(0.01), **options)


@pytest.mark.tier("aws")
def test_the_prs_code_runs_on_the_check_stack_and_is_checked_like_the_pr_stack(check_stack):
    stack, report = CheckStack(check_stack["outputs"]), Report(stack=CHECK_STACK, pr=7, commit="0123abc")
    started, checks = [], []

    def health(outputs):
        checks.append(code_check(outputs))
        simulate_glue(checks[-1], check_stack["s3"], started=started)
        return checks[-1]

    report = Lifecycle(stack=stack, health_check=health, report=report, progress=Progress(),
                       ephemeral=False).run()
    assert (report.outcome, report.exit_code) == ("passed", EXIT_PASSED), report.failure
    assert stack.calls == [], "the fast path deploys and destroys nothing"
    assert {name: phase.status for name, phase in report.phases.items()} == {
        "deploy": "skipped", "run": "ok", "check": "ok", "destroy": "skipped", "remove": "skipped"}
    artifacts, s3 = check_stack["buckets"]["artifacts"], check_stack["s3"]
    assert sorted(job for job, _ in started) == sorted(JOBS)
    for job, arguments in started:
        folder = f"{naming.health_check_prefix(job)}{report.health['run_id']}/"
        assert report.health["run_id"].startswith("pr7-")
        assert arguments["--source_path"] == f"s3://{check_stack['buckets']['raw']}/{folder}"
        assert arguments["--target_path"] == f"s3://{check_stack['buckets']['curated']}/{folder}"
        assert arguments["--health_check"] == "true"
        assert arguments["--job-bookmark-option"] == "job-bookmark-disable", "the job's bookmark is not read or moved"
        script = arguments["--scriptLocation"].removeprefix(f"s3://{artifacts}/")
        assert script.startswith(f"pr-checks/7/glue/{job}/script/glue_main-")
        body = s3.get_object(Bucket=artifacts, Key=script)["Body"].read()
        assert body == (ROOT / "jobs" / job / "glue_main.py").read_bytes()
        assert arguments["--extra-py-files"].startswith(f"s3://{artifacts}/pr-checks/7/glue/{job}/library/{job}-")
        result = report.health["jobs"][job]
        assert result["outcome"] == "passed" and result["quality"]["curated_rows"] == Expected.of_sample(
            job).curated_rows and result["glue_run_state"] == "SUCCEEDED"
    assert report.cost["usd"] > 0 and "Path" not in report.to_markdown()


@pytest.mark.tier("aws")
def test_unchanged_code_is_not_uploaded_again(check_stack):
    first = code_check(check_stack["outputs"], jobs=["orders"])
    locations = first.upload_code("orders")
    uploads = []
    second = code_check(check_stack["outputs"], jobs=["orders"])
    put_object = second.s3.put_object
    second.s3.put_object = lambda **kwargs: (uploads.append(kwargs["Key"]), put_object(**kwargs))[1]
    assert second.upload_code("orders") == locations and uploads == []


@pytest.mark.tier("aws")
def test_code_runs_only_under_the_prs_folder_with_the_checksum_of_its_build(check_stack):
    check = code_check(check_stack["outputs"], jobs=["orders"])
    locations = check.upload_code("orders")
    artifacts, s3 = check_stack["buckets"]["artifacts"], check_stack["s3"]
    for kind, uri in locations.items():
        key = uri.removeprefix(f"s3://{artifacts}/")
        assert key.startswith(naming.pr_check_code_prefix(7, "orders")), key
        head = s3.head_object(Bucket=artifacts, Key=key, ChecksumMode="ENABLED")
        body = s3.get_object(Bucket=artifacts, Key=key)["Body"].read()
        assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(body).digest()).decode(), kind
    assert s3.list_objects_v2(Bucket=artifacts, Prefix="pr-checks/")["KeyCount"] == len(locations)
    assert all(o["Key"].startswith("pr-checks/7/") for o in s3.list_objects_v2(Bucket=artifacts)["Contents"])


@pytest.mark.tier("aws")
def test_code_is_uploaded_only_where_no_object_is_and_a_check_that_uploaded_it_first_is_fine(check_stack):
    """The upload carries If-None-Match: * (the role may write PR code no other way): S3 refuses to replace an
    object, so a check that raced this one to the same content key leaves its upload, which is then verified."""
    first, second = (code_check(check_stack["outputs"], jobs=["orders"]) for _ in range(2))
    locations = first.upload_code("orders")
    sent = []
    put_object = second.s3.put_object
    second.s3.put_object = lambda **kwargs: (sent.append(kwargs), put_object(**kwargs))[1]
    # The second check looked before the first uploaded: it finds no object, then its upload is refused (412).
    second._checksum = lambda key, real=second._checksum: None if not sent else real(key)
    assert second.upload_code("orders") == locations
    assert len(sent) == 1 and sent[0]["IfNoneMatch"] == "*"


@pytest.mark.tier("aws")
@pytest.mark.parametrize("planted", ["other content", "same content without a checksum"])
def test_an_object_at_the_content_key_with_other_content_fails_the_check_and_is_never_run(check_stack, planted):
    artifacts, s3 = check_stack["buckets"]["artifacts"], check_stack["s3"]
    honest = code_check(check_stack["outputs"], jobs=["orders"])
    script = honest.upload_code("orders")["script"].removeprefix(f"s3://{artifacts}/")
    built = s3.get_object(Bucket=artifacts, Key=script)["Body"].read()
    # Another pull request (same role, same bucket) replaces the object at the key this PR's build names.
    if planted == "other content":
        evil = b"import os; os.system('exfiltrate')\n"
        s3.put_object(Bucket=artifacts, Key=script, Body=evil, ChecksumAlgorithm="SHA256",
                      ChecksumSHA256=base64.b64encode(hashlib.sha256(evil).digest()).decode())
    else:
        s3.put_object(Bucket=artifacts, Key=script, Body=built)
    check = code_check(check_stack["outputs"], jobs=["orders"])
    started = []
    simulate_glue(check, s3, started=started)
    uploads = []
    put_object = check.s3.put_object
    check.s3.put_object = lambda **kwargs: (uploads.append(kwargs["Key"]), put_object(**kwargs))[1]
    with pytest.raises(HealthCheckFailed, match=f"{script} does not hold this pull request's build of orders "
                                                "script .*it is not run"):
        check.run()
    assert started == [], "no Glue run starts with code S3 cannot vouch for"
    assert script not in uploads, "the object is not silently overwritten either"


@pytest.mark.tier("aws")
def test_a_quality_failure_fails_the_check_with_the_failed_rule(check_stack):
    check = code_check(check_stack["outputs"])
    simulate_glue(check, check_stack["s3"], passed=False)
    with pytest.raises(HealthCheckFailed, match="data-quality checks failed: quarantine_ratio") as failed:
        check.run()
    assert {r.outcome for r in failed.value.result.jobs.values()} == {"failed"}
    assert "/_dq/run_id=" in failed.value.where


@pytest.mark.tier("aws")
def test_a_failed_glue_run_names_its_error_and_where_to_look(check_stack):
    check = code_check(check_stack["outputs"])
    simulate_glue(check, check_stack["s3"], failing={"orders": "NameError: name 'parse' is not defined"})
    report = Lifecycle(stack=CheckStack(check_stack["outputs"]), health_check=lambda _outputs: check,
                       report=Report(stack=CHECK_STACK, pr=7), progress=Progress(), ephemeral=False).run()
    assert report.exit_code == EXIT_CHECK_FAILED
    orders = report.health["jobs"]["orders"]
    assert orders["failure"] == "Glue run FAILED: NameError: name 'parse' is not defined"
    assert orders["where"].startswith(f"Glue run {orders['glue_run_id']} of job ")
    assert all(job["outcome"] == "ran" for name, job in report.health["jobs"].items() if name != "orders")


@pytest.mark.tier("aws")
def test_two_pull_requests_at_once_keep_to_their_own_folders_and_code(check_stack):
    checks = {pr: code_check(check_stack["outputs"], pr=pr) for pr in (7, 8)}
    started = {7: [], 8: []}
    for pr, check in checks.items():
        simulate_glue(check, check_stack["s3"], started=started[pr])
    both = threading.Barrier(2, timeout=20)
    results = {}

    def run(pr):
        both.wait()
        results[pr] = checks[pr].run()

    threads = [threading.Thread(target=run, args=(pr,)) for pr in checks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert {pr: {r.outcome for r in result.jobs.values()} for pr, result in results.items()} == {
        7: {"passed"}, 8: {"passed"}}
    for pr, runs in started.items():
        for job, arguments in runs:
            assert f"/{naming.health_check_prefix(job)}pr{pr}-" in arguments["--target_path"]
            assert f"/pr-checks/{pr}/glue/{job}/" in arguments["--scriptLocation"]
    curated = check_stack["buckets"]["curated"]
    folders = {o["Key"].split("/")[2] for o in check_stack["s3"].list_objects_v2(Bucket=curated)["Contents"]}
    assert {f.split("-")[0] for f in folders} == {"pr7", "pr8"} and len(folders) == 2


@pytest.mark.tier("aws")
def test_a_run_past_the_deadline_is_stopped(check_stack):
    check = code_check(check_stack["outputs"], jobs=["orders"], deadline_seconds=0)
    started, stopped = [], []
    start_job_run = check.glue.start_job_run
    check.glue.start_job_run = lambda **kwargs: (run := start_job_run(**kwargs), started.append(run["JobRunId"]))[0]
    check.glue.get_job_run = lambda **kwargs: {"JobRun": {"Id": kwargs["RunId"], "JobRunState": "RUNNING"}}
    check.glue.batch_stop_job_run = lambda **kwargs: stopped.append(kwargs)
    with pytest.raises(HealthCheckFailed, match=r"Glue run still RUNNING after 0 s; the run was stopped"):
        check.execute()
    assert stopped == [{"JobName": check_stack["outputs"]["glue_jobs"]["orders"], "JobRunIds": started}]


@pytest.mark.tier("aws")
def test_a_full_check_stack_job_says_what_to_do(check_stack):
    check = code_check(check_stack["outputs"], jobs=["orders"])

    def busy(**_kwargs):
        raise check.glue.exceptions.ConcurrentRunsExceededException(
            {"Error": {"Code": "ConcurrentRunsExceededException", "Message": "busy"}}, "StartJobRun")

    check.glue.start_job_run = busy
    with pytest.raises(HealthCheckFailed, match="retry, or raise data-pipeline:glueMaxConcurrentRuns in "
                                                "automation/pr-base-profile.yaml"):
        check.execute()


def test_the_pr_workflow_passes_the_changes_and_delivery_keeps_the_check_stack_current():
    workflows = Path(ROOT / ".github" / "workflows")
    pull_request = yaml.safe_load((workflows / "pull-request.yml").read_text())["jobs"]["pr-stack"]
    checkout = pull_request["steps"][0]
    assert checkout["with"]["fetch-depth"] == 0
    (step,) = [s for s in pull_request["steps"] if "automation pr run" in s.get("run", "")]
    assert '--base "$BASE_SHA"' in step["run"]
    assert step["env"]["BASE_SHA"] == "${{ github.event.pull_request.base.sha }}"
    delivery = yaml.safe_load((workflows / "delivery.yml").read_text())["jobs"]["check-stack"]
    assert delivery["needs"] == ["test"] and delivery["concurrency"]["cancel-in-progress"] is False
    assert any(s.get("run", "").endswith("python -m automation pr update-base") for s in delivery["steps"])
