"""The two resources every component creates the same way: a role for one AWS service, and a log group."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from . import naming
from .iam.documents import service_trust_policy


def service_role(logical_name: str, *, names: naming.StackNames, account_id: pulumi.Input[str], purpose: str,
                 service: str, description: str, permissions_boundary_arn: str, tags: Mapping[str, str],
                 opts: pulumi.ResourceOptions) -> aws.iam.Role:
    """A role under the stack's IAM path that only `service` may assume, on behalf of this account, capped by the
    permissions boundary when there is one ("" = none)."""
    return aws.iam.Role(
        logical_name,
        name=naming.role_name(names, purpose),
        path=naming.iam_path(names),
        description=description,
        assume_role_policy=pulumi.Output.json_dumps(
            pulumi.Output.from_input(account_id).apply(lambda account: service_trust_policy(service, account))),
        permissions_boundary=permissions_boundary_arn or None,
        tags=tags,
        opts=opts,
    )


def encrypted_log_group(logical_name: str, *, name: str, retention_days: int, key_arn: pulumi.Input[str],
                        tags: Mapping[str, str], opts: pulumi.ResourceOptions) -> aws.cloudwatch.LogGroup:
    """A log group kept `retention_days`, encrypted with the stack's key."""
    return aws.cloudwatch.LogGroup(
        logical_name,
        name=name,
        retention_in_days=retention_days,
        kms_key_id=key_arn,
        tags=tags,
        opts=opts,
    )
