"""Finds leaked PR stacks (older than a TTL, or whose pull request is closed) and destroys and removes them; first
it clears each PR stack's stale state locks (a killed destroy's, older than the longest run: automation/locks.py),
which would otherwise stop its destroy as they stop every later update."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from settings.delivery import PR_STACK_PREFIX

from .locks import LONGEST_RUN, LockStore, clear_stale_locks
from .profile import is_pull_request_stack
from .stacks import Backend


@dataclass(frozen=True)
class Decision:
    stack: str
    action: str  # kept | would destroy | destroyed | failed | lock cleared
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


def _created(tags: dict[str, str], last_update: datetime | None) -> datetime | None:
    try:
        return datetime.fromisoformat(tags["created-at"])
    except (KeyError, ValueError):
        return last_update


def reap(backend: Backend, *, ttl: timedelta, closed_prs: Iterable[int] = (), dry_run: bool = True,
         now: datetime | None = None, on_output: Callable[[str], None] = lambda _line: None,
         locks: LockStore | None = None, stale_after: timedelta = LONGEST_RUN) -> list[Decision]:
    now = now or datetime.now(UTC)
    closed = set(closed_prs)
    decisions = []
    for summary in backend.list_stacks():
        name = summary.name.rsplit("/", 1)[-1]  # Pulumi Cloud may qualify it as org/project/stack
        if not is_pull_request_stack(name):  # the fast check's pr-base and anything else are not PR stacks
            continue
        if not dry_run:
            for lock in clear_stale_locks(locks, name, now=now, longest=stale_after)[0]:
                decisions.append(Decision(summary.name, "lock cleared", lock))
        tags = backend.tags(summary.name)
        number = tags.get("pr") or name.removeprefix(PR_STACK_PREFIX)
        created = _created(tags, summary.last_update)
        reasons = []
        if number.isdigit() and int(number) in closed:
            reasons.append(f"PR #{number} is closed")
        if created is None:
            reasons.append("no creation time or update recorded")
        elif now - created > ttl:
            reasons.append(f"{(now - created).total_seconds() / 3600:.1f} h old, TTL {ttl.total_seconds() / 3600:g} h")
        if not reasons:
            decisions.append(Decision(summary.name, "kept", "open PR, within TTL"))
            continue
        reason = "; ".join(reasons)
        if dry_run:
            decisions.append(Decision(summary.name, "would destroy", reason))
            continue
        try:
            stack = backend.stack(summary.name)
            stack.destroy(on_output)
            stack.remove()
            decisions.append(Decision(summary.name, "destroyed", reason))
        except Exception as error:  # one stuck stack must not stop the others
            decisions.append(Decision(summary.name, "failed", f"{reason}; {str(error).splitlines()[0]}"))
    return decisions
