"""Turns plain rule functions into Pulumi policies with severity, remediation, preview-safe reads and waivers.

A rule is a function that yields violation messages. Resource rules see one resource's props; stack rules see
all resources (to join a bucket with its encryption, policy and public access block).

Waivers: a policy's config may name stacks where it is advisory, each with a justification:
    {"required-tags": {"enforcementLevel": "advisory", "advisoryStacks": {"dev": "why, in 20+ characters"}}}
The policy then runs only on those stacks' previews at advisory level; used on any other stack, or on a
protected stack (prod), the waiver makes the policy fail the preview instead of being silently weaker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .pulumi_internals import UnknownValueError

PROTECTED_STACKS = ("prod",)
MIN_JUSTIFICATION = 20
WAIVER_PROPERTY = "advisoryStacks"
WAIVER_SCHEMA = {
    WAIVER_PROPERTY: {
        "type": "object",
        "description": "Stacks where this policy is advisory, each with its written justification.",
        "additionalProperties": {"type": "string", "minLength": MIN_JUSTIFICATION},
    },
}


class Unknown:
    """A value the engine does not know yet (a preview); rules skip checks that need it."""

    def __repr__(self) -> str:
        return "<unknown during preview>"


UNKNOWN = Unknown()
# Paths a rule needed but a preview did not know; a harness that sets a list here can report them.
UNKNOWN_READS: ContextVar[list[str] | None] = ContextVar("unknown_reads", default=None)


class WaiverMisapplied(RuntimeError):
    """A waiver was used where it does not apply: the preview fails rather than run a weakened policy."""


def get(props: Any, path: str | tuple[str, ...], default: Any = None) -> Any:
    """props["a"]["b"] for "a.b" (or ("a", "b"), for keys with dots): `UNKNOWN` where a preview does not know it
    yet, `default` where it is absent."""
    current = props
    parts = path.split(".") if isinstance(path, str) else path
    for part in parts:
        try:
            if not isinstance(current, Mapping) or part not in current:
                return default
            current = current[part]
        except UnknownValueError:
            return deferred(".".join(parts))
        if current is None:
            return default
    return current


def deferred(path: str) -> Unknown:
    """UNKNOWN, noting that a check needed `path` and has to wait for the update to know it."""
    reads = UNKNOWN_READS.get()
    if reads is not None:
        reads.append(path)
    return UNKNOWN


def waiver(config: Mapping[str, Any] | None, stack: str, policy: str) -> str | None:
    """The justification when `policy` is waived on `stack`; raise when its waiver is used elsewhere."""
    stacks = dict((config or {}).get(WAIVER_PROPERTY) or {})
    if not stacks:
        return None
    if stack in PROTECTED_STACKS:
        raise WaiverMisapplied(f"policy '{policy}' cannot be advisory on protected stack '{stack}'; "
                               f"remove it from {WAIVER_PROPERTY} (waivers: {', '.join(sorted(stacks))})")
    if stack not in stacks:
        raise WaiverMisapplied(f"policy config makes '{policy}' advisory for stack(s) {', '.join(sorted(stacks))}, "
                               f"but this preview is of stack '{stack}': pass that stack's own policy config")
    justification = str(stacks[stack]).strip()
    if len(justification) < MIN_JUSTIFICATION:
        raise WaiverMisapplied(f"waiver of '{policy}' on stack '{stack}' needs a written justification "
                               f"({MIN_JUSTIFICATION}+ characters)")
    return justification


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    severity: Severity
    remediation: str
    enforcement: EnforcementLevel = EnforcementLevel.MANDATORY
    config: Mapping[str, Mapping[str, Any]] | None = None


ResourceCheck = Callable[[str, Mapping[str, Any], Mapping[str, Any]], Iterable[str]]
StackCheck = Callable[[list[PolicyResource], Mapping[str, Any]], Iterable[tuple[PolicyResource, str]]]


def _schema(rule: Rule) -> PolicyConfigSchema:
    return PolicyConfigSchema(properties={**WAIVER_SCHEMA, **(rule.config or {})})


def _suffix(justification: str | None, stack: str) -> str:
    return f" [advisory on stack '{stack}': {justification}]" if justification else ""


def _defaults(rule: Rule, config: Mapping[str, Any] | None) -> dict[str, Any]:
    values = {key: schema["default"] for key, schema in (rule.config or {}).items() if "default" in schema}
    values.update({k: v for k, v in (config or {}).items() if k != WAIVER_PROPERTY})
    return values


def resource_policy(rule: Rule, types: Iterable[str] | None, check: ResourceCheck) -> ResourceValidationPolicy:
    """`types`: the resource types the rule applies to (None: every type, the check decides)."""
    wanted = frozenset(types) if types is not None else None

    def validate(args: ResourceValidationArgs, report_violation) -> None:
        if wanted is not None and args.resource_type not in wanted:
            return
        # pulumi-policy configures the Pulumi runtime for the stack under analysis (the engine's PULUMI_STACK)
        # before each validation, so the SDK says which stack this is.
        stack = pulumi.get_stack()
        justification = waiver(args.get_config(), stack, rule.name)
        for message in check(args.resource_type, args.props, _defaults(rule, args.get_config())):
            report_violation(message + _suffix(justification, stack), None)

    return ResourceValidationPolicy(
        name=rule.name, description=rule.description, validate=validate, enforcement_level=rule.enforcement,
        severity=rule.severity, remediation_steps=rule.remediation, config_schema=_schema(rule))


def stack_policy(rule: Rule, check: StackCheck) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation) -> None:
        if not args.resources:
            return
        stack = pulumi.get_stack()
        justification = waiver(args.get_config(), stack, rule.name)
        for resource, message in check(args.resources, _defaults(rule, args.get_config())):
            report_violation(message + _suffix(justification, stack), resource.urn)

    return StackValidationPolicy(
        name=rule.name, description=rule.description, validate=validate, enforcement_level=rule.enforcement,
        severity=rule.severity, remediation_steps=rule.remediation, config_schema=_schema(rule))


def linked(resources: list[PolicyResource], owner: PolicyResource, kinds: Iterable[str],
           prop: str = "bucket") -> list[PolicyResource]:
    """Resources of `kinds` that point at `owner` through `prop`: by dependency (known even in a preview),
    else by the owner's name or id."""
    kinds = frozenset(kinds)
    names = {get(owner.props, "bucket"), get(owner.props, "id"), get(owner.props, "name")} - {None, UNKNOWN}
    result = []
    for resource in resources:
        if resource.resource_type not in kinds:
            continue
        depends = owner.urn in {d.urn for d in resource.property_dependencies.get(prop, [])}
        if depends or get(resource.props, prop) in names:
            result.append(resource)
    return result


def known(value: Any) -> bool:
    return value is not UNKNOWN
