"""Canary for policies/guardrails/pulumi_internals.py, the one module that uses what the Pulumi SDKs do not publish.

Each test exercises one internal it wraps. When an SDK upgrade changes one, the failure names the internal, the
installed versions and the versions the module was written for, so the cause is clear before any other test's
traceback is read.
"""

from __future__ import annotations

import contextvars
import json
import re
import textwrap
from contextlib import contextmanager

import pulumi
import pytest

from harness.program import run_program
from policies.guardrails import pulumi_internals
from policies.guardrails.pulumi_internals import (
    WRITTEN_FOR,
    UnknownValueError,
    deferred_read,
    engine_config,
    policy_props,
)
from stack_files import ROOT

pytestmark = pytest.mark.tier("program")

PROGRAM = """
    import pulumi
    import pulumi_aws as aws

    class Box(pulumi.ComponentResource):
        def __init__(self, name, opts=None):
            super().__init__("test:index:Box", name, None, opts)
            self.topic = aws.sns.Topic(f"{name}-topic", name=f"{name}-topic", opts=pulumi.ResourceOptions(
                parent=self, protect=True, retain_on_delete=True, ignore_changes=["tags"]))
            self.register_outputs({})

    box = Box("box")
    # An Output made inside an apply, after the program body returned: the harness waits for it too.
    nested = box.topic.arn.apply(lambda arn: pulumi.Output.from_input(arn).apply(lambda inner: inner + "/deep"))
    queue = aws.sqs.Queue("queue", name="queue", policy=box.topic.arn,
                          opts=pulumi.ResourceOptions(depends_on=[box]))
    pulumi.export("nested", nested)
"""


@contextmanager
def internal(what: str):
    """Fail with what changed and the SDK versions, whatever the failure (an import, an attribute, a value)."""
    try:
        yield
        return
    except Exception as error:  # any change to an internal is reported the same way
        failure = f"{type(error).__name__}: {error}"
    pytest.fail(f"Pulumi SDK internal changed: {what}\n  {failure}\n  {pulumi_internals.sdk_versions()}\n  "
                "Adapt that module (the only one that uses SDK internals) and record the new versions in its "
                "WRITTEN_FOR.", pytrace=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("canary")
    (folder / "__main__.py").write_text(textwrap.dedent(PROGRAM))
    with internal("running a program under mocks (pulumi.runtime.test, the recording monitor, settle_outputs)"):
        return {mode: run_program("dev", {}, preview=mode == "preview", program=folder / "__main__.py", strict=True)
                for mode in ("update", "preview")}


def test_the_recording_monitor_keeps_each_request_and_registration(runs):
    with internal("MockMonitor subclass: RegisterResource(request) and MockMonitor.resources"):
        run = runs["update"]
        topic = run.one("aws:sns/topic:Topic", "box-topic")
        assert topic.protect and topic.retain_on_delete and topic.ignore_changes == ("tags",)
        assert topic.options["parent"].endswith("test:index:Box::box")
        assert topic.outputs["arn"] == "arn:aws:sns:eu-west-1:123456789012:box-topic" and topic.id
        queue = run.one("aws:sqs/queue:Queue", "queue")
        assert topic.urn in queue.dependencies and topic.urn in queue.property_dependencies["policy"]
        assert queue.engine_props["policy"] == topic.outputs["arn"]
        assert "sourcePosition" not in queue.options and "object" not in queue.options


class Registering:
    """The stack the SDK traces from: Resource, CustomResource and the resource class's constructors, then the
    program's frames (the SDK skips three `__init__` frames)."""

    def __init__(self, constructors: int = 3):
        from pulumi.runtime import resource

        self.trace = Registering(constructors - 1).trace if constructors > 1 else resource._get_stack_trace()


def test_registrations_skip_the_stack_trace_only_while_the_harness_asks():
    with internal("pulumi.runtime.resource._get_stack_trace, _get_source_position, source_pb2.StackTrace"):
        from pulumi.runtime import resource

        assert resource._get_source_position(Registering().trace), "the SDK traces the stack of a registration"
        with pulumi_internals.without_stack_traces():
            assert not Registering().trace.frames and resource._get_source_position(Registering().trace) is None
        assert resource._get_source_position(Registering().trace), "and does again afterwards"


def test_outputs_made_inside_applies_are_settled_and_the_root_stack_outputs_read(runs):
    with internal("SETTINGS.outputs / SETTINGS.lock, _sync_await, and the root stack's `outputs`"):
        assert runs["update"].exports == {"nested": "arn:aws:sns:eu-west-1:123456789012:box-topic/deep"}


def test_policies_see_props_as_the_analyzer_hands_them(runs):
    with internal("pulumi_policy.deserialize.deserialize_properties and pulumi_policy.proxy"):
        queue = runs["preview"].one("aws:sqs/queue:Queue", "queue")
        props = policy_props(queue.engine_props)
        assert props["name"] == "queue"
        with pytest.raises(UnknownValueError) as unknown:
            props["policy"]
        assert ".policy" in deferred_read(unknown.value) and "preview" in deferred_read(unknown.value)
        assert list(policy_props({"a": {"b": [1, "x"]}})["a"]["b"]) == [1, "x"]


@pytest.mark.tier("unit")
def test_the_program_reads_every_key_of_a_namespace_from_both_places_the_sdk_keeps_config(monkeypatch):
    """A CLI run's config comes in the engine's PULUMI_CONFIG, a mocked or inline program's from set_all_config; the
    program needs every key (an unknown one is reported), which `pulumi.Config` cannot list."""
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"proj:fromEngine": "1", "other:owner": "x"}))

    def read() -> dict:
        pulumi.runtime.set_all_config({"proj:owner": "team", "proj:glueJobs": '{"orders": {}}', "aws:region": "r"})
        return engine_config()

    with internal("pulumi.runtime.config: get_config_env() (PULUMI_CONFIG) and the CONFIG store set_all_config fills"):
        # In a context of its own, so the config set here does not outlive the test.
        assert contextvars.copy_context().run(read) == {
            "proj:fromEngine": "1", "other:owner": "x", "proj:owner": "team", "proj:glueJobs": '{"orders": {}}',
            "aws:region": "r"}


@pytest.mark.tier("unit")
def test_the_pinned_sdks_are_the_ones_the_module_was_checked_against():
    pins = {}
    for requirements in ("requirements.txt", "requirements-dev.txt", "policies/requirements.txt"):
        for name, version in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (ROOT / requirements).read_text(), re.M):
            pins[name.lower().replace("_", "-")] = version
    assert {name: pins[name] for name in WRITTEN_FOR} == WRITTEN_FOR, (
        "a Pulumi SDK pin moved: run this canary on the new version, adapt policies/guardrails/pulumi_internals.py "
        "if it fails, then record the pinned versions in its WRITTEN_FOR")


@pytest.mark.tier("unit")
def test_a_changed_internal_is_reported_with_the_sdk_versions():
    with pytest.raises(pytest.fail.Exception) as failed, internal("some internal"):
        raise AttributeError("module 'pulumi.runtime.settings' has no attribute 'SETTINGS'")
    message = str(failed.value)
    assert "Pulumi SDK internal changed: some internal" in message and "has no attribute 'SETTINGS'" in message
    assert f"pulumi {WRITTEN_FOR['pulumi']}" in message and f"pulumi-policy {WRITTEN_FOR['pulumi-policy']}" in message
