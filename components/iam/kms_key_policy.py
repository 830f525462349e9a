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


def kms_key_policy(*, partition: str, region: str, account_id: str, role_arn_pattern: str,
                   log_group_arn_pattern: str) -> dict[str, Any]:
    """The account administers the key; only this stack's roles and its log groups may use it.

    In a key policy `Resource: "*"` means "this key" (a key policy cannot name other resources).
    """
    account_root = {"AWS": f"arn:{partition}:iam::{account_id}:root"}
    return document(
        statement("KeyAdministration", KEY_ADMIN_ACTIONS, "*", principal=account_root),
        statement("UseByThisStacksRoles", KEY_USE_ACTIONS, "*", principal=account_root, condition={
            "ArnLike": {"aws:PrincipalArn": role_arn_pattern},
            "StringEquals": {"kms:CallerAccount": account_id},
        }),
        statement("UseByThisStacksLogGroups",
                  ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom",
                   "kms:ReEncryptTo"], "*",
                  principal={"Service": f"logs.{region}.amazonaws.com"},
                  condition={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_group_arn_pattern}}),
    )
