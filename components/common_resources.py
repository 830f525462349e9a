"""The two resources every component creates the same way: a role for one AWS service, and a log group."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from . import naming
from .aws_context import AwsContext
from .config import StackSettings
from .iam.documents import service_trust_policy


def service_role(logical_name: str, *, settings: StackSettings, aws_context: AwsContext, purpose: str, service: str,
                 description: str, opts: pulumi.ResourceOptions) -> aws.iam.Role:
    """A role under the stack's IAM path that only `service` may assume, on behalf of this account, capped by the
    stack's permissions boundary when it has one."""
    return aws.iam.Role(
        logical_name,
        name=naming.role_name(settings, purpose),
        path=naming.iam_path(settings),
        description=description,
        assume_role_policy=pulumi.Output.json_dumps(
            aws_context.account_id.apply(lambda account: service_trust_policy(service, account))),
        permissions_boundary=settings.permissions_boundary_arn or None,
        tags=settings.tags,
        opts=opts,
    )


def encrypted_log_group(logical_name: str, *, settings: StackSettings, name: str, key_arn: pulumi.Input[str],
                        opts: pulumi.ResourceOptions) -> aws.cloudwatch.LogGroup:
    """A log group with the stack's retention, encrypted with the stack's key."""
    return aws.cloudwatch.LogGroup(
        logical_name,
        name=name,
        retention_in_days=settings.log_retention_days,
        kms_key_id=key_arn,
        tags=settings.tags,
        opts=opts,
    )
