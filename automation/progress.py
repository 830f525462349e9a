"""Shows the phases as they run: a live status line on a terminal, plain timestamped lines in CI logs."""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, stream: TextIO = sys.stderr, live: bool | None = None):
        self.stream = stream
        # CI logs are files: no cursor tricks there.
        self.live = stream.isatty() and not os.environ.get("CI") if live is None else live
        self.current = ""

    def _write(self, text: str) -> None:
        if self.live:
            self.stream.write("\r\033[K")
        self.stream.write(text)
        self.stream.flush()

    def phase(self, name: str) -> None:
        self.current = name
        self._write(f"[{time.strftime('%H:%M:%S')}] {name}: started\n")

    def done(self, name: str, status: str, seconds: float, detail: str = "") -> None:
        self._write(f"[{time.strftime('%H:%M:%S')}] {name}: {status} in {seconds:.1f} s"
                    f"{' — ' + detail if detail else ''}\n")

    def engine(self, line: str) -> None:
        """A line of the Pulumi engine's output: streamed through, under the phase it belongs to."""
        line = line.rstrip()
        if not line:
            return
        if self.live:
            self._write(f"  {self.current} › {line[:150]}")
        else:
            self._write(f"  {self.current} | {line}\n")
