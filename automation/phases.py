"""Timed, reported phases: what the PR lifecycle and the release controller both run their steps through."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterable
from typing import Any

from .progress import Progress
from .report import Phase


class Interrupted(BaseException):
    """Raised in the main thread when the process gets SIGINT or SIGTERM (BaseException: nothing swallows it)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class PhaseFailed(Exception):
    def __init__(self, phase: str, error: BaseException):
        super().__init__(f"{phase} failed: {error}")
        self.phase = phase
        self.error = error


def interrupted_phase(phases: Iterable[Phase], otherwise: str) -> str:
    """The phase a signal stopped (run_phase marks it), else `otherwise`: where the run was when it came."""
    return next((phase.name for phase in phases if phase.status == "interrupted"), otherwise)


def run_phase(phase: Phase, action: Callable[[], Any], progress: Progress, clock: Callable[[], float]) -> Any:
    """Run `action` as `phase`: time it, count the attempt, show it, record ok / failed / interrupted."""
    progress.phase(phase.name)
    start = clock()
    phase.attempts += 1
    try:
        result = action()
    except Interrupted:
        phase.status, phase.error = "interrupted", "interrupted by signal"
        raise
    except Exception as error:
        phase.status, phase.error = "failed", str(error)
        raise PhaseFailed(phase.name, error) from error
    finally:
        phase.seconds += clock() - start
        if phase.status != "interrupted":
            progress.done(phase.name, phase.status if phase.status == "failed" else "ok", phase.seconds,
                          phase.error.splitlines()[0] if phase.error else "")
    phase.status = "ok"
    return result
