"""Checks a policy pack configuration (the JSON `--policy-pack-config` passes) before it is used.

The engine applies a configured `enforcementLevel` itself: a disabled policy is never called, so no policy can
notice that it was switched off. The guard therefore runs where configurations are used: the offline report
(harness/policy_report.py) and a workflow step before each preview (`python policies/check_config.py`).

Refused: a policy name the pack does not have (a typo would otherwise configure nothing), a level that is not
one of the engine's, a settings value that is neither a level nor an object, and, on a protected stack (prod), a
mandatory policy configured below mandatory.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pulumi_policy import EnforcementLevel, Policy

from .framework import PROTECTED_STACKS

LEVEL = "enforcementLevel"
LEVELS = tuple(level.value for level in EnforcementLevel)
# A remediating policy that still finds a violation reports it as mandatory (pulumi-policy's Analyze).
BLOCKING = frozenset({EnforcementLevel.MANDATORY.value, EnforcementLevel.REMEDIATE.value})


def configured_level(settings: Any) -> str | None:
    """The level a pack config entry sets: a bare level string, or the object's `enforcementLevel`."""
    return settings.get(LEVEL) if isinstance(settings, Mapping) else settings


def config_problems(config: Mapping[str, Any], stack: str, policies: Iterable[Policy]) -> list[str]:
    """One line per problem of `config` used for `stack`; empty when it may be used."""
    levels = {policy.name: (policy.enforcement_level or EnforcementLevel.ADVISORY).value for policy in policies}
    problems = []
    for name, settings in config.items():
        if name not in levels:
            problems.append(f"unknown policy '{name}' in the policy pack config; known policies: "
                            f"{', '.join(sorted(levels))}")
            continue
        if not isinstance(settings, str | Mapping):
            problems.append(f"policy '{name}': settings must be an enforcement level or an object, not "
                            f"{json.dumps(settings)}")
            continue
        level = configured_level(settings)
        if level is None:
            continue
        if level not in LEVELS:
            problems.append(f"policy '{name}': {LEVEL} {json.dumps(level)} is not one of {', '.join(LEVELS)}")
        elif stack in PROTECTED_STACKS and levels[name] in BLOCKING and level not in BLOCKING:
            problems.append(f"policy '{name}' is mandatory and cannot be set to '{level}' on production stack "
                            f"'{stack}'; remove the {LEVEL} (protected stacks: {', '.join(PROTECTED_STACKS)})")
    return problems


class PolicyConfigError(ValueError):
    """A policy pack config file that cannot be used; the message names the file."""


def read_config(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        raise PolicyConfigError(f"policy pack config {path}: no such file") from None
    except json.JSONDecodeError as error:
        raise PolicyConfigError(f"policy pack config {path} is not valid JSON: {error}") from None
    if not isinstance(config, dict):
        raise PolicyConfigError(f"policy pack config {path} must be a JSON object of policy name to settings, "
                                f"not {type(config).__name__}")
    return config


def stacks_served(path: Path, stacks: Iterable[str]) -> list[str]:
    """The stacks a committed config file is used for: `<stack>.json` for its stack (the workflows pass the file
    by stack name); any other name could be passed to any stack, so it must be fit for the protected ones."""
    return [path.stem] if path.stem in stacks else list(PROTECTED_STACKS)


def main(argv: list[str] | None = None) -> int:
    from . import ALL_POLICIES

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", required=True, help="the stack the configuration is used for, e.g. prod")
    parser.add_argument("config", type=Path, help="policy pack config JSON; a missing file configures nothing")
    args = parser.parse_args(argv)
    if not args.config.exists():
        print(f"policy pack config {args.config}: none, every policy at its own level on stack '{args.stack}'")
        return 0
    try:
        problems = config_problems(read_config(args.config), args.stack, ALL_POLICIES)
    except PolicyConfigError as error:
        problems = [str(error)]
    for problem in problems:
        print(f"error: {args.config}: {problem}", file=sys.stderr)
    if not problems:
        print(f"policy pack config {args.config}: fit for stack '{args.stack}'")
    return 1 if problems else 0
