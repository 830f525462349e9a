"""Stale locks of a DIY backend (S3 or a directory): found and cleared by the next run or the reaper.

How Pulumi keeps them (pkg/backend/diy/lock.go): an update writes `.pulumi/locks/<org>/<project>/<stack>/<uuid>.json`
= {"pid", "username", "hostname", "timestamp"} and deletes it when it ends; any other lock file of the stack makes
the next update fail with "the stack is currently locked". A process killed before it ends (a cancelled job after
GitHub's 10 s, a lost runner, `kill -9`) leaves its file behind for good. `pulumi cancel` on a DIY backend deletes
*every* lock file of the stack, a live update's too, so it is not used here (nor the Automation API's
`stack.cancel()`, which runs it; Pulumi Cloud's own cancel is different and not needed: its leases expire).

A lock is stale, and cleared, when it is older than the longest run (no run outlives its credentials: the deploy
role's session, bootstrap deploySessionHours, at most 12 h), or when it was taken on this machine by a process
that no longer exists. Anything else is a live update: wait for it.
"""

from __future__ import annotations

import json
import os
import re
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import ParseResult, parse_qs, urlparse

from bootstrap.documents import STATE_ROOT
from settings.delivery import MAX_SESSION_HOURS
from settings.schema import PROJECT

# The deploy role's longest session (bootstrap deploySessionHours): no writer holds a lock longer.
LONGEST_RUN = timedelta(hours=MAX_SESSION_HOURS)
# DIY backends keep project-scoped stacks under the fixed organization name `organization`.
LOCK_ROOT = f"{STATE_ROOT}/locks/organization/{PROJECT}"


@dataclass(frozen=True)
class Lock:
    key: str  # where it is: an s3:// URL or a file path (what to delete by hand if it must go sooner)
    pid: int
    hostname: str
    username: str
    taken: datetime

    def describe(self) -> str:
        return f"{self.key} (pid {self.pid} on {self.hostname} by {self.username}, since {self.taken:%Y-%m-%dT%H:%MZ})"

    def stale_because(self, now: datetime, longest: timedelta = LONGEST_RUN) -> str | None:
        if now - self.taken > longest:
            return f"older than the longest run ({longest.total_seconds() / 3600:g} h)"
        if self.hostname == socket.gethostname() and not _running(self.pid):
            return "its process on this machine has ended"
        return None


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def parse_lock(key: str, content: bytes, modified: datetime) -> Lock:
    """A lock file; Go writes nanoseconds (trimmed to Python's microseconds), an unreadable one counts from its
    modification time."""
    try:
        data = json.loads(content)
        stamp = re.sub(r"(\.\d{6})\d+", r"\1", data["timestamp"]).replace("Z", "+00:00")
        return Lock(key, int(data.get("pid", 0)), data.get("hostname", ""), data.get("username", ""),
                    datetime.fromisoformat(stamp).astimezone(UTC))
    except (ValueError, KeyError, TypeError):
        return Lock(key, 0, "", "", modified)


class LockStore(Protocol):
    def locks(self, stack: str) -> list[Lock]: ...

    def delete(self, lock: Lock) -> None: ...


class S3Locks:
    def __init__(self, s3, bucket: str):
        self.s3, self.bucket = s3, bucket

    def locks(self, stack: str) -> list[Lock]:
        found = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                       Prefix=f"{LOCK_ROOT}/{stack}/"):
            for item in page.get("Contents", []):
                body = self.s3.get_object(Bucket=self.bucket, Key=item["Key"])["Body"].read()
                found.append(parse_lock(f"s3://{self.bucket}/{item['Key']}", body, item["LastModified"]))
        return found

    def delete(self, lock: Lock) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=lock.key.removeprefix(f"s3://{self.bucket}/"))


class FileLocks:
    def __init__(self, root: Path):
        self.root = root

    def locks(self, stack: str) -> list[Lock]:
        return [parse_lock(str(path), path.read_bytes(), datetime.fromtimestamp(path.stat().st_mtime, UTC))
                for path in sorted((self.root / LOCK_ROOT / stack).glob("*.json"))]

    def delete(self, lock: Lock) -> None:
        Path(lock.key).unlink(missing_ok=True)


def _backend(url: str | None) -> ParseResult:
    return urlparse(url if url is not None else os.environ.get("PULUMI_BACKEND_URL", ""))


def _s3(backend: ParseResult) -> tuple[Any, str]:
    import boto3

    region = parse_qs(backend.query).get("region", [None])[0]
    return boto3.client("s3", region_name=region), backend.netloc


def s3_backend(url: str | None = None) -> tuple[Any, str] | None:
    """An S3 client and the bucket of PULUMI_BACKEND_URL (or `url`) when it is an s3:// DIY backend, else None."""
    backend = _backend(url)
    return _s3(backend) if backend.scheme == "s3" else None


def backend_locks(url: str | None = None) -> LockStore | None:
    """The lock store of PULUMI_BACKEND_URL (or `url`) when it is a DIY backend (s3://, file://), else None."""
    backend = _backend(url)
    if backend.scheme == "s3":
        return S3Locks(*_s3(backend))
    if backend.scheme == "file":
        return FileLocks(Path(os.path.expanduser(backend.netloc + backend.path)))
    return None


def clear_stale_locks(store: LockStore | None, stack: str, *, now: datetime | None = None,
                      longest: timedelta = LONGEST_RUN) -> tuple[list[str], list[str]]:
    """(cleared, live): the stale locks deleted and the live ones left, each described."""
    if store is None:
        return [], []
    now = now or datetime.now(UTC)
    cleared, live = [], []
    for lock in store.locks(stack):
        reason = lock.stale_because(now, longest)
        if reason:
            store.delete(lock)
            cleared.append(f"{lock.describe()}: {reason}")
        else:
            live.append(lock.describe())
    return cleared, live
