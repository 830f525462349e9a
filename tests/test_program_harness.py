"""The mock harness itself: it must settle every Output and surface every error, as the engine would."""

from __future__ import annotations

import asyncio
import gc
import logging
import textwrap
import weakref
from dataclasses import replace

import pulumi
import pytest

from harness.program import ProgramRun, Resource, ignore_failed_outputs, run_program

pytestmark = pytest.mark.tier("program")


def program_file(tmp_path, source: str):
    path = tmp_path / "__main__.py"
    path.write_text(textwrap.dedent(source))
    return path


def test_outputs_created_inside_applies_are_settled_and_exported(tmp_path):
    program = program_file(tmp_path, """
        import pulumi
        import pulumi_aws as aws

        topic = aws.sns.Topic("alerts", name="alerts")
        # Each apply creates a new Output after the program body returned: the harness must wait for those too.
        nested = topic.arn.apply(lambda arn: pulumi.Output.from_input(arn).apply(
            lambda inner: pulumi.Output.concat(inner, "/", pulumi.Output.from_input("deep").apply(str.upper))))
        aws.sqs.Queue("queue", name="queue", policy=pulumi.Output.json_dumps({"Resource": nested}))
        pulumi.export("nested", nested)
    """)
    run = run_program("dev", {}, program=program)
    assert run.exports["nested"] == "arn:aws:sns:eu-west-1:123456789012:alerts/DEEP"
    assert run.one("aws:sqs/queue:Queue", "queue").inputs["policy"] == (
        '{"Resource": "arn:aws:sns:eu-west-1:123456789012:alerts/DEEP"}')


@pytest.mark.parametrize("use", [
    'aws.sqs.Queue("queue", name="queue", policy=topic.arn.apply(refuse))',
    "topic.arn.apply(refuse)  # an Output nothing reads still has to succeed",
])
def test_an_error_inside_an_apply_fails_the_run(tmp_path, use):
    program = program_file(tmp_path, textwrap.dedent("""
        import pulumi
        import pulumi_aws as aws

        def refuse(arn):
            raise ValueError(f"refusing {arn}")

        topic = aws.sns.Topic("alerts", name="alerts")
    """) + use + "\n")
    with pytest.raises(ValueError, match="refusing arn:aws:sns:eu-west-1:123456789012:alerts"):
        run_program("dev", {}, program=program)



def test_each_run_exports_only_its_own_outputs(tmp_path):
    programs = {}
    for name, value in (("first", 1), ("second", 2)):
        (tmp_path / name).mkdir()
        programs[name] = program_file(tmp_path / name, f'import pulumi\npulumi.export("{name}", {value})\n')
    assert run_program("dev", {}, program=programs["first"]).exports == {"first": 1}
    # The mocks keep the root stack between runs: its exports must not leak into the next program's.
    assert run_program("dev", {}, program=programs["second"]).exports == {"second": 2}


@pytest.mark.tier("unit")
def test_of_type_finding_nothing_is_an_error_unless_allowed():
    """A check over every resource of a type cannot pass on none (a renamed type token, a feature switched off)."""
    topic = Resource(type="aws:sns/topic:Topic", name="alerts", urn="urn:pulumi:dev::p::aws:sns/topic:Topic::alerts",
                     id="alerts", inputs={}, outputs={})
    run = ProgramRun(stack="dev", resources=[topic], strict=True)
    assert run.of_type("aws:sns/topic:Topic") == [topic]
    with pytest.raises(LookupError, match=r"^stack 'dev' registered no aws:sqs/queue:Queue \(allow_empty=True"):
        run.of_type("aws:sqs/queue:Queue")
    assert run.of_type("aws:sqs/queue:Queue", allow_empty=True) == []
    # The cost model reads any stack: dev has no trail.
    assert replace(run, strict=False).of_type("aws:sqs/queue:Queue") == []


def test_the_tests_runs_are_strict(evaluations, tmp_path):
    assert evaluations.stack("dev").strict and evaluations.pr_stack().strict
    assert not run_program("dev", {}, program=program_file(tmp_path, "import pulumi\n")).strict


def test_failed_outputs_left_by_a_failed_run_are_not_logged_by_whichever_thread_collects_them(tmp_path, caplog):
    """The Outputs that waited on a failed step keep futures holding its error; asyncio would log each, with its
    traceback, from whatever thread collects it (not thread-safe on CPython 3.11.7). The run's error is enough:
    run_program puts a handler on the loop it runs programs on that drops those, and only those (whatever the
    program: an empty one sets it as well as the stack would)."""
    loop = asyncio.get_event_loop_policy().get_event_loop()
    # Another handler first (one that drops what earlier tests' runs leave for the collector): run_program must
    # put its own in place.
    loop.set_exception_handler(lambda _loop, _context: None)
    run_program("dev", {}, program=program_file(tmp_path, "import pulumi\n"))
    assert loop.get_exception_handler() is ignore_failed_outputs
    failed = loop.create_future()
    failed.set_exception(pulumi.RunError("reading alias live failed"))
    collected = weakref.ref(failed)
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        del failed
        gc.collect(0)  # in case a cycle holds it: just made, it is in the youngest generation (a full pass
        # walks every evaluation the session keeps, ~0.3 s)
        assert collected() is None, "the failed future was not collected: its error never reached the handler"
        loop.call_exception_handler({"message": "something else went wrong"})
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == ["something else went wrong"]
