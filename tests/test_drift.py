"""Drift read from the engine's events of a refresh preview (recorded as the engine writes them, parsed by the
Automation API's own EngineEvent), and the guarantee that checking never writes the state."""

from __future__ import annotations

import json

import pytest
from pulumi.automation import EngineEvent

from automation.drift import EXIT_CLEAN, EXIT_DRIFT, EXIT_UNCHECKED, check_drift, drift_from_events
from automation.stacks import AutomationStack

pytestmark = pytest.mark.tier("unit")

STACK = "urn:pulumi:prod::data-pipeline::"
JOB = f"{STACK}data-pipeline:glue:GlueJob$aws:glue/job:Job::orders-job"
ALIAS = f"{STACK}data-pipeline:orchestration:Pipeline$aws-native:stepfunctions:StateMachineAlias::orders-pipeline-live"
LOGS = f"{STACK}data-pipeline:glue:GlueJob$aws:cloudwatch/logGroup:LogGroup::orders-output-logs"
BUCKET = f"{STACK}data-pipeline:storage:SecureBucket$aws:s3/bucket:Bucket::lake-raw"


def step(kind: str, op: str, urn: str, diffs=(), detailed=None, old=True, new=True) -> dict:
    type_ = urn.split("::")[2].rsplit("$", 1)[-1]
    state = {"type": type_, "urn": urn, "id": urn.rsplit("::", 1)[1], "custom": True}
    return {"sequence": 1, "timestamp": 1, kind: {"metadata": {
        "op": op, "urn": urn, "type": type_, "provider": "", "diffs": list(diffs),
        "detailedDiff": detailed or {}, **({"old": state} if old else {}), **({"new": state} if new else {})}}}


RECORDED = [
    {"sequence": 0, "timestamp": 0, "preludeEvent": {"config": {}}},
    step("resourcePreEvent", "refresh", BUCKET),  # read, unchanged
    step("resOutputsEvent", "same", BUCKET),
    # Someone resized the Glue job in the console.
    step("resourcePreEvent", "update", JOB, diffs=["numberOfWorkers"],
         detailed={"numberOfWorkers": {"diffKind": "update", "inputDiff": False}}),
    step("resOutputsEvent", "update", JOB, diffs=["numberOfWorkers"]),
    # A rollback moved the live alias and pinned it: by design, not drift.
    step("resourcePreEvent", "refresh", ALIAS, diffs=["routingConfiguration", "description"],
         detailed={"routingConfiguration[0].stateMachineVersionArn": {"diffKind": "update"}}),
    # A log group deleted by hand: the refresh reads nothing.
    step("resourcePreEvent", "refresh", LOGS, new=False),
    {"sequence": 9, "timestamp": 9, "summaryEvent": {"maybeCorrupt": False, "durationSeconds": 4,
                                                     "resourceChanges": {"same": 40, "update": 2, "delete": 1},
                                                     "policyPacks": {}}},
]


def events() -> list[EngineEvent]:
    return [EngineEvent.from_json(json.loads(json.dumps(e))) for e in RECORDED]


def test_each_drifted_resource_and_property_is_named_and_alias_routing_is_expected():
    report = drift_from_events("prod", events())
    by_name = {r.name: r for r in report.resources}
    assert set(by_name) == {"orders-job", "orders-pipeline-live", "orders-output-logs"}
    assert (by_name["orders-job"].change, by_name["orders-job"].properties) == ("update", ("numberOfWorkers",))
    assert by_name["orders-output-logs"].change == "delete"
    assert by_name["orders-pipeline-live"].expected
    assert [r.name for r in report.drifted] == ["orders-job", "orders-output-logs"]
    assert report.exit_code == EXIT_DRIFT
    markdown = report.to_markdown()
    assert "has drifted: 2 resource(s)" in markdown and "expected (rollback)" in markdown
    assert json.loads(report.to_json())["drifted"][0]["properties"] == ["numberOfWorkers"]


def test_only_a_rollbacks_alias_move_is_no_drift():
    report = drift_from_events("prod", [e for e in events()
                                        if not (e.resource_pre_event or e.res_outputs_event)
                                        or (e.resource_pre_event or e.res_outputs_event).metadata.urn in (ALIAS,
                                                                                                         BUCKET)])
    assert report.exit_code == EXIT_CLEAN and report.resources[0].expected


def test_an_alias_changed_beyond_routing_is_drift():
    changed = step("resourcePreEvent", "refresh", ALIAS, diffs=["name"])
    report = drift_from_events("prod", [EngineEvent.from_json(changed)])
    assert report.exit_code == EXIT_DRIFT


def test_a_check_that_cannot_run_is_not_called_clean():
    class Unreachable:
        name = "prod"

        def preview_refresh(self, on_event):
            raise RuntimeError("error: failed to load checkpoint: NoCredentialProviders")

    report = check_drift(Unreachable())
    assert report.exit_code == EXIT_UNCHECKED and "NoCredentialProviders" in report.error
    assert "could not be checked" in report.to_markdown()


def test_the_engine_is_asked_for_a_refresh_preview_only():
    """The Automation API call behind `drift`: `preview_refresh` (pulumi refresh --preview-only), never a
    refresh or an update, which would write the state."""
    calls = []

    class RecordingStack:
        def __getattr__(self, name):
            return lambda **kwargs: calls.append((name, kwargs))

    stack = object.__new__(AutomationStack)
    stack.name, stack._stack, stack._auto = "prod", RecordingStack(), __import__("pulumi").automation
    stack._concurrent_wait, stack._sleep = 0, lambda _s: None
    report = check_drift(stack)
    assert [name for name, _ in calls] == ["preview_refresh"]
    assert "expect_no_changes" not in calls[0][1] and report.exit_code == EXIT_CLEAN
