"""The GitHub workflows: what they trigger on, what runs after what, with which permissions, environments and
concurrency; zizmor (offline) finds nothing and GitHub's workflow schema accepts them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bootstrap.documents import drift_environment
from bootstrap.variables import REPOSITORY_VARIABLES
from stack_files import ROOT, SHIPPED_STACKS

pytestmark = pytest.mark.tier("unit")

WORKFLOWS = ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def load(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    workflow["on"] = workflow.pop(True)  # YAML reads the bare `on` key as True
    return workflow


def all_workflows() -> dict[str, dict]:
    return {path.name: load(path.name) for path in sorted(WORKFLOWS.glob("*.yml"))}


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def test_zizmor_finds_nothing():
    done = subprocess.run([str(BIN / "zizmor"), "--offline", "--persona", "regular", "--format", "plain",
                           str(WORKFLOWS)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout + done.stderr


def test_github_workflow_schema_accepts_every_workflow():
    done = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                           *map(str, sorted(WORKFLOWS.glob("*.yml")))], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_hardening_every_action_pinned_least_permissions_no_expressions_in_shell():
    for name, workflow in all_workflows().items():
        assert workflow["permissions"] == {}, f"{name}: permissions are granted per job, none at workflow level"
        for job_name, job in workflow["jobs"].items():
            if "uses" not in job:  # reusable-workflow calls get their permissions from the caller's job
                assert "permissions" in job, f"{name}/{job_name} states its permissions"
            for step in steps(job):
                if "uses" in step:
                    line = next(line.strip().removeprefix("- ").removeprefix("uses: ")
                                for line in (WORKFLOWS / name).read_text().splitlines()
                                if f"uses: {step['uses']}" in line)
                    assert PINNED.match(line), f"{name}/{job_name}: {line} is not pinned to a commit with its version"
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False, f"{name}/{job_name}"
                assert "${{" not in step.get("run", ""), f"{name}/{job_name}: pass event data through env"


def test_pull_requests_test_then_preview_every_stack_and_run_the_pr_stack_then_comment_once():
    workflow = load("pull-request.yml")
    assert set(workflow["on"]) == {"pull_request"}
    jobs = workflow["jobs"]
    assert any(step.get("run") == "make test" for step in steps(jobs["test"]))
    assert jobs["preview"]["needs"] == jobs["pr-stack"]["needs"] == "test"
    assert jobs["preview"]["strategy"]["matrix"]["stack"] == list(SHIPPED_STACKS)
    assert jobs["preview"]["permissions"] == jobs["pr-stack"]["permissions"] == {"contents": "read",
                                                                                  "id-token": "write"}
    preview = "\n".join(step.get("run", "") for step in steps(jobs["preview"]))
    assert "pulumi preview" in preview and "--policy-pack policies" in preview and "--event-log" in preview
    assert "python -m automation run" in "\n".join(step.get("run", "") for step in steps(jobs["pr-stack"]))
    comment = jobs["comment"]
    assert set(comment["needs"]) == {"preview", "pr-stack"} and comment["if"].startswith("always()")
    assert comment["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert "python -m automation comment" in "\n".join(s.get("run", "") for s in steps(comment))
    # Forks get no OIDC token: only the tests run for them.
    for name in ("preview", "pr-stack", "comment"):
        assert "github.event.pull_request.head.repo.full_name == github.repository" in jobs[name]["if"]


def test_delivery_tests_once_then_releases_dev_qa_staging_prod_in_order():
    workflow = load("delivery.yml")
    assert workflow["on"] == {"push": {"branches": ["main"]}}
    jobs = workflow["jobs"]
    order, previous = [], "test"
    while True:
        following = [name for name, job in jobs.items() if job.get("needs") == previous]
        if not following:
            break
        (previous,) = following
        order.append(previous)
    assert order == list(SHIPPED_STACKS)
    for stack in SHIPPED_STACKS:
        job = jobs[stack]
        assert job["uses"] == "./.github/workflows/release-stack.yml"
        assert job["with"] == {"stack": stack, "role-to-assume": f"${{{{ vars.AWS_DEPLOY_ROLE_ARN_{stack.upper()} }}}}"}
        assert job["permissions"] == {"contents": "read", "id-token": "write"}


def test_a_release_runs_in_its_environment_queued_never_cancelled_with_its_report_in_the_summary():
    workflow = load("release-stack.yml")
    assert set(workflow["on"]["workflow_call"]["inputs"]) == {"stack", "role-to-assume"}
    (job,) = workflow["jobs"].values()
    assert job["environment"] == "${{ inputs.stack }}"
    assert job["concurrency"] == {"group": "release-${{ inputs.stack }}", "cancel-in-progress": False}
    scripts = "\n".join(step.get("run", "") for step in steps(job))
    assert 'python -m automation release --stack "$STACK"' in scripts and "GITHUB_STEP_SUMMARY" in scripts


def test_rollback_is_manual_per_stack_with_version_and_reason():
    workflow = load("rollback.yml")
    inputs = workflow["on"]["workflow_dispatch"]["inputs"]
    assert inputs["stack"]["options"] == list(SHIPPED_STACKS)
    assert inputs["reason"]["required"] and not inputs["version"]["required"]
    (job,) = workflow["jobs"].values()
    assert job["environment"] == "${{ inputs.stack }}" and job["concurrency"]["cancel-in-progress"] is False
    assert "python -m automation rollback" in "\n".join(step.get("run", "") for step in steps(job))


def test_drift_runs_nightly_on_staging_and_prod_and_keeps_an_issue():
    workflow = load("drift.yml")
    assert workflow["on"]["schedule"] and "workflow_dispatch" in workflow["on"]
    (job,) = workflow["jobs"].values()
    assert job["strategy"]["matrix"]["stack"] == ["staging", "prod"]
    # Its own environment: the account's variables and the read-only drift role, without prod's reviews.
    assert job["environment"] == "drift-${{ matrix.stack }}" == f"{drift_environment('${{ matrix.stack }}')}"
    assert "vars.AWS_DRIFT_ROLE_ARN" in yaml.safe_dump(job)
    assert job["permissions"] == {"contents": "read", "id-token": "write", "issues": "write"}
    script = "\n".join(step.get("run", "") for step in steps(job))
    assert "python -m automation drift " in script and "python -m automation drift-issue" in script


def test_workflows_read_exactly_the_variables_the_bootstrap_outputs():
    read = {name for path in WORKFLOWS.glob("*.yml") for name in re.findall(r"vars\.(\w+)", path.read_text())}
    assert read == set(REPOSITORY_VARIABLES)


def test_reaper_runs_daily_and_on_demand():
    workflow = load("pr-stack-reaper.yml")
    assert workflow["on"]["schedule"] and "workflow_dispatch" in workflow["on"]
    script = "\n".join(step.get("run", "") for step in steps(workflow["jobs"]["reap"]))
    assert "python -m automation reap" in script and "--execute" in script


@pytest.mark.parametrize("name", ["pull-request.yml", "release-stack.yml", "drift.yml", "pr-stack-reaper.yml"])
def test_the_pulumi_cli_comes_pinned_from_the_lockfile(name):
    scripts = "\n".join(step.get("run", "") for job in load(name)["jobs"].values() for step in steps(job))
    assert ("npm ci" in scripts or "make setup" in scripts) and "node_modules/.bin" in scripts
