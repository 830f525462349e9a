"""deploy -> run -> check -> destroy -> remove, where destroy and remove always happen; or, on a stack that outlives
the check (the fast path's check stack), run -> check alone.

Teardown runs in a `finally`, also after SIGINT/SIGTERM (a cancelled CI job), retries transient failures,
and ignores further signals while it works. Exit codes: 0 passed, 1 the pipeline or its output failed,
2 the deploy failed, 3 teardown failed (the stack is left for the reaper), 128+N interrupted by signal N.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .health_check import HealthCheckFailed, HealthResult
from .phases import Interrupted, PhaseFailed, run_phase
from .progress import Progress
from .report import Report
from .stacks import PrStack

EXIT_PASSED, EXIT_CHECK_FAILED, EXIT_DEPLOY_FAILED, EXIT_TEARDOWN_FAILED = 0, 1, 2, 3
HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def signals(handler: Callable[[int, Any], None]) -> Iterator[None]:
    previous = {s: signal.signal(s, handler) for s in HANDLED_SIGNALS}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def _raise_interrupted(signum: int, _frame) -> None:
    raise Interrupted(signum)


@dataclass
class Lifecycle:
    stack: PrStack
    # outputs -> an object with execute() -> HealthResult and verify(HealthResult) -> HealthResult
    health_check: Callable[[dict[str, Any]], Any]
    report: Report
    progress: Progress
    # False for a stack that outlives the check (the fast path's pr-base): neither deployed nor torn down.
    ephemeral: bool = True
    destroy_attempts: int = 3
    retry_delay_seconds: float = 15.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def _phase(self, name: str, action: Callable[[], Any]) -> Any:
        return run_phase(self.report.phases[name], action, self.progress, self.clock)

    def run(self) -> Report:
        """The full PR check; never returns without having attempted destroy and remove."""
        report = self.report
        deploying = False
        try:
            with signals(_raise_interrupted):
                if self.ephemeral:
                    deploying = True
                    self._phase("deploy", lambda: self.stack.deploy(self.progress.engine))
                    deploying = False
                else:
                    for name in ("deploy", "destroy", "remove"):
                        report.phases[name].status = "skipped"
                checker, result = self._phase("run", self._run_pipelines)
                report.health = result.to_dict()
                self._phase("check", lambda: checker.verify(result))
                report.health = result.to_dict()
                report.outcome, report.exit_code = "passed", EXIT_PASSED
        except Interrupted as interrupted:
            report.outcome, report.exit_code = "interrupted", 128 + interrupted.signum
            report.failure = f"interrupted by {interrupted} during {self._running_phase()}"
            if deploying:
                self.stack.cancel()  # release the engine's lock before destroying
        except PhaseFailed as failed:
            report.outcome = "failed"
            report.exit_code = EXIT_DEPLOY_FAILED if failed.phase == "deploy" else EXIT_CHECK_FAILED
            report.failure = str(failed)
            if isinstance(failed.error, HealthCheckFailed):
                report.where_to_look = failed.error.where
                if failed.error.result is not None:
                    report.health = failed.error.result.to_dict()
            elif failed.phase == "deploy":
                report.where_to_look = f"the deploy log above, or `pulumi stack history -s {self.stack.name}`"
        finally:
            if self.ephemeral:
                with signals(self._ignore_during_teardown):
                    self._teardown()
        return report

    def _run_pipelines(self) -> tuple[Any, HealthResult]:
        """The stack's outputs -> its health check -> every job's pipeline run (outputs the check cannot use fail
        the run phase like a failed pipeline does)."""
        checker = self.health_check(self.stack.outputs())
        return checker, checker.execute()

    def _running_phase(self) -> str:
        running = [p.name for p in self.report.phases.values() if p.status == "interrupted"]
        return running[0] if running else "start-up"

    def _ignore_during_teardown(self, signum: int, _frame) -> None:
        self.progress.engine(f"{signal.Signals(signum).name} received: finishing teardown first")

    def _teardown(self) -> None:
        destroyed = self._with_retries("destroy", lambda: self.stack.destroy(self.progress.engine))
        if destroyed:
            destroyed = self._with_retries("remove", self.stack.remove)
        if not destroyed:
            self.report.exit_code = EXIT_TEARDOWN_FAILED
            self.report.outcome = "failed"
            self.report.failure = (self.report.failure + "; " if self.report.failure else "") + (
                f"teardown failed: stack {self.stack.name} is left for the reaper (python -m automation reap)")

    def _with_retries(self, name: str, action: Callable[[], None]) -> bool:
        for attempt in range(1, self.destroy_attempts + 1):
            try:
                self._phase(name, action)
                return True
            except PhaseFailed:
                if attempt < self.destroy_attempts:
                    self.sleep(self.retry_delay_seconds * attempt)
        return False
