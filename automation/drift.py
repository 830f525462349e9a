"""Drift: a read-only comparison of the stack's state with what is in AWS.

The engine's `refresh` in preview mode (`preview_refresh`, the Automation API's `pulumi refresh --preview-only`)
reads every resource and reports what changed, without writing the state. Its events name each drifted
resource and property; the version and description a rollback wrote to a `live` alias (a pipeline's or a
function's, with its pin: automation/release.py) are expected and reported apart.
Exit codes (automation/exit_codes.py): 0 no drift, 1 drift, 3 could not check.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from pulumi.automation import EngineEvent, OpType

from . import exit_codes

EXIT_CLEAN, EXIT_DRIFT, EXIT_UNCHECKED = exit_codes.OK, exit_codes.NOT_DONE, exit_codes.FAILED
# What a rollback moves outside the engine by design; the next `pulumi up` keeps it while the pin holds.
EXPECTED = {"aws-native:stepfunctions:StateMachineAlias": {"routingConfiguration", "description"},
            "aws:lambda/alias:Alias": {"functionVersion", "description", "routingConfig"}}
DRIFT_OPS = {OpType.UPDATE, OpType.DELETE, OpType.REPLACE, OpType.CREATE_REPLACEMENT, OpType.DELETE_REPLACED}


class RefreshingStack(Protocol):
    name: str

    def preview_refresh(self, on_event: Callable[[EngineEvent], None]) -> None: ...


@dataclass(frozen=True)
class DriftedResource:
    urn: str
    type: str
    change: str  # update | delete (gone from AWS)
    properties: tuple[str, ...]
    expected: bool

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]


@dataclass
class DriftReport:
    stack: str
    resources: list[DriftedResource] = field(default_factory=list)
    checked: bool = False
    error: str = ""

    @property
    def drifted(self) -> list[DriftedResource]:
        return [r for r in self.resources if not r.expected]

    @property
    def exit_code(self) -> int:
        if not self.checked:
            return EXIT_UNCHECKED
        return EXIT_DRIFT if self.drifted else EXIT_CLEAN

    def to_json(self) -> str:
        return json.dumps({"stack": self.stack, "checked": self.checked, "error": self.error,
                           "exit_code": self.exit_code, "drifted": [asdict(r) for r in self.drifted],
                           "expected": [asdict(r) for r in self.resources if r.expected]}, indent=2)

    def to_markdown(self) -> str:
        if not self.checked:
            return f"### ⚠️ Drift of `{self.stack}` could not be checked\n\n{self.error}\n"
        title = (f"### ❌ `{self.stack}` has drifted: {len(self.drifted)} resource(s)" if self.drifted
                 else f"### ✅ `{self.stack}` matches its state")
        lines = [title, ""]
        if self.resources:
            lines += ["| resource | type | change | properties | |", "| --- | --- | --- | --- | --- |"]
            lines += [f"| {r.name} | `{r.type}` | {r.change} | {', '.join(r.properties) or '—'} | "
                      f"{'expected (rollback)' if r.expected else '**drift**'} |" for r in self.resources]
        return "\n".join(lines) + "\n"


def _step(event: EngineEvent) -> Any:
    if event.resource_pre_event:
        return event.resource_pre_event.metadata
    if event.res_outputs_event:
        return event.res_outputs_event.metadata
    return None


def drift_from_events(stack: str, events: Iterable[EngineEvent]) -> DriftReport:
    """The drifted resources a refresh preview's events describe (each resource once)."""
    report, seen = DriftReport(stack=stack, checked=True), set()
    for event in events:
        step = _step(event)
        if step is None or step.urn in seen or step.type.startswith("pulumi:"):
            continue
        gone = step.op == OpType.DELETE or (step.op == OpType.REFRESH and step.new is None and step.old is not None)
        changed = sorted(set(step.diffs or []) | set((step.detailed_diff or {}).keys()))
        if not gone and not (step.op in DRIFT_OPS or (step.op == OpType.REFRESH and changed)):
            continue
        seen.add(step.urn)
        top_level = {path.split(".", 1)[0].split("[", 1)[0] for path in changed}
        expected = not gone and bool(top_level) and top_level <= EXPECTED.get(step.type, set())
        report.resources.append(DriftedResource(urn=step.urn, type=step.type, change="delete" if gone else "update",
                                                properties=tuple(changed), expected=expected))
    return report


def check_drift(stack: RefreshingStack) -> DriftReport:
    """Run the refresh preview and read its events; any failure to check is exit 2, never a guess."""
    events: list[EngineEvent] = []
    try:
        stack.preview_refresh(events.append)
    except Exception as error:  # backend, credentials, provider: say it, do not claim "no drift"
        text = str(error).strip().splitlines()
        return DriftReport(stack=stack.name, error="\n".join(text[-15:]) or type(error).__name__)
    return drift_from_events(stack.name, events)
