"""deploy -> run -> check -> destroy -> remove, where destroy and remove always happen; or, on a stack that outlives
the check (the fast path's check stack), run -> check alone.

Teardown runs in a `finally`, also after SIGINT/SIGTERM (a cancelled CI job), retries transient failures,
and ignores further signals while it works. A signal during the deploy is passed on to the Pulumi CLI, which
cancels gracefully and releases the stack's lock before the teardown starts (automation/interrupts.py).
Exit codes: automation/exit_codes.py (0 passed, 1 check failed, 3 deploy failed, 4 teardown failed, 130
interrupted).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import exit_codes
from .health_check import HealthCheckFailed, HealthResult
from .interrupts import Interrupts, signals
from .phases import Interrupted, PhaseFailed, interrupted_phase, run_phase
from .progress import Progress
from .report import Report
from .stacks import PrStack

EXIT_PASSED, EXIT_CHECK_FAILED = exit_codes.OK, exit_codes.NOT_DONE
EXIT_DEPLOY_FAILED, EXIT_TEARDOWN_FAILED = exit_codes.FAILED, exit_codes.TEARDOWN_FAILED


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
    interrupts: Interrupts = field(default_factory=Interrupts)

    def _phase(self, name: str, action: Callable[[], Any]) -> Any:
        return run_phase(self.report.phases[name], action, self.progress, self.clock)

    def run(self) -> Report:
        """The full PR check; never returns without having attempted destroy and remove."""
        report = self.report
        try:
            with self.interrupts.guard():
                if self.ephemeral:
                    self._phase("deploy", self._deploy)
                else:
                    for name in ("deploy", "destroy", "remove"):
                        report.phases[name].status = "skipped"
                checker, result = self._phase("run", self._run_pipelines)
                report.health = result.to_dict()
                self._phase("check", lambda: checker.verify(result))
                report.health = result.to_dict()
                report.outcome, report.exit_code = "passed", EXIT_PASSED
        except Interrupted as interrupted:
            report.outcome, report.exit_code = "interrupted", exit_codes.INTERRUPTED
            during = interrupted_phase(report.phases.values(), "start-up")
            report.failure = f"interrupted by {interrupted} during {during}"
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

    def _deploy(self) -> None:
        with self.interrupts.engine():  # a signal cancels the engine gracefully, which releases its lock
            self.stack.deploy(self.progress.engine)

    def _run_pipelines(self) -> tuple[Any, HealthResult]:
        """The stack's outputs -> its health check -> every job's pipeline run (outputs the check cannot use fail
        the run phase like a failed pipeline does)."""
        checker = self.health_check(self.stack.outputs())
        return checker, checker.execute()

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
                f"teardown failed: stack {self.stack.name} is left for the reaper (python -m automation pr reap)")

    def _with_retries(self, name: str, action: Callable[[], None]) -> bool:
        for attempt in range(1, self.destroy_attempts + 1):
            try:
                self._phase(name, action)
                return True
            except PhaseFailed:
                if attempt < self.destroy_attempts:
                    self.sleep(self.retry_delay_seconds * attempt)
        return False
