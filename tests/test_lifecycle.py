"""Fault handling of the PR lifecycle, with an injected stack: whatever fails, destroy and remove are attempted
and the exit code and report say what happened."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time

import pytest

from automation import exit_codes
from automation.health_check import HealthCheckFailed, HealthResult, JobResult
from automation.interrupts import Interrupts, interrupt_children
from automation.lifecycle import (
    EXIT_CHECK_FAILED,
    EXIT_DEPLOY_FAILED,
    EXIT_PASSED,
    EXIT_TEARDOWN_FAILED,
    Lifecycle,
)
from automation.progress import Progress
from automation.report import Report
from automation.stacks import EngineError

pytestmark = pytest.mark.tier("unit")


class FakeStack:
    """The lifecycle's narrow stack interface, recording calls; each step can be told to fail."""

    name = "pr-7"

    def __init__(self, *, deploy=None, destroy_failures=0, remove_failures=0):
        self.calls: list[str] = []
        self._deploy = deploy
        self._destroy_failures = destroy_failures
        self._remove_failures = remove_failures

    def deploy(self, on_output):
        self.calls.append("deploy")
        on_output("Updating (pr-7):")
        if self._deploy:
            self._deploy()

    def outputs(self):
        self.calls.append("outputs")
        return {"buckets": {}}

    def destroy(self, on_output):
        self.calls.append("destroy")
        if self._destroy_failures:
            self._destroy_failures -= 1
            raise EngineError("destroy of pr-7 failed:\nerror: throttled")

    def remove(self):
        self.calls.append("remove")
        if self._remove_failures:
            self._remove_failures -= 1
            raise EngineError("remove failed")


class FakeCheck:
    def __init__(self, *, execute=None, verify=None):
        self._execute, self._verify = execute, verify
        self.result = HealthResult(run_id="r1", jobs={"orders": JobResult(
            job="orders", outcome="passed", glue_run_id="jr_1", glue_run_state="SUCCEEDED", glue_execution_seconds=90,
            worker_type="G.1X", number_of_workers=2, execution_class="STANDARD")})

    def execute(self):
        if self._execute:
            self._execute()
        return self.result

    def verify(self, result):
        if self._verify:
            self._verify()
        return result


def lifecycle(stack, check=None, **options) -> Lifecycle:
    check = check or FakeCheck()
    return Lifecycle(stack=stack, health_check=lambda outputs: check,
                     report=Report(stack="pr-7", pr=7, commit="abc1234"),
                     progress=Progress(stream=io.StringIO(), live=False), sleep=lambda _s: None, **options)


def statuses(report: Report) -> dict[str, str]:
    return {name: phase.status for name, phase in report.phases.items()}


def test_success_runs_every_phase_and_tears_down():
    stack = FakeStack()
    report = lifecycle(stack).run()
    assert report.exit_code == EXIT_PASSED and report.outcome == "passed"
    assert stack.calls == ["deploy", "outputs", "destroy", "remove"]
    assert statuses(report) == {"deploy": "ok", "run": "ok", "check": "ok", "destroy": "ok", "remove": "ok"}
    assert report.health["jobs"]["orders"]["glue_run_id"] == "jr_1"


def test_failed_deploy_still_destroys_and_removes():
    def fail():
        raise EngineError("update of pr-7 failed:\nerror: AccessDenied creating bucket")

    stack = FakeStack(deploy=fail)
    report = lifecycle(stack).run()
    assert report.exit_code == EXIT_DEPLOY_FAILED and report.outcome == "failed"
    assert stack.calls == ["deploy", "destroy", "remove"]
    assert "AccessDenied creating bucket" in report.failure
    assert statuses(report)["run"] == "not run" and "pulumi stack history -s pr-7" in report.where_to_look


def test_failed_check_still_tears_down_and_says_where_to_look():
    def fail():
        raise HealthCheckFailed("data-quality checks failed: unique_key", "s3://curated/orders/_dq/run_id=jr_1")

    stack = FakeStack()
    report = lifecycle(stack, FakeCheck(verify=fail)).run()
    assert report.exit_code == EXIT_CHECK_FAILED
    assert stack.calls[-2:] == ["destroy", "remove"]
    assert report.where_to_look == "s3://curated/orders/_dq/run_id=jr_1"
    assert statuses(report)["check"] == "failed" and statuses(report)["destroy"] == "ok"


def test_outputs_the_health_check_cannot_use_fail_the_run_and_tear_down():
    """Missing outputs are found when the check is built: reported like a failed run, never a traceback."""
    from automation.health_check import HealthCheck

    stack = FakeStack()
    report = Lifecycle(stack=stack, health_check=HealthCheck, report=Report(stack="pr-7", pr=7, commit="abc1234"),
                       progress=Progress(stream=io.StringIO(), live=False), sleep=lambda _s: None).run()
    assert report.exit_code == EXIT_CHECK_FAILED and statuses(report)["run"] == "failed"
    assert "stack outputs lack pipeline_versions, glue_jobs; has buckets" in report.failure
    assert report.where_to_look == "the stack's exports (__main__.py)"
    assert stack.calls[-2:] == ["destroy", "remove"]


def test_deadline_passing_fails_the_run_and_tears_down():
    def late():
        raise HealthCheckFailed("pipeline still RUNNING after 1200 s; the execution was stopped", "execution arn:x",
                                HealthResult(jobs={"orders": JobResult("orders", execution_status="RUNNING")}))

    stack = FakeStack()
    report = lifecycle(stack, FakeCheck(execute=late)).run()
    assert report.exit_code == EXIT_CHECK_FAILED and "still RUNNING after 1200 s" in report.failure
    assert statuses(report)["run"] == "failed" and statuses(report)["check"] == "not run"
    assert stack.calls[-2:] == ["destroy", "remove"]
    assert report.health["jobs"]["orders"]["execution_status"] == "RUNNING"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_mid_deploy_is_passed_to_the_engine_then_tears_down(signum):
    cancelled = []

    def interrupted():
        os.kill(os.getpid(), signum)
        deadline = time.monotonic() + 5
        while not cancelled:  # the Pulumi CLI runs on until it gets the signal
            if time.monotonic() > deadline:
                pytest.fail("the signal was not passed to the engine")
            time.sleep(0.01)
        # It cancels gracefully: in-flight operations finish, state written, lock released.
        raise EngineError("update of pr-7 failed:\nerror: update canceled")

    stack = FakeStack(deploy=interrupted)
    handler_before = signal.getsignal(signum)
    report = lifecycle(stack, interrupts=Interrupts(forward=lambda: cancelled.append(True))).run()
    assert report.exit_code == exit_codes.INTERRUPTED and report.outcome == "interrupted"
    assert stack.calls == ["deploy", "destroy", "remove"]
    assert f"interrupted by {signal.Signals(signum).name} during deploy" in report.failure
    assert signal.getsignal(signum) == handler_before, "the lifecycle restores the caller's signal handler"


def test_signal_during_teardown_does_not_stop_it():
    class SignalledDuringDestroy(FakeStack):
        def destroy(self, on_output):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.1)
            super().destroy(on_output)

    stack = SignalledDuringDestroy()
    report = lifecycle(stack).run()
    assert stack.calls[-2:] == ["destroy", "remove"] and report.exit_code == EXIT_PASSED


def test_destroy_failing_once_is_retried():
    stack = FakeStack(destroy_failures=1)
    report = lifecycle(stack).run()
    assert stack.calls[-3:] == ["destroy", "destroy", "remove"]
    assert report.phases["destroy"].attempts == 2 and report.phases["destroy"].status == "ok"
    assert report.exit_code == EXIT_PASSED


def test_destroy_failing_for_good_leaves_the_stack_for_the_reaper():
    stack = FakeStack(destroy_failures=5)
    report = lifecycle(stack, destroy_attempts=3).run()
    assert stack.calls.count("destroy") == 3 and "remove" not in stack.calls
    assert report.exit_code == EXIT_TEARDOWN_FAILED
    assert "teardown failed: stack pr-7 is left for the reaper" in report.failure


def test_teardown_failure_outranks_a_check_failure():
    def fail():
        raise HealthCheckFailed("pipeline FAILED: Glue.JobRunFailed: boom", "execution arn:x")

    report = lifecycle(FakeStack(destroy_failures=5), FakeCheck(execute=fail), destroy_attempts=2).run()
    assert report.exit_code == EXIT_TEARDOWN_FAILED
    assert report.failure.startswith("run failed: pipeline FAILED: Glue.JobRunFailed: boom; teardown failed")


def test_progress_streams_engine_output_under_its_phase():
    stream = io.StringIO()
    check = FakeCheck()
    Lifecycle(stack=FakeStack(), health_check=lambda outputs: check, report=Report(stack="pr-7"),
              progress=Progress(stream=stream, live=False), sleep=lambda _s: None).run()
    text = stream.getvalue()
    assert "deploy: started" in text and "  deploy | Updating (pr-7):" in text
    assert "destroy: ok in" in text and "remove: ok in" in text


def test_the_signal_reaches_the_engine_process_a_runner_did_not_signal():
    engine = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.2)
        interrupt_children()
        assert engine.wait(timeout=10) != 0  # KeyboardInterrupt: SIGINT arrived
    finally:
        engine.kill()
