"""The narrow interface the lifecycle uses, and its implementation on `pulumi.automation`.

Backend and secrets come from the environment as the Pulumi CLI reads them: PULUMI_BACKEND_URL (s3://…,
file://…, or Pulumi Cloud when unset with PULUMI_ACCESS_TOKEN), PULUMI_CONFIG_PASSPHRASE for the passphrase
provider, or PULUMI_SECRETS_PROVIDER (e.g. awskms://alias/pulumi) for a KMS one, which each stack created here
uses with its own name as encryption context (bootstrap/documents.py stack_secrets_provider).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from bootstrap.documents import STATE_ROOT, stack_secrets_provider
from settings.schema import PROJECT
from stack_files import stack_file

from .locks import backend_locks, clear_stale_locks, s3_backend

ROOT = Path(__file__).resolve().parent.parent
POLICY_PACK = ROOT / "policies"
OnOutput = Callable[[str], None]
# Set in the workspace's stack file for a release's first update only: every alias stays where it routes now.
HOLD_ALIASES = "data-pipeline:holdAliases"


@contextlib.contextmanager
def stack_file_restored(path: Path) -> Iterator[None]:
    """Whatever the block writes into the stack file, it ends as it began, byte for byte (comments too), also
    when interrupted; a copy beside it survives even `kill -9`, and the next run restores from it first."""
    backup = path.with_name(f".{path.name}.before-release")
    if backup.exists():  # a run killed before it could restore: its copy is the file as it was
        os.replace(backup, path)
    original = path.read_bytes()
    backup.write_bytes(original)
    try:
        yield
    finally:
        path.write_bytes(original)
        backup.unlink(missing_ok=True)


class PrStack(Protocol):
    """What the lifecycle needs of a stack (tests inject their own)."""

    name: str

    def deploy(self, on_output: OnOutput) -> None: ...

    def outputs(self) -> dict[str, Any]: ...

    def destroy(self, on_output: OnOutput) -> None: ...

    def remove(self) -> None: ...


class StackSummary(Protocol):
    name: str
    last_update: datetime | None


@dataclass(frozen=True)
class ListedStack:
    name: str
    last_update: datetime | None


# A stack's checkpoint in a DIY backend: `<stack>.json`, possibly compressed (its backups end in `.bak`).
CHECKPOINT = re.compile(r"(?P<stack>[^/]+)\.json(?:\.gz|\.zst)?")


def s3_stacks(s3, bucket: str, project: str = PROJECT) -> list[ListedStack]:
    """The project's stacks in a DIY S3 backend, by the names and times of their checkpoint objects: listing
    reads no checkpoint, so a role that may read only its own stacks' state (the PR-stacks role) can list all."""
    prefix = f"{STATE_ROOT}/stacks/{project}/"
    latest: dict[str, datetime] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            match = CHECKPOINT.fullmatch(item["Key"].removeprefix(prefix))
            if match:
                stack = match["stack"]
                latest[stack] = max(latest.get(stack, item["LastModified"]), item["LastModified"])
    return [ListedStack(stack, modified) for stack, modified in sorted(latest.items())]


class Backend(Protocol):
    """What the reaper needs of a backend."""

    def list_stacks(self) -> list[StackSummary]: ...

    def tags(self, stack: str) -> dict[str, str]: ...

    def stack(self, name: str) -> PrStack: ...


class EngineError(RuntimeError):
    """A Pulumi operation failed; the message keeps the engine's last lines."""


def _last_lines(error: Exception, count: int = 15) -> str:
    text = str(error).strip().splitlines()
    return "\n".join(text[-count:])


class AutomationStack:
    """`PrStack` on a local Pulumi program (this repository) through the Automation API."""

    def __init__(self, name: str, config: dict[str, str] | None = None, tags: dict[str, str] | None = None,
                 *, env: dict[str, str] | None = None, concurrent_wait_seconds: float = 600,
                 sleep: Callable[[float], None] = time.sleep):
        """`env` is added to the engine's environment (e.g. RELEASE_COMMIT for the program)."""
        from pulumi import automation as auto

        self._auto = auto
        self.name = name
        provider = os.environ.get("PULUMI_SECRETS_PROVIDER")
        options = auto.LocalWorkspaceOptions(secrets_provider=provider and stack_secrets_provider(provider, name),
                                             env_vars=env or None)
        self._stack = auto.create_or_select_stack(stack_name=name, work_dir=str(ROOT), opts=options)
        if config:
            self._stack.set_all_config({key: auto.ConfigValue(value=value) for key, value in config.items()})
        for key, value in (tags or {}).items():
            try:
                self._stack.set_tag(key, value)
            except auto.CommandError as error:
                # Not every backend stores stack tags; the reaper then goes by the last update time.
                print(f"warning: stack tag {key} not set: {str(error).strip().splitlines()[-1]}", file=sys.stderr)
                break
        self._concurrent_wait = concurrent_wait_seconds
        self._sleep = sleep

    def _retry_concurrent(self, operation: str, action: Callable[[], Any]) -> Any:
        """Wait out another update of the same stack (re-runs of one PR), then report it clearly."""
        waited, delay = 0.0, 10.0
        locks = functools.cache(backend_locks)  # one store (and client) for every retry
        while True:
            try:
                return action()
            except self._auto.ConcurrentUpdateError as error:
                cleared, live = clear_stale_locks(locks(), self.name)
                for lock in cleared:
                    print(f"warning: cleared a stale lock of {self.name}: {lock}", file=sys.stderr)
                if cleared and not live:
                    continue
                if waited >= self._concurrent_wait:
                    raise EngineError(f"{operation} of {self.name}: another update of this stack has been running for "
                                      f"over {self._concurrent_wait:.0f} s ({'; '.join(live) or 'lock not readable'}"
                                      "); a lock is cleared once older than the longest run (automation/locks.py); if "
                                      "you know its run has ended (killed), delete that lock file and run again"
                                      f"\n{_last_lines(error)}") from None
                self._sleep(delay)
                waited += delay
            except self._auto.CommandError as error:
                raise EngineError(f"{operation} of {self.name} failed:\n{_last_lines(error)}") from None

    def deploy(self, on_output: OnOutput, *, hold_aliases: bool = False) -> None:
        """`pulumi up` with the same guardrails as every other stack's; `hold_aliases`: with holdAliases set in
        this workspace's stack file for this update only (never committed, restored afterwards)."""
        def up() -> None:
            self._retry_concurrent("update", lambda: self._stack.up(on_output=on_output, color="never",
                                                                    policy_packs=[str(POLICY_PACK)]))

        if not hold_aliases:
            return up()
        with stack_file_restored(stack_file(self.name, ROOT)):  # the workspace's own
            self._stack.set_config(HOLD_ALIASES, self._auto.ConfigValue(value="true"))
            up()

    def recover(self, on_output: OnOutput) -> list[str]:
        """Pending operations a killed run left in the state (an operation started, never recorded as done),
        cleared by a refresh that reads each resource back from AWS (pending creates dropped: a resource whose
        create never finished is created again). The operations, `<type> <urn>`, for the report."""
        pending = (self._stack.export_stack().deployment or {}).get("pending_operations") or []
        if pending:
            self._retry_concurrent("refresh", lambda: self._stack.refresh(on_output=on_output, color="never",
                                                                         clear_pending_creates=True))
        return [f"{operation.get('type', '?')} {operation.get('resource', {}).get('urn', '?')}"
                for operation in pending]

    def outputs(self) -> dict[str, Any]:
        return {key: value.value for key, value in self._stack.outputs().items()}

    def preview_refresh(self, on_event: Callable[[Any], None]) -> None:
        """`pulumi refresh --preview-only`: reads AWS, reports each difference as events, never writes the state.
        Without expect-no-changes: the release controller's alias routing is an expected difference, and a
        failure must mean "could not check", not "drifted"."""
        self._retry_concurrent("refresh preview", lambda: self._stack.preview_refresh(on_event=on_event,
                                                                                      color="never"))

    def destroy(self, on_output: OnOutput) -> None:
        self._retry_concurrent("destroy", lambda: self._stack.destroy(on_output=on_output, color="never"))

    def remove(self) -> None:
        self._stack.workspace.remove_stack(self.name)


class AutomationBackend:
    """`Backend` on the workspace of this repository's program."""

    def __init__(self):
        from pulumi import automation as auto

        self._workspace = auto.LocalWorkspace(work_dir=str(ROOT))

    def list_stacks(self) -> list[StackSummary]:
        if s3 := s3_backend():
            return s3_stacks(*s3)
        return self._workspace.list_stacks(include_all=True)

    def tags(self, stack: str) -> dict[str, str]:
        return dict(self._workspace.list_tags(stack))

    def stack(self, name: str) -> PrStack:
        return AutomationStack(name)
