"""Run the policy pack offline: the program under mocks for a stack, every registered resource through the
real resource policies and the whole set through the stack policies, as `pulumi preview --policy-pack` would.

    python -m harness.policy_report --stack prod              # update mode: every value known
    python -m harness.policy_report --stack dev --preview     # preview mode: values AWS computes are unknown
    python -m harness.policy_report --all                     # every stack file Pulumi.<name>.yaml, both modes

Policy config comes from `policies/config/<stack>.json` when it exists (the file CI passes with
`--policy-pack-config`), or from `--config`; a config that names an unknown policy or lowers a mandatory one on
a protected stack (prod) is an error of the report (policies/guardrails/pack_config.py), and --all checks every
file under policies/config/ (and bootstrap/policy-config.json) so. Exit status 1 when a mandatory policy is
violated, a config is refused, a policy run fails or a stack's program stops (e.g. on a bad config value; --all
goes on with the other stacks), 2 on a usage error (no such stack file, a missing or malformed --config).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)

from policies.guardrails import ALL_POLICIES
from policies.guardrails.framework import UNKNOWN_READS, WaiverMisapplied
from policies.guardrails.pack_config import PolicyConfigError, config_problems, read_config, stacks_served
from policies.guardrails.pulumi_internals import UnknownValueError, deferred_read, policy_props
from stack_files import ROOT, stack_config, stack_names

from .program import PROJECT, ProgramRun, run_program

CONFIG_PATH = Path("policies", "config")
CONFIG_DIR = ROOT / CONFIG_PATH
# The bootstrap's stacks (one per account, prod's among them) are previewed and updated with this one.
BOOTSTRAP_CONFIG = Path("bootstrap", "policy-config.json")


@dataclass(frozen=True)
class PolicyInput:
    """One resource as the engine shows it to a policy pack."""

    type: str
    name: str
    props: Mapping[str, Any]
    urn: str = ""
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    policy: str
    level: str
    severity: str
    resource: str
    message: str
    remediation: str


@dataclass
class PolicyReport:
    stack: str
    mode: str
    findings: list[Finding] = field(default_factory=list)
    # Checks that need a value a preview does not know yet (they run at update time).
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    # Policy runs that fail the whole preview (e.g. a waiver used on the wrong stack).
    errors: list[str] = field(default_factory=list)

    @property
    def mandatory(self) -> list[Finding]:
        return [f for f in self.findings if f.level == EnforcementLevel.MANDATORY.value]

    @property
    def blocked(self) -> bool:
        return bool(self.mandatory or self.errors)


def urn_of(stack: str, type_: str, name: str) -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::{type_}::{name}"


def inputs_from_run(run: ProgramRun, *, for_stack_policies: bool) -> list[PolicyInput]:
    """Resource policies see the inputs the engine checks before creating a resource; stack policies see the
    resulting state (outputs), or the same inputs in a preview, where nothing has been created yet."""
    use_outputs = for_stack_policies and run.mode == "update"
    return [PolicyInput(type=r.type, name=r.name, urn=r.urn, props=r.outputs if use_outputs else r.engine_props,
                        property_dependencies=r.property_dependencies)
            for r in run.resources if r.type.startswith("aws:")]


def _policy_resources(inputs: Iterable[PolicyInput], stack: str) -> list[PolicyResource]:
    options = PolicyResourceOptions(protect=False, ignore_changes=[], delete_before_replace=None, aliases=[],
                                    custom_timeouts=PolicyCustomTimeouts(0, 0, 0), additional_secret_outputs=[])
    resources = {}
    for item in inputs:
        urn = item.urn or urn_of(stack, item.type, item.name)
        props = policy_props(json.loads(json.dumps(item.props, default=str)))
        resources[urn] = PolicyResource(item.type, props, urn, item.name, options, None, None, [], {})
    for item in inputs:
        resource = resources[item.urn or urn_of(stack, item.type, item.name)]
        resource.property_dependencies = {key: [resources[u] for u in urns if u in resources]
                                          for key, urns in item.property_dependencies.items()}
        resource.dependencies = [d for deps in resource.property_dependencies.values() for d in deps]
    return list(resources.values())


def policy_settings(policy, config: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(effective enforcement level, the policy's own config) from a pack config, which maps a policy name to
    a level or to an object with `enforcementLevel` and the policy's properties."""
    entry = config.get(policy.name)
    entry = dict(entry) if isinstance(entry, Mapping) else ({"enforcementLevel": entry} if entry else {})
    level = entry.pop("enforcementLevel", None) or (policy.enforcement_level or EnforcementLevel.ADVISORY).value
    return str(level), entry


@contextmanager
def _deferred_reads(report: PolicyReport, policy: str, subject: str) -> Iterator[None]:
    """Record the props a policy needed but a preview did not know (framework.get notes them)."""
    reads: list[str] = []
    token = UNKNOWN_READS.set(reads)
    try:
        yield
    finally:
        UNKNOWN_READS.reset(token)
        report.skipped.extend((policy, subject, path) for path in sorted(set(reads)))


def as_the_engine_starts_the_pack(stack: str, mode: str, project: str = PROJECT) -> None:
    """The runtime settings pulumi-policy configures from the engine's environment (PULUMI_STACK, PULUMI_PROJECT,
    PULUMI_DRY_RUN) before each analysis: what `pulumi.get_stack()` returns to a policy."""
    pulumi.runtime.configure(pulumi.runtime.Settings(project=project, stack=stack, dry_run=mode == "preview"))


def evaluate(resource_inputs: list[PolicyInput], *, stack: str, mode: str, config: Mapping[str, Any] | None = None,
             stack_inputs: list[PolicyInput] | None = None, policies=ALL_POLICIES,
             project: str = PROJECT) -> PolicyReport:
    config = config or {}
    as_the_engine_starts_the_pack(stack, mode, project)
    report = PolicyReport(stack=stack, mode=mode)
    # The engine would apply a lowered level silently: the report refuses the config instead.
    report.errors.extend(f"policy pack config: {problem}" for problem in config_problems(config, stack, policies))
    resources = _policy_resources(resource_inputs, stack)
    stack_resources = _policy_resources(stack_inputs, stack) if stack_inputs is not None else resources
    for policy in policies:
        level, policy_config = policy_settings(policy, config)
        if level == EnforcementLevel.DISABLED.value:
            continue

        def report_violation(message: str, urn: str | None, subject: str, policy=policy, level=level) -> None:
            report.findings.append(Finding(
                policy=policy.name, level=level, severity=policy.severity.value if policy.severity else "",
                resource=subject if urn is None else urn.rsplit("::", 1)[-1], message=message,
                remediation=policy.remediation_steps or ""))

        try:
            if isinstance(policy, ResourceValidationPolicy):
                for resource in resources:
                    args = ResourceValidationArgs(resource.resource_type, resource.props, resource.urn, resource.name,
                                                  resource.opts, None, policy_config)
                    with _deferred_reads(report, policy.name, resource.name):
                        try:
                            policy.validate(args, lambda m, u=None, r=resource: report_violation(m, u, r.name))
                        except UnknownValueError as unknown:
                            report.skipped.append((policy.name, resource.name, deferred_read(unknown)))
            else:
                with _deferred_reads(report, policy.name, "(stack)"):
                    policy.validate(StackValidationArgs(stack_resources, policy_config),
                                    lambda m, u=None: report_violation(m, u, "(stack)"))
        except WaiverMisapplied as error:
            report.errors.append(f"{policy.name}: {error}")
    return report


def load_config(stack: str, path: Path | None = None, root: Path = ROOT) -> dict[str, Any]:
    """`path` (which must exist), or else the stack's own config file when it has one."""
    if path is not None:
        return read_config(path)
    own = root / CONFIG_PATH / f"{stack}.json"
    return read_config(own) if own.exists() else {}


def committed_config_problems(stacks: list[str], root: Path = ROOT) -> list[str]:
    """Every file under policies/config/, and the bootstrap's (passed to its prod stack too), checked for each
    stack it may be passed to."""
    problems = []
    bootstrap = root / BOOTSTRAP_CONFIG
    for path in [*sorted((root / CONFIG_PATH).glob("*.json")), *([bootstrap] if bootstrap.exists() else [])]:
        try:
            config = read_config(path)
        except PolicyConfigError as error:
            problems.append(str(error))
            continue
        problems += [f"{path.relative_to(root)} on stack {stack}: {problem}" for stack in stacks_served(path, stacks)
                     for problem in config_problems(config, stack, ALL_POLICIES)]
    return problems


def report_for_run(run: ProgramRun, config: Mapping[str, Any] | None = None) -> PolicyReport:
    return evaluate(inputs_from_run(run, for_stack_policies=False), stack=run.stack, mode=run.mode,
                    config=load_config(run.stack) if config is None else config,
                    stack_inputs=inputs_from_run(run, for_stack_policies=True), project=run.project)


def report_for_stack(stack: str, *, preview: bool, config: Mapping[str, Any] | None = None,
                     root: Path = ROOT) -> PolicyReport:
    run = run_program(stack, stack_config(stack, root), preview=preview, program=root / "__main__.py")
    return report_for_run(run, config)


def format_report(report: PolicyReport) -> str:
    lines = [f"Policy report: stack {report.stack}, {report.mode} mode — {len(ALL_POLICIES)} policies, "
             f"{len(report.mandatory)} mandatory and {len(report.findings) - len(report.mandatory)} advisory "
             f"violation(s), {len(report.errors)} error(s), {len(report.skipped)} check(s) deferred to update"]
    if report.findings:
        lines.append(f"  {'policy':<38} {'resource':<34} {'severity':<9} {'level':<10} message")
        for f in sorted(report.findings, key=lambda f: (f.level != "mandatory", f.policy, f.resource)):
            lines.append(f"  {f.policy:<38} {f.resource:<34} {f.severity:<9} {f.level:<10} {f.message}")
            lines.append(f"  {'':<38} remediation: {f.remediation}")
    for error in report.errors:
        lines.append(f"  ERROR {error}")
    return "\n".join(lines)


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--stack", help="a stack with a file Pulumi.<stack>.yaml, e.g. prod")
    target.add_argument("--all", action="store_true", help="every stack file, preview and update mode")
    parser.add_argument("--preview", action="store_true", help="values AWS computes are unknown, as in a preview")
    parser.add_argument("--config", type=Path, help="policy pack config JSON (default: policies/config/<stack>.json)")
    args = parser.parse_args(argv)
    stacks = stack_names(root)
    if args.stack and args.stack not in stacks:
        print(f"error: no stack file Pulumi.{args.stack}.yaml; stacks with a file: {', '.join(stacks)}",
              file=sys.stderr)
        return 2
    runs = [(s, p) for s in stacks for p in (True, False)] if args.all else [(args.stack, args.preview)]
    try:
        configs = {stack: load_config(stack, args.config, root) for stack in dict.fromkeys(s for s, _ in runs)}
    except PolicyConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    blocked, stopped = [], []
    refused = committed_config_problems(stacks, root) if args.all else []
    for problem in refused:
        print(f"ERROR policy pack config {problem}")
    for stack, preview in runs:
        mode = "preview" if preview else "update"
        try:
            report = report_for_stack(stack, preview=preview, config=configs[stack], root=root)
        except (pulumi.RunError, yaml.YAMLError) as error:  # a bad stack file: its message, not a traceback
            print(f"Policy report: stack {stack}, {mode} mode — not evaluated, the program stopped:\n"
                  f"{textwrap.indent(str(error).strip(), '  ')}")
            stopped.append(f"{stack} {mode}")
            continue
        print(format_report(report))
        if report.blocked:
            blocked.append(f"{stack} {mode}")
    if len(runs) > 1:
        print(f"{len(runs)} evaluation(s): {len(blocked)} blocked{' (' + ', '.join(blocked) + ')' if blocked else ''}, "
              f"{len(stopped)} not evaluated{' (' + ', '.join(stopped) + ')' if stopped else ''}")
    return 1 if blocked or stopped or refused else 0


if __name__ == "__main__":
    sys.exit(main())
