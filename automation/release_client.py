"""The AWS calls of the release controller, behind one narrow interface (tests inject faults through it).

Everything here works on AWS alone, without the Pulumi engine or its state: a rollback during an incident
needs neither the backend nor the CLI, only credentials that may update the stack's aliases.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import boto3
from botocore.exceptions import ClientError

from components.artifacts import RETIRED_TAG
from components.pipeline import LIVE_ALIAS
from components.release_info import commit_of
from settings.naming import FUNCTIONS, StackName, function_name, name_prefix
from settings.schema import PROJECT

EXECUTION_STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")
# Functions reached through their `live` alias (asynchronous: EventBridge targets), which a release moves and a
# rollback pins; the pipeline-invoked ones are pinned by version in each pipeline version instead.
LIVE_FUNCTIONS = tuple(key for key, through_live in FUNCTIONS.items() if through_live)
VERSION_ARN = re.compile(r"^(arn:[^:]+:states:[^:]*:\d{12}:stateMachine:[^:]+):(\d+)$")
# DescribeAlarms takes at most 100 names per call.
ALARM_BATCH = 100


class ReleaseError(RuntimeError):
    """A release, rollback or status call that cannot go on; the message says what and what to do."""


def version_number(version_arn: str) -> int:
    match = VERSION_ARN.match(version_arn)
    if not match:
        raise ReleaseError(f"{version_arn!r} is not a state machine version ARN (…:stateMachine:<name>:<number>)")
    return int(match.group(2))


def machine_of(version_arn: str) -> str:
    """The unqualified state machine ARN of a version ARN."""
    version_number(version_arn)
    return version_arn.rsplit(":", 1)[0]


@dataclass(frozen=True)
class Route:
    version_arn: str
    weight: int


@dataclass(frozen=True)
class AliasState:
    arn: str
    routes: tuple[Route, ...]
    description: str

    @property
    def main_version(self) -> str:
        """The version that takes most (during a canary: the old one) of the executions."""
        return max(self.routes, key=lambda r: r.weight).version_arn

    @property
    def versions(self) -> tuple[int, ...]:
        """The version numbers it routes to, oldest first."""
        return tuple(sorted(version_number(r.version_arn) for r in self.routes))


@dataclass(frozen=True)
class FunctionAlias:
    """A Lambda function's `live` alias: the version it runs (a number) and its description."""

    function: str
    version: int
    description: str


@dataclass(frozen=True)
class VersionInfo:
    arn: str
    created: datetime | None
    commit: str
    # The Glue code this version runs (s3:// URIs), from its definition's per-run arguments.
    glue_code: tuple[str, ...]

    @property
    def number(self) -> int:
        return version_number(self.arn)


class ReleaseClient(Protocol):
    def alias(self, alias_arn: str) -> AliasState: ...

    def route(self, alias_arn: str, routes: Iterable[Route], description: str) -> None: ...

    def version(self, version_arn: str) -> VersionInfo | None: ...

    def versions(self, state_machine_arn: str) -> list[str]: ...

    def aliases(self, state_machine_arn: str) -> list[str]: ...

    def delete_version(self, version_arn: str) -> None: ...

    def firing_alarms(self, alarm_names: list[str]) -> list[str]: ...

    def executions(self, version_arn: str, since: datetime) -> dict[str, int]: ...

    def retire_artifacts(self, uris: Iterable[str]) -> None: ...

    def live_aliases(self, stack: str) -> dict[str, str]: ...

    def function_aliases(self, stack: str) -> list[FunctionAlias]: ...

    def function_versions(self, function: str) -> list[int]: ...

    def route_function(self, function: str, version: int, description: str) -> None: ...


def glue_code_of(definition: str) -> tuple[str, ...]:
    """The s3:// URIs of the Glue script and library a definition passes to its runs."""
    try:
        states = json.loads(definition).get("States", {})
    except (json.JSONDecodeError, AttributeError):
        return ()
    arguments = (states.get("RunGlueJob", {}).get("Parameters") or {}).get("Arguments") or {}
    return tuple(sorted(v for k, v in arguments.items() if k in ("--scriptLocation", "--extra-py-files")))


class AwsReleaseClient:
    """`ReleaseClient` on boto3 (Step Functions, CloudWatch, S3)."""

    def __init__(self, session: boto3.Session | None = None):
        session = session or boto3.Session()
        self.sfn, self.cloudwatch, self.s3, self.lambda_ = (
            session.client(s) for s in ("stepfunctions", "cloudwatch", "s3", "lambda"))

    def alias(self, alias_arn: str) -> AliasState:
        try:
            described = self.sfn.describe_state_machine_alias(stateMachineAliasArn=alias_arn)
        except ClientError as error:
            raise ReleaseError(f"alias {alias_arn}: {error.response['Error']['Message']}") from None
        return AliasState(arn=alias_arn, description=described.get("description", ""), routes=tuple(
            Route(r["stateMachineVersionArn"], int(r["weight"])) for r in described["routingConfiguration"]))

    def route(self, alias_arn: str, routes: Iterable[Route], description: str) -> None:
        self.sfn.update_state_machine_alias(
            stateMachineAliasArn=alias_arn, description=description,
            routingConfiguration=[{"stateMachineVersionArn": r.version_arn, "weight": r.weight} for r in routes])

    def version(self, version_arn: str) -> VersionInfo | None:
        try:
            described = self.sfn.describe_state_machine(stateMachineArn=version_arn)
        except self.sfn.exceptions.StateMachineDoesNotExist:
            return None
        definition = described.get("definition", "{}")
        try:
            comment = json.loads(definition).get("Comment", "")
        except json.JSONDecodeError:
            comment = ""
        return VersionInfo(arn=version_arn, created=described.get("creationDate"), commit=commit_of(comment),
                           glue_code=glue_code_of(definition))

    def _every(self, operation: str, items: str, item_key: str, **params: str) -> list[str]:
        """Every item of a nextToken-paged Step Functions listing (botocore has no paginator for these)."""
        found, token = [], None
        while True:
            page = getattr(self.sfn, operation)(**params, **({"nextToken": token} if token else {}))
            found += [item[item_key] for item in page[items]]
            token = page.get("nextToken")
            if not token:
                return found

    def versions(self, state_machine_arn: str) -> list[str]:
        return self._every("list_state_machine_versions", "stateMachineVersions", "stateMachineVersionArn",
                           stateMachineArn=state_machine_arn)

    def aliases(self, state_machine_arn: str) -> list[str]:
        return self._every("list_state_machine_aliases", "stateMachineAliases", "stateMachineAliasArn",
                           stateMachineArn=state_machine_arn)

    def delete_version(self, version_arn: str) -> None:
        self.sfn.delete_state_machine_version(stateMachineVersionArn=version_arn)

    def firing_alarms(self, alarm_names: list[str]) -> list[str]:
        firing = []
        for start in range(0, len(alarm_names), ALARM_BATCH):
            page = self.cloudwatch.describe_alarms(AlarmNames=alarm_names[start:start + ALARM_BATCH],
                                                   StateValue="ALARM")
            # Filtered here too: an emulator (moto) that ignores StateValue next to AlarmNames must not fire all.
            firing += [a["AlarmName"] for a in page["MetricAlarms"] + page.get("CompositeAlarms", [])
                       if a.get("StateValue") == "ALARM"]
        return sorted(firing)

    def executions(self, version_arn: str, since: datetime) -> dict[str, int]:
        """How many executions of this version started since `since`, by status (newest first, so the pages stop
        at the first older one)."""
        counts: dict[str, int] = {}
        for page in self.sfn.get_paginator("list_executions").paginate(stateMachineArn=version_arn):
            for execution in page["executions"]:
                if execution["startDate"] < since:
                    return counts
                counts[execution["status"]] = counts.get(execution["status"], 0) + 1
        return counts

    def retire_artifacts(self, uris: Iterable[str]) -> None:
        """Tag each object so the artifacts bucket's lifecycle expires it; the object's other tags stay."""
        for uri in uris:
            bucket, key = uri.removeprefix("s3://").split("/", 1)
            try:
                tags = self.s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
            except self.s3.exceptions.NoSuchKey:
                continue
            tags = [t for t in tags if t["Key"] != RETIRED_TAG[0]] + [{"Key": RETIRED_TAG[0], "Value": RETIRED_TAG[1]}]
            self.s3.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": tags})

    def live_aliases(self, stack: str) -> dict[str, str]:
        """{pipeline (job, hyphenated): live alias ARN} of a stack's pipelines, found in AWS by name."""
        prefix, suffix, found = f"{name_prefix(StackName(PROJECT, stack))}-", "-pipeline", {}
        for page in self.sfn.get_paginator("list_state_machines").paginate():
            for machine in page["stateMachines"]:
                name = machine["name"]
                if name.startswith(prefix) and name.endswith(suffix):
                    alias = f"{machine['stateMachineArn']}:{LIVE_ALIAS}"
                    if alias in self.aliases(machine["stateMachineArn"]):
                        found[name.removeprefix(prefix).removesuffix(suffix)] = alias
        return found

    def function_aliases(self, stack: str) -> list[FunctionAlias]:
        """The `live` aliases of the stack's functions reached through them (absent ones are skipped)."""
        found = []
        for key in LIVE_FUNCTIONS:
            name = function_name(StackName(PROJECT, stack), key)
            try:
                alias = self.lambda_.get_alias(FunctionName=name, Name=LIVE_ALIAS)
            except self.lambda_.exceptions.ResourceNotFoundException:
                continue
            found.append(FunctionAlias(name, int(alias["FunctionVersion"]), alias.get("Description", "")))
        return found

    def function_versions(self, function: str) -> list[int]:
        return [int(v["Version"]) for page in self.lambda_.get_paginator("list_versions_by_function").paginate(
            FunctionName=function) for v in page["Versions"] if v["Version"].isdigit()]

    def route_function(self, function: str, version: int, description: str) -> None:
        """One UpdateAlias: all traffic to `version` (any extra weight dropped) with its description."""
        self.lambda_.update_alias(FunctionName=function, Name=LIVE_ALIAS, FunctionVersion=str(version),
                                  Description=description, RoutingConfig={"AdditionalVersionWeights": {}})
