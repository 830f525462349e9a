"""SIGINT/SIGTERM during a release: stop between steps, never in the middle of the engine's.

Outside an engine operation a signal raises `Interrupted` at once. During one (`pulumi up`), the signal is passed
on to the Pulumi CLI (our child process; a runner's cancel or `kill` may reach only us), which cancels
gracefully: it finishes the resource operations in flight, writes its state and releases the stack's lock. The
engine call then returns or fails, and `Interrupted` is raised after it. An alias update that reached AWS
completes there (a managed deployment finishes or rolls back by itself), so every alias ends on its old or its
new version. A second signal during the engine's wind-down is passed on too (the CLI then stops harder).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .phases import Interrupted

HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def child_pids(pid: int | None = None) -> list[int]:
    """This process's children (Linux /proc; elsewhere none are found and the terminal's Ctrl-C reaches them)."""
    pid = pid or os.getpid()
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return children


def interrupt_children() -> None:
    for child in child_pids():
        try:
            os.kill(child, signal.SIGINT)
        except ProcessLookupError:
            continue


@contextmanager
def signals(handler: Callable[[int, Any], None]) -> Iterator[None]:
    previous = {s: signal.signal(s, handler) for s in HANDLED_SIGNALS}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


@dataclass
class Interrupts:
    """Install with `guard()` for a whole command; wrap each engine operation in `engine()`."""

    forward: Callable[[], None] = interrupt_children
    received: int | None = None
    _in_engine: bool = field(default=False, repr=False)

    def _handle(self, signum: int, _frame) -> None:
        self.received = self.received or signum
        if self._in_engine:
            self.forward()
            return
        raise Interrupted(signum)

    @contextmanager
    def guard(self) -> Iterator[None]:
        with signals(self._handle):
            yield

    @contextmanager
    def engine(self) -> Iterator[None]:
        """An engine operation: a signal is passed on to it and raised once it has wound down."""
        self._in_engine = True
        try:
            yield
        except Exception:
            if self.received:  # the engine failed because it was cancelled: that is the interruption
                raise Interrupted(self.received) from None
            raise
        finally:
            self._in_engine = False
        if self.received:
            raise Interrupted(self.received)
