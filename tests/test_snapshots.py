"""Every stack's resource graph equals its snapshot in tests/snapshots/: a change to what the program registers
shows up here, resource by resource, and is accepted by `make snapshots` (then reviewed in the diff)."""

from __future__ import annotations

import json

import pytest

from harness.program import copy_program, run_program
from tests.conftest import PR_STACK
from tests.graph_snapshot import (
    SNAPSHOT_STACKS,
    UPDATE_COMMAND,
    differences,
    normalize,
    render,
    snapshot,
    snapshot_file,
)

pytestmark = pytest.mark.tier("program")


@pytest.mark.parametrize("stack", SNAPSHOT_STACKS)
def test_stack_graph_matches_its_snapshot(evaluations, stack, request):
    actual = snapshot(evaluations.pr_stack() if stack == PR_STACK else evaluations.stack(stack))
    path = snapshot_file(stack)
    if request.config.getoption("--update-snapshots"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(render(actual))
        return
    assert path.exists(), f"no snapshot {path.name} for stack {stack}: run `{UPDATE_COMMAND}`"
    expected = json.loads(path.read_text())
    diff = differences(expected, actual)
    if diff:
        pytest.fail(f"stack {stack}: the program registers something else than tests/snapshots/{path.name}; if "
                    f"intended, run `{UPDATE_COMMAND}` and review the diff:\n{diff}", pytrace=False)


@pytest.mark.slow
def test_an_artifact_content_change_does_not_change_the_snapshot(evaluations, tmp_path):
    program = copy_program(tmp_path)
    for source in (tmp_path / "functions" / "cleanup" / "handler.py", tmp_path / "jobs" / "orders" / "glue_main.py"):
        source.write_text(source.read_text() + "\n# an edit that changes the artifact's bytes\n")
    edited = run_program("dev", preview=False, program=program, strict=True)
    assert snapshot(edited, root=tmp_path) == snapshot(evaluations.stack("dev"))
    keys = {r.inputs["key"] for r in edited.of_type("aws:s3/bucketObjectv2:BucketObjectv2")}
    assert keys != {r.inputs["key"] for r in evaluations.stack("dev").of_type("aws:s3/bucketObjectv2:BucketObjectv2")}


@pytest.mark.tier("unit")
def test_a_difference_names_the_resource_and_shows_the_changed_input():
    base = {"stack": "dev", "exports": {}, "resources": {
        "aws:s3/bucket:Bucket::raw": {"inputs": {"forceDestroy": True}, "options": {}},
        "aws:sns/topic:Topic::alerts": {"inputs": {}, "options": {}}}}
    changed = json.loads(json.dumps(base))
    changed["resources"]["aws:s3/bucket:Bucket::raw"]["inputs"]["forceDestroy"] = False
    del changed["resources"]["aws:sns/topic:Topic::alerts"]
    changed["resources"]["aws:sqs/queue:Queue::dlq"] = {"inputs": {}, "options": {}}
    diff = differences(base, changed)
    assert "changed aws:s3/bucket:Bucket::raw\n" in diff
    assert '-    "forceDestroy": true\n' in diff and '+    "forceDestroy": false\n' in diff
    assert "removed aws:sns/topic:Topic::alerts\n" in diff and "added aws:sqs/queue:Queue::dlq\n" in diff
    assert differences(base, json.loads(json.dumps(base))) == ""


@pytest.mark.tier("unit")
def test_embedded_json_keeps_its_key_order_and_its_formatting():
    assert normalize({"policy": '{"b": 1, "a": 2}'}) == {"policy": {"<json>": {"b": 1, "a": 2}}}
    assert list(normalize({"policy": '{"b": 1, "a": 2}'})["policy"]["<json>"]) == ["b", "a"]
    assert normalize('{"b":1}') == '{"b":1}', "another formatting of the same document is a different string"
