"""A rollback's pin, recorded on the alias it moved: the alias's description names the version it was rolled
back to and the version it was rolled back from. Every later `pulumi up` reads it from AWS (the program's alias
data source) and keeps the alias on the pinned version until a deploy publishes a version newer than the one
rolled back from, so nothing but a newer release undoes a rollback, from any checkout or runner.

Shared by the program (components/pipeline.py, components/lambda_function.py) and the release controller
(automation/release.py), which writes it in the same call that moves the alias.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Step Functions and Lambda alias descriptions hold at most 256 characters.
DESCRIPTION_LIMIT = 256
_PIN = re.compile(r"^pinned v(\d+) over v(\d+)(?:; (.*))?$", re.DOTALL)


@dataclass(frozen=True)
class Pin:
    version: int  # the version the alias was rolled back to and stays on
    over: int  # the version it was rolled back from: a deploy publishing a newer one replaces the pin
    note: str = ""  # who, when, why

    def describe(self) -> str:
        text = f"pinned v{self.version} over v{self.over}" + (f"; {self.note}" if self.note else "")
        return text[:DESCRIPTION_LIMIT]

    def holds_against(self, published: int) -> bool:
        """Whether the pin still applies to a deploy that published `published` (not newer than `over`)."""
        return published <= self.over


def parse_pin(description: str | None) -> Pin | None:
    """The pin an alias's description records, or None."""
    match = _PIN.match(description or "")
    if not match:
        return None
    return Pin(version=int(match.group(1)), over=int(match.group(2)), note=match.group(3) or "")
