"""What every component creates the same way: a role for one AWS service, and a log group."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from settings import naming

from .iam.documents import service_trust_policy
from .stack_context import StackContext


def service_role(logical_name: str, context: StackContext, *, purpose: str, service: str, description: str,
                 opts: pulumi.ResourceOptions) -> aws.iam.Role:
    """A role under the stack's IAM path that only `service` may assume, on behalf of the stack's account, capped by
    the stack's permissions boundary."""
    return aws.iam.Role(
        logical_name,
        name=naming.role_name(context.names, purpose),
        path=naming.iam_path(context.names),
        description=description,
        assume_role_policy=pulumi.Output.json_dumps(
            pulumi.Output.from_input(context.account_id).apply(lambda account: service_trust_policy(service, account))),
        permissions_boundary=context.permissions_boundary_arn,
        tags=context.tags,
        opts=opts,
    )


def service_role_with_policy(logical_name: str, context: StackContext, *, purpose: str, service: str,
                             description: str, policy: pulumi.Input[dict[str, Any]], opts: pulumi.ResourceOptions
                             ) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
    """A service role (`<logical_name>-role`, as service_role makes it) and its inline policy document
    (`<logical_name>-policy`)."""
    role = service_role(f"{logical_name}-role", context, purpose=purpose, service=service, description=description,
                        opts=opts)
    return role, aws.iam.RolePolicy(f"{logical_name}-policy", role=role.id, policy=pulumi.Output.json_dumps(policy),
                                    opts=opts)


def encrypted_log_group(logical_name: str, context: StackContext, *, name: str, key_arn: pulumi.Input[str],
                        opts: pulumi.ResourceOptions) -> aws.cloudwatch.LogGroup:
    """A log group kept as long as the stack keeps logs, encrypted with the stack's key."""
    return aws.cloudwatch.LogGroup(
        logical_name,
        name=name,
        retention_in_days=context.log_retention_days,
        kms_key_id=key_arn,
        tags=context.tags,
        opts=opts,
    )


def alert_alarm(logical_name: str, context: StackContext, *, name: str, description: str, topic_arn: pulumi.Input[str],
                opts: pulumi.ResourceOptions, **settings: Any) -> aws.cloudwatch.MetricAlarm:
    """An alarm that tells the stack's alert topic when it fires and when it clears, raised at or above its
    threshold; no data is no evidence (`notBreaching`). `settings`: the metric (or metric queries), period,
    evaluation periods and threshold."""
    return aws.cloudwatch.MetricAlarm(
        logical_name,
        name=name,
        alarm_description=description,
        comparison_operator="GreaterThanOrEqualToThreshold",
        treat_missing_data="notBreaching",
        alarm_actions=[topic_arn],
        ok_actions=[topic_arn],
        tags=context.tags,
        opts=opts,
        **settings,
    )
