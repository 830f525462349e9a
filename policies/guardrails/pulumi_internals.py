"""The one module that uses what the Pulumi SDKs do not publish. Everything else uses their public API.

- pulumi-policy: how the analyzer hands a resource's props to a policy (deserialized, behind a proxy that raises
  `UnknownValueError` on a value a preview does not know yet). The package exports neither, and the pack needs
  the error to skip one check instead of the whole policy; the harness needs both to feed the policies as the
  engine does.
- pulumi, for the program (`__main__.py`): every config key of a namespace (`pulumi.Config` reads one key at a time
  and cannot list them, so an unknown key, a typo, could not be reported).
- pulumi, for the test harness, beyond `set_mocks` and `pulumi.runtime.test`: a mock monitor that keeps each
  registration request (the public `Mocks` sees inputs, not resource options or dependencies), waiting for every
  Output the program made (the SDK's own wait is quadratic, pulumi/pulumi#22411), the root stack's outputs, and
  registrations without the stack trace the harness has no use for.

It lives in the policy pack because Pulumi runs `policies/` on its own (and `pulumi policy publish` ships only that
folder); the program's and the harness's parts import the runtime when first used, so the pack never loads them.
`tests/test_pulumi_internals.py` exercises each of them and, when an SDK upgrade changes one, fails naming the
installed versions: adapt this module, then record the versions in WRITTEN_FOR.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from typing import Any

from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

# The SDK versions this module was last checked against (the canary test holds the pins to them).
WRITTEN_FOR = {"pulumi": "3.272.0", "pulumi-policy": "1.21.0"}

__all__ = ["WRITTEN_FOR", "Registration", "UnknownValueError", "deferred_read", "engine_config", "policy_props",
           "recording_monitor", "registrations", "sdk_versions", "settle_outputs", "stack_outputs",
           "without_stack_traces"]


def sdk_versions() -> str:
    installed = ", ".join(f"{name} {metadata.version(name)}" for name in WRITTEN_FOR)
    written = ", ".join(f"{name} {version}" for name, version in WRITTEN_FOR.items())
    return f"installed {installed}; policies/guardrails/pulumi_internals.py was written for {written}"


# --- pulumi-policy ---------------------------------------------------------------------------------------------

def policy_props(engine_props: Mapping[str, Any]) -> Mapping[str, Any]:
    """A resource's props as a policy sees them, from the props the engine sends (JSON, unknowns as sentinels)."""
    return unknown_checking_proxy(deserialize_properties(dict(engine_props)))


def deferred_read(error: UnknownValueError) -> str:
    """What an `UnknownValueError` says a policy tried to read (e.g. `String value at .arn can't be known ...`)."""
    return error.message


# --- pulumi (the program) --------------------------------------------------------------------------------------

def engine_config() -> dict[str, Any]:
    """Every key the engine passed, known or not (`namespace:key`) -> its value as the engine passed it (a string;
    objects as JSON): the SDK's config store, which holds the engine's PULUMI_CONFIG for a CLI run and what
    `set_all_config` set for mocks and inline programs."""
    from pulumi.runtime import config as runtime_config

    return {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}


# --- pulumi (the test harness only) ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Registration:
    urn: str
    id: str
    # What the mocks returned: the resource's outputs.
    state: dict[str, Any]
    # The RegisterResource request as the engine receives it (camelCase JSON): `object` is the serialized inputs
    # (unknown values as sentinels in a preview), then parent, protect, dependencies, aliases ... The source
    # position and stack trace are left out.
    request: dict[str, Any]


@cache
def _recording_monitor_class():
    from google.protobuf import json_format
    from pulumi.runtime.mocks import MockMonitor

    class RecordingMonitor(MockMonitor):
        def __init__(self, mocks):
            super().__init__(mocks)
            self.requests: dict[str, dict[str, Any]] = {}

        def RegisterResource(self, request):
            response = super().RegisterResource(request)
            kept = json_format.MessageToDict(request)
            for noise in ("sourcePosition", "stackTrace", "parentStackTraceHandle"):
                kept.pop(noise, None)
            self.requests[response.urn] = kept
            return response

    return RecordingMonitor


def recording_monitor(mocks):
    """A monitor for `pulumi.runtime.set_mocks(mocks, ..., monitor=...)` that also keeps every request."""
    return _recording_monitor_class()(mocks)


def registrations(monitor) -> list[Registration]:
    """Every resource registered through `monitor` (components included; the root stack is not)."""
    return [Registration(urn=urn, id=registered.id, state=dict(registered.state),
                         request=monitor.requests.get(urn, {}))
            for urn, registered in monitor.resources.items()]


def settle_outputs() -> None:
    """Block until every Output the program created has a value, one pass per generation of new Outputs; call it
    from the program's own thread (inside `pulumi.runtime.test`), after the program ran.

    The SDK's own `wait_for_rpcs` waits for the *first* pending Output to finish, then again over all the rest
    (pulumi/pulumi#22411): under mocks, where ~20 Outputs per resource finish a few at a time, that is quadratic
    (50 jobs: 13 s instead of 5 s). Outputs that fail stay tracked, so the SDK's wait still raises their errors.
    """
    from pulumi.runtime.settings import SETTINGS
    from pulumi.runtime.sync_await import _sync_await

    async def settle() -> None:
        while True:
            with SETTINGS.lock:
                pending = [output for output in SETTINGS.outputs if not output.done()]
            if not pending:
                return
            await asyncio.wait(pending)

    _sync_await(settle())


def stack_outputs() -> dict[str, Any]:
    """The root stack's outputs as `pulumi.export` left them (Outputs): under mocks the root stack is finished
    before the program runs, so they stay there unresolved."""
    from pulumi.runtime import get_root_resource

    root = get_root_resource()
    return dict(root.outputs) if root is not None else {}


@contextlib.contextmanager
def without_stack_traces() -> Iterator[None]:
    """While it lasts, resources register without a stack trace or source position. For the engine's diagnostics
    the SDK extracts the whole Python stack (reading each frame's source line) at every registration: about a tenth of
    an evaluation under mocks, and the recording monitor drops both."""
    from pulumi.runtime import resource
    from pulumi.runtime.proto import source_pb2

    traced = resource._get_stack_trace
    resource._get_stack_trace = source_pb2.StackTrace
    try:
        yield
    finally:
        resource._get_stack_trace = traced
