"""The pull-request workflow runs the test suite and previews every shipped stack with the policy pack."""

from __future__ import annotations

import yaml

from offline.stack_files import ROOT, SHIPPED_STACKS

WORKFLOW = ROOT / ".github" / "workflows" / "pull-request.yml"


def test_pull_requests_run_the_tests_then_preview_every_stack_with_the_policy_pack():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert "pull_request" in workflow[True]  # YAML reads the bare `on` key as True
    jobs = workflow["jobs"]
    assert any(step.get("run") == "make test" for step in jobs["test"]["steps"])
    preview = jobs["preview"]
    assert preview["needs"] == "test"
    assert preview["strategy"]["matrix"]["stack"] == list(SHIPPED_STACKS)
    script = "\n".join(step.get("run", "") for step in preview["steps"])
    assert "pulumi preview" in script and "--policy-pack policies" in script
    assert "--policy-pack-config" in script and "policies/config/${{ matrix.stack }}.json" in script
    assert "policies/requirements.txt" in script


def test_pr_stack_workflow_runs_the_loop_on_pull_requests_and_reaps_on_a_schedule():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "pr-stack.yml").read_text())
    triggers = workflow[True]
    assert "pull_request" in triggers and triggers["schedule"]
    check = "\n".join(step.get("run", "") for step in workflow["jobs"]["check"]["steps"])
    assert "python -m automation run" in check and "--report-md report.md" in check
    assert "gh pr comment" in check
    assert "cancel-in-progress" in workflow["jobs"]["check"]["concurrency"]
    reap = "\n".join(step.get("run", "") for step in workflow["jobs"]["reap"]["steps"])
    assert "python -m automation reap" in reap and "--execute" in reap and "--closed" in reap
