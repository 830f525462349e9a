"""The one PR comment, built offline from recorded `pulumi preview --event-log` output, and posted or edited in
place through an in-memory GitHub; the drift issue opened, updated and closed the same way."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from automation.cost_report import diff
from automation.drift_issue import LABEL, sync_issue, title
from automation.pr_comment import COST_DIFF, MARKER, comment_from_files, read_events, remediations, summarize, upsert

pytestmark = pytest.mark.tier("unit")

P = "urn:pulumi:{stack}::data-pipeline::"


def step(stack: str, op: str, type_: str, name: str) -> dict:
    urn = f"{P.format(stack=stack)}{type_}::{name}"
    return {"sequence": 1, "timestamp": 1, "resourcePreEvent": {"metadata": {
        "op": op, "urn": urn, "type": type_, "provider": "", "diffs": []}, "planning": True}}


def preview_log(stack: str, *, violation: bool, finished: bool = True) -> list[dict]:
    events = [{"sequence": 0, "timestamp": 0, "preludeEvent": {"config": {}}},
              step(stack, "same", "aws:kms/key:Key", "lake-key"),
              step(stack, "update", "aws:sfn/stateMachine:StateMachine", "orders-pipeline-state-machine"),
              step(stack, "create", "aws:s3/bucketObjectv2:BucketObjectv2", "orders-script"),
              # One replacement is three steps in the engine's stream: counted once.
              step(stack, "create-replacement", "aws:glue/job:Job", "orders-job"),
              step(stack, "replace", "aws:glue/job:Job", "orders-job"),
              step(stack, "delete-replaced", "aws:glue/job:Job", "orders-job"),
              step(stack, "delete", "aws:cloudwatch/logGroup:LogGroup", "old-logs")]
    if violation:
        events.append({"sequence": 8, "timestamp": 8, "policyEvent": {
            "resourceUrn": f"{P.format(stack=stack)}aws:s3/bucket:Bucket::lake-raw",
            "message": "[mandatory]  s3-bucket-sse-kms  (lake-raw: …)\nBucket lake-raw is not encrypted | with SSE-KMS",
            "color": "never", "policyName": "s3-bucket-sse-kms", "policyPackName": "data-pipeline-guardrails",
            "policyPackVersion": "0.0.1", "policyPackVersionTag": "0.0.1", "enforcementLevel": "mandatory"}})
    if finished:
        events.append({"sequence": 9, "timestamp": 9, "summaryEvent": {
            "maybeCorrupt": False, "durationSeconds": 12, "resourceChanges": {"same": 90, "update": 1},
            "policyPacks": {}}})
    return events


def write_logs(folder: Path, logs: dict[str, list[dict]]) -> None:
    for stack, events in logs.items():
        (folder / f"preview-{stack}.jsonl").write_text("\n".join(json.dumps(e) for e in events) + "\n{\"cut")


def test_counts_each_change_once_and_names_every_violation_with_its_remediation(tmp_path):
    write_logs(tmp_path, {"dev": preview_log("dev", violation=True)})
    preview = summarize("dev", read_events(tmp_path / "preview-dev.jsonl"), remediations())
    assert dict(preview.changes) == {"update": 1, "create": 1, "replace": 1, "delete": 1}
    (violation,) = preview.violations
    assert (violation.policy, violation.level, violation.resource) == ("s3-bucket-sse-kms", "mandatory", "lake-raw")
    assert violation.remediation == remediations()["s3-bucket-sse-kms"] and violation.remediation
    assert preview.blocked and preview.complete


def test_one_comment_holds_every_stack_and_the_pr_stack_report(tmp_path):
    write_logs(tmp_path, {"dev": preview_log("dev", violation=False), "qa": preview_log("qa", violation=True),
                          "staging": preview_log("staging", violation=False, finished=False)})
    report = tmp_path / "pr-stack-report.md"
    report.write_text("### ✅ Pipeline check of PR #42 (`pr-42`, abcdef0): passed\n")
    body = comment_from_files(tmp_path, ["dev", "qa", "staging", "prod"], report)
    assert body.startswith(MARKER)
    assert "| dev | 1 | 1 | 1 | 1 | 0 | ✅ |" in body
    assert "| qa | 1 | 1 | 1 | 1 | 1 | ❌ blocked |" in body
    assert "staging: the preview did not finish" in body
    assert "| prod | — | — | — | — | — | ⚠️ no preview" in body
    assert "`s3-bucket-sse-kms` | mandatory | `lake-raw` | [mandatory] s3-bucket-sse-kms" in body
    assert "not encrypted \\| with SSE-KMS" in body  # a table cell cannot break the table
    assert body.rstrip().endswith("Pipeline check of PR #42 (`pr-42`, abcdef0): passed")


def test_without_a_pr_stack_report_the_comment_says_so(tmp_path):
    body = comment_from_files(tmp_path, ["dev"], tmp_path / "missing.md")
    assert "_No report: the PR-stack job did not run or did not finish" in body
    assert "_No cost estimate: the cost step did not run or did not finish" in body


def estimate(stack: str, glue: float, logs: float = 2.0) -> dict:
    """An estimate as `python -m automation stack cost --json` writes it, reduced to what a diff reads."""
    return {"stack": stack, "total_usd": glue + logs, "large_increase": {"percent": 10.0, "usd": 20.0},
            "not_priced": {"aws:ec2/vpc:Vpc": 1} if stack == "staging" else {},
            "lines": [{"key": "glue-standard", "title": "Glue ETL jobs (STANDARD)", "usd": glue},
                      {"key": "logs-ingest", "title": "CloudWatch Logs ingestion", "usd": logs}]}


def test_the_cost_of_every_stack_before_and_after_comes_above_the_previews_and_a_large_increase_is_called_out(
        tmp_path):
    write_logs(tmp_path, {"dev": preview_log("dev", violation=False)})
    changes = [diff(estimate("dev", 8.0), estimate("dev", 8.0), "abc1234"),
               diff(None, estimate("staging", 40.0), "abc1234"),
               diff(estimate("prod", 98.0), estimate("prod", 128.0), "abc1234")]
    (tmp_path / COST_DIFF).write_text(json.dumps(changes))
    body = comment_from_files(tmp_path, ["dev"], None)
    assert body.index("### Monthly cost estimate") < body.index("### Preview of every stack")
    assert "| dev | $10.00 | $10.00 | +$0.00 | — |" in body
    assert ("| staging | new stack | $42.00 | +$42.00 | Glue ETL jobs (STANDARD) $0.00 → $40.00; "
            "CloudWatch Logs ingestion $0.00 → $2.00 |") in body
    # Only the lines that moved are named (prod's logs did not); only increases above the threshold are called out.
    assert "| prod | $100.00 | $130.00 | +$30.00 | Glue ETL jobs (STANDARD) $98.00 → $128.00 |" in body
    assert "> ⚠️ **prod: +$30.00 a month (+30.0%)**, above the threshold (10% and $20.00)" in body
    assert "> ⚠️ **staging: +$42.00 a month**" in body and "**dev:" not in body
    assert "Not priced (no price in the model yet): `aws:ec2/vpc:Vpc`" in body


class FakeGitHub:
    def __init__(self):
        self.comments = [{"id": 1, "body": "LGTM"}]
        self.issues: list[dict] = [{"number": 7, "title": "Drift in stack qa", "labels": [LABEL], "state": "open"}]
        self.calls: list[tuple[str, str]] = []

    def get(self, path):
        self.calls.append(("GET", path))
        if path.endswith("/comments"):
            return list(self.comments)
        return [i for i in self.issues if i["state"] == "open"]

    def post(self, path, body):
        self.calls.append(("POST", path))
        if path.endswith("/42/comments"):
            self.comments.append({"id": len(self.comments) + 1, **body})
        elif path.endswith("/issues"):
            self.issues.append({"number": 100 + len(self.issues), "state": "open", **body})
        return {}

    def patch(self, path, body):
        self.calls.append(("PATCH", path))
        number = int(path.rsplit("/", 1)[1])
        target = [c for c in self.comments if c["id"] == number] if "/comments/" in path else \
            [i for i in self.issues if i["number"] == number]
        target[0].update(body)
        return {}


def test_the_comment_is_created_once_then_edited_in_place():
    github = FakeGitHub()
    assert upsert(github, "acme/data-pipeline", 42, f"{MARKER}\nfirst") == "created"
    assert upsert(github, "acme/data-pipeline", 42, f"{MARKER}\nsecond") == "updated"
    assert [c["body"] for c in github.comments] == ["LGTM", f"{MARKER}\nsecond"]
    assert ("PATCH", "repos/acme/data-pipeline/issues/comments/2") in github.calls


def test_a_drifted_stack_gets_one_issue_that_closes_when_clean():
    github = FakeGitHub()
    assert sync_issue(github, "acme/dp", "prod", 1, "### ❌ drifted: orders-job") == "opened"
    assert sync_issue(github, "acme/dp", "prod", 1, "### ❌ drifted: orders-job, lake-raw") == "updated"
    (issue,) = [i for i in github.issues if i["title"] == title("prod")]
    assert issue["body"].startswith("### ❌ drifted: orders-job, lake-raw") and issue["labels"] == [LABEL]
    assert sync_issue(github, "acme/dp", "prod", 2, "could not check") == "unchanged"
    assert issue["state"] == "open"
    assert sync_issue(github, "acme/dp", "prod", 0, "clean") == "closed"
    assert issue["state"] == "closed"
    assert sync_issue(github, "acme/dp", "prod", 0, "clean") == "unchanged"
    # Another stack's issue is not touched.
    assert [i["state"] for i in github.issues if i["title"] == title("qa")] == ["open"]
