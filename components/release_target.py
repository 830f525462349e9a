"""Which version a `live` alias is declared on by this update: the target version rule, shared by the pipelines'
Step Functions aliases and the Lambda functions' aliases.

The program reads each alias as it is in AWS at plan time (pulumi-aws's alias data sources; no alias = a first
deploy), then:
- hold (`data-pipeline:holdAliases`, set by `python -m automation release deploy` for its first update only) and
  the alias exists: the version it routes to now;
- a rollback's pin (components/release_pins.py) in its description, and this deploy published nothing newer than
  the version rolled back from: the pinned version, and the description keeps the pin;
- otherwise the version this deploy published, so a newer release replaces a pin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi.output import contains_unknowns

from .release_pins import Pin, parse_pin

# What each reason looks like in the `releases` export.
HOLD, PIN, RELEASE, FIRST = "hold", "pin", "release", "first deploy"
# How pulumi-aws's data sources say there is no such alias (or not yet the function or state machine it belongs to):
# the Terraform provider's own messages (for a missing Step Functions alias, its generic not-found) and AWS's codes.
ABSENT = ("no Step Functions State Machine Aliases matched", "couldn't find resource", "StateMachineDoesNotExist",
          "ResourceNotFoundException")


@dataclass(frozen=True)
class AliasInAws:
    """A `live` alias as the data source answered at plan time."""

    version: int  # the version it routes most of the traffic to
    description: str = ""


@dataclass(frozen=True)
class Target:
    live: int | None  # None: no alias yet
    version: int | None  # None: the version this update publishes, not known before it runs (a preview)
    reason: str  # HOLD, PIN, RELEASE or FIRST
    pin: Pin | None = None  # the pin the alias keeps

    def export(self) -> dict[str, Any]:
        return {"live": self.live, "target": self.version, "reason": self.reason}

    def describe(self, how: str) -> str:
        """What the update does to the alias, e.g. `live v3 -> v5 (canary 10 % for 30 min)`; `how` is the
        deployment (for a move only)."""
        if self.reason == HOLD:
            return f"held at v{self.version}"
        if self.reason == PIN:
            note = f"; {self.pin.note}" if self.pin.note else ""
            return f"pinned v{self.version} by rollback (over v{self.pin.over}{note})"
        target = f"v{self.version}" if self.version is not None else "the version this update publishes"
        if self.version is not None and self.version == self.live:
            return f"live v{self.live}, nothing new to release"
        live = f"live v{self.live}" if self.live is not None else "no live version yet"
        return f"{live} -> {target} ({how})"


def choose_target(alias: AliasInAws | None, published: int | None, hold: bool) -> Target:
    """The target version rule (module docstring); `published` None: a version this update publishes, unknown yet
    (so newer than every existing one)."""
    if alias is None:
        return Target(live=None, version=published, reason=FIRST)
    if hold:
        return Target(live=alias.version, version=alias.version, reason=HOLD)
    pin = parse_pin(alias.description)
    if pin and published is not None and pin.holds_against(published):
        return Target(live=alias.version, version=pin.version, reason=PIN, pin=pin)
    return Target(live=alias.version, version=published, reason=RELEASE)


def version_number(qualified_arn: Any) -> int | None:
    """The version a qualified ARN (or a Lambda version string) names; None while it is unknown (a preview)."""
    if qualified_arn is None or contains_unknowns(qualified_arn) or not str(qualified_arn):
        return None
    return int(str(qualified_arn).rsplit(":", 1)[-1])


def _read(what: str, lookup: Callable[[], Any], answer: Callable[[Any], AliasInAws]) -> AliasInAws | None:
    try:
        found = lookup()
    except Exception as error:  # the SDK raises a bare Exception for a failed invoke
        if any(marker in str(error) for marker in ABSENT):
            return None
        # Never taken for a first deploy: that would move an alias a hold or a pin should keep.
        raise pulumi.RunError(f"reading {what} from AWS failed: {error}") from None
    return answer(found)


def state_machine_alias(state_machine_arn: pulumi.Input[str], name: str) -> pulumi.Output[AliasInAws | None]:
    """The state machine's alias as it is in AWS, or None when there is none yet."""
    def answer(alias) -> AliasInAws:
        routes = sorted(alias.routing_configurations, key=lambda route: route.weight, reverse=True)
        return AliasInAws(version=version_number(routes[0].state_machine_version_arn),
                          description=alias.description or "")

    return pulumi.Output.from_input(state_machine_arn).apply(lambda arn: _read(
        f"alias {name} of {arn}", lambda: aws.sfn.get_alias(name=name, statemachine_arn=arn), answer))


def function_alias(function_name: str, name: str) -> pulumi.Output[AliasInAws | None]:
    """The Lambda function's alias as it is in AWS, or None when there is none yet."""
    return pulumi.Output.from_input(function_name).apply(lambda function: _read(
        f"alias {name} of function {function}", lambda: aws.lambda_.get_alias(function_name=function, name=name),
        lambda alias: AliasInAws(version=int(alias.function_version), description=alias.description or "")))


def decide(alias: pulumi.Output[AliasInAws | None], published: pulumi.Input[str], hold: bool,
           log: Callable[[Target], str]) -> pulumi.Output[Target]:
    """The target of one alias, from what AWS has (`alias`) and the version this deploy published (unknown in a
    preview); logs `log(target)` once decided."""
    def target_of(now: AliasInAws | None, version: Any) -> Target:
        target = choose_target(now, version_number(version), hold)
        pulumi.log.info(log(target))
        return target

    # The published version is unknown in a preview, where the rule still decides holds, pins and first deploys.
    return alias.apply(lambda now: pulumi.Output.from_input(published).apply(
        lambda version: target_of(now, version), run_with_unknowns=True))


def declared_version(target: pulumi.Output[Target], published: pulumi.Input[str],
                     qualified: Callable[[int], pulumi.Input[str]]) -> pulumi.Output[str]:
    """What the alias is declared on: `published` (a version ARN or number: unknown in a preview) when the target
    is the version this update publishes, else `qualified(target version)`, known in a preview too."""
    return target.apply(lambda t: published if t.version is None else qualified(t.version))


def alias_description(target: pulumi.Output[Target], released: str) -> pulumi.Output[str]:
    """The pin while it holds (so the next update still sees it), else `released`."""
    return target.apply(lambda t: t.pin.describe() if t.reason == PIN else released)
