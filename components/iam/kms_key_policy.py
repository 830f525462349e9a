"""Key policy of the stack's customer-managed KMS key."""

from __future__ import annotations

from typing import Any

from .documents import document, statement

# Managing the key, without using it: kept apart so no principal gets kms:* on the data.
KEY_ADMIN_ACTIONS = [
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey",
    "kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation", "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus", "kms:ListAliases", "kms:ListResourceTags", "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
]
KEY_USE_ACTIONS = [
    "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom", "kms:ReEncryptTo",
]


def key_administration(account_root: dict[str, str]) -> dict[str, Any]:
    """The account (its IAM policies) administers the key; in a key policy `Resource: "*"` means this key."""
    return statement("KeyAdministration", KEY_ADMIN_ACTIONS, "*", principal=account_root)


# Services that encrypt this stack's data with the key on a caller's behalf (the deployer uploading code,
# Lambda encrypting environment variables, SQS and SNS encrypting messages, Step Functions execution data,
# EventBridge Scheduler the schedules' input).
VIA_SERVICES = ("glue", "lambda", "s3", "scheduler", "sns", "sqs", "states")


def kms_key_policy(*, partition: str, region: str, account_id: str, role_arn_pattern: str,
                   log_group_arn_pattern: str, trail_arn: str | None = None) -> dict[str, Any]:
    """The account administers the key; this stack's roles use it directly, other principals of the account
    only through the stack's services, CloudWatch Logs only for the stack's log groups, and CloudTrail only for
    the stack's object-access trail (`trail_arn`, if it has one).

    In a key policy `Resource: "*"` means "this key" (a key policy cannot name other resources).
    """
    account_root = {"AWS": f"arn:{partition}:iam::{account_id}:root"}
    trail = [
        # CloudTrail encrypts the log files it delivers; with the log bucket's S3 Bucket Key, S3 also decrypts
        # the bucket key on CloudTrail's behalf.
        statement("UseByThisStacksTrail", ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"], "*",
                  principal={"Service": "cloudtrail.amazonaws.com"},
                  condition={"StringEquals": {"aws:SourceArn": trail_arn}}),
    ] if trail_arn else []
    return document(
        key_administration(account_root),
        statement("UseByThisStacksRoles", KEY_USE_ACTIONS, "*", principal=account_root, condition={
            "ArnLike": {"aws:PrincipalArn": role_arn_pattern},
            "StringEquals": {"kms:CallerAccount": account_id},
        }),
        statement("UseThroughStackServices", KEY_USE_ACTIONS, "*", principal=account_root, condition={
            "StringEquals": {"kms:CallerAccount": account_id,
                             "kms:ViaService": [f"{service}.{region}.amazonaws.com" for service in VIA_SERVICES]},
        }),
        statement("GrantsForAwsResourcesOnly", ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "*",
                  principal=account_root, condition={
                      "StringEquals": {"kms:CallerAccount": account_id},
                      "Bool": {"kms:GrantIsForAWSResource": "true"},
                  }),
        # Alarms publish to the encrypted alert topic as the CloudWatch service.
        statement("UseByThisAccountsAlarms", ["kms:Decrypt", "kms:GenerateDataKey"], "*",
                  principal={"Service": "cloudwatch.amazonaws.com"},
                  condition={"StringEquals": {"aws:SourceAccount": account_id}}),
        statement("UseByThisStacksLogGroups",
                  ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom",
                   "kms:ReEncryptTo"], "*",
                  principal={"Service": f"logs.{region}.amazonaws.com"},
                  condition={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_group_arn_pattern}}),
        *trail,
    )
