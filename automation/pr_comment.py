"""One pull request comment for everything a PR's checks found, edited in place on every push.

Each stack's monthly cost estimate before and after the change comes first (`python -m automation stack cost --all
--base <base> --output cost-diff.json`, in the same folder as the event logs). Each stack's `pulumi preview --event-log
preview-<stack>.jsonl` (the engine's machine-readable events, the same stream the Automation API reads) gives the
resource changes and every policy violation; the remediation comes from the policy pack itself. The PR stack's
report (Markdown from `python -m automation pr run`) follows.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pulumi.automation import EngineEvent, OpType

from .github import GitHub

MARKER = "<!-- data-pipeline:pr-report -->"
# What `python -m automation stack cost --all --base REF --output FILE` writes into the folder of the event logs.
COST_DIFF = "cost-diff.json"
SHOWN_OPS = ("create", "update", "replace", "delete")
# The engine reports a replacement as several steps; count it once, as `replace`.
OP_KIND = {OpType.CREATE: "create", OpType.UPDATE: "update", OpType.DELETE: "delete", OpType.REPLACE: "replace",
           OpType.CREATE_REPLACEMENT: "replace"}


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    resource: str
    message: str
    remediation: str


@dataclass
class StackPreview:
    stack: str
    changes: Counter = field(default_factory=Counter)
    violations: list[Violation] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    complete: bool = False

    @property
    def blocked(self) -> bool:
        return any(v.level == "mandatory" for v in self.violations) or bool(self.errors) or not self.complete


def remediations() -> dict[str, str]:
    """Policy name -> how to fix a violation, from the pack's own policies."""
    from policies.guardrails import ALL_POLICIES

    return {policy.name: policy.remediation_steps or "" for policy in ALL_POLICIES}


def read_events(path: Path) -> list[EngineEvent]:
    """An `--event-log` file: one engine event as JSON per line (a cut-off last line is ignored)."""
    events = []
    for line in path.read_text().splitlines():
        try:
            events.append(EngineEvent.from_json(json.loads(line)))
        except (json.JSONDecodeError, ValueError):
            continue
    return events


def summarize(stack: str, events: Iterable[EngineEvent], fixes: dict[str, str]) -> StackPreview:
    preview, counted = StackPreview(stack=stack), set()
    for event in events:
        if event.resource_pre_event:
            step = event.resource_pre_event.metadata
            kind = OP_KIND.get(step.op)
            if kind and (step.urn, kind) not in counted and not step.type.startswith("pulumi:"):
                counted.add((step.urn, kind))
                preview.changes[kind] += 1
        elif event.policy_event:
            policy = event.policy_event
            preview.violations.append(Violation(
                policy=policy.policy_name, level=policy.enforcement_level,
                resource=(policy.resource_urn or "stack").rsplit("::", 1)[-1],
                message=" ".join(policy.message.split()), remediation=fixes.get(policy.policy_name, "")))
        elif event.diagnostic_event and event.diagnostic_event.severity == "error":
            preview.errors.append(" ".join(event.diagnostic_event.message.split()))
        elif event.summary_event:
            preview.complete = True
    return preview


def _dollars(value: float, sign: bool = False) -> str:
    text = f"${abs(value):,.2f}"
    return (("+" if value >= 0 else "-") + text) if sign else text


def cost_section(changes: list[dict] | None) -> list[str]:
    """Per stack: the monthly estimate at the base and with the change, the lines that moved; a large increase
    (the threshold in automation/cost-assumptions.yaml) called out above the table."""
    lines = ["### Monthly cost estimate (list prices, no free tier)", ""]
    if changes is None:
        return lines + ["_No cost estimate: the cost step did not run or did not finish; see its log._"]
    for change in changes:
        if change["large_increase"]:
            percent = "" if change["change_percent"] is None else f" ({change['change_percent']:+.1f}%)"
            lines.append(f"> ⚠️ **{change['stack']}: {_dollars(change['change_usd'], sign=True)} a month{percent}**, "
                         f"above the threshold ({change['threshold']['percent']:g}% and "
                         f"{_dollars(change['threshold']['usd'])})")
    lines += ([""] if lines[-1] else []) + ["| stack | base | this change | difference | lines that moved |",
                                            "| --- | ---: | ---: | ---: | --- |"]
    for change in changes:
        moved = "; ".join(f"{m['title']} {_dollars(m['before_usd'])} → {_dollars(m['after_usd'])}"
                          for m in change["moved"]) or "—"
        base = "new stack" if change["new_stack"] else _dollars(change["before_usd"])
        lines.append(f"| {change['stack']} | {base} | {_dollars(change['after_usd'])} | "
                     f"{_dollars(change['change_usd'], sign=True)} | {_cell(moved)} |")
    unpriced = sorted({t for change in changes for t in change["not_priced"]})
    if unpriced:
        lines += ["", "Not priced (no price in the model yet): " + ", ".join(f"`{t}`" for t in unpriced)]
    return lines


def build_comment(previews: list[StackPreview], missing: Iterable[str] = (), pr_stack_report: str = "",
                  costs: list[dict] | None = None) -> str:
    lines = [MARKER, "## data-pipeline checks", "", *cost_section(costs), "",
             "### Preview of every stack (with the policy pack)", "",
             "| stack | create | update | replace | delete | policy violations | |",
             "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for p in previews:
        state = "❌ blocked" if p.blocked else ("⚠️ advisory" if p.violations else "✅")
        lines.append(f"| {p.stack} | " + " | ".join(str(p.changes.get(op, 0)) for op in SHOWN_OPS)
                     + f" | {len(p.violations)} | {state} |")
    lines += [f"| {stack} | — | — | — | — | — | ⚠️ no preview (the job failed before the engine ran) |"
              for stack in missing]
    for p in previews:
        if p.errors:
            lines += ["", f"**{p.stack}: preview failed**"] + [f"- `{e[:300]}`" for e in p.errors[:5]]
        elif not p.complete:
            lines += ["", f"**{p.stack}: the preview did not finish** (no summary in its event log)"]
        if p.violations:
            lines += ["", f"<details><summary>{p.stack}: {len(p.violations)} policy violation(s)</summary>", "",
                      "| policy | level | resource | message | how to fix |", "| --- | --- | --- | --- | --- |"]
            lines += [f"| `{v.policy}` | {v.level} | `{v.resource}` | {_cell(v.message)} | {_cell(v.remediation)} |"
                      for v in p.violations]
            lines += ["", "</details>"]
    lines += ["", "### Pipeline check on the PR stack", "", pr_stack_report.strip() or "_No report: the PR-stack job "
              "did not run or did not finish; see its log._"]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:400]


def upsert(github: GitHub, repo: str, pr: int, body: str) -> str:
    """Edit this tool's comment on the PR, or create it: one comment, however many pushes. Returns 'updated' or
    'created'."""
    for comment in github.get(f"repos/{repo}/issues/{pr}/comments"):
        if MARKER in (comment.get("body") or ""):
            github.patch(f"repos/{repo}/issues/comments/{comment['id']}", {"body": body})
            return "updated"
    github.post(f"repos/{repo}/issues/{pr}/comments", {"body": body})
    return "created"


def comment_from_files(folder: Path, stacks: Iterable[str], pr_stack_report: Path | None) -> str:
    fixes, previews, missing = remediations(), [], []
    for stack in stacks:
        log = folder / f"preview-{stack}.jsonl"
        if log.is_file():
            previews.append(summarize(stack, read_events(log), fixes))
        else:
            missing.append(stack)
    report = pr_stack_report.read_text() if pr_stack_report and pr_stack_report.is_file() else ""
    costs = folder / COST_DIFF
    return build_comment(previews, missing, report, json.loads(costs.read_text()) if costs.is_file() else None)
