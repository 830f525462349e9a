"""Inline policy of a pipeline's state machine role: exactly the tasks its definition runs."""

from __future__ import annotations

from typing import Any

from .documents import document, statement
from .function_policies import XRAY_WRITE_ACTIONS

# Step Functions delivers logs through CloudWatch Logs' vended-log API, which has no resource-level
# permissions: AWS allows only Resource "*" for these actions.
LOG_DELIVERY_ACTIONS = [
    "logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups", "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:UpdateLogDelivery",
]
GLUE_SYNC_ACTIONS = ["glue:BatchStopJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:StartJobRun"]


def state_machine_policy(*, glue_job_arn: str, function_arns: list[str], topic_arn: str,
                         key_arn: str) -> dict[str, Any]:
    """`function_arns` are unqualified: every retained pipeline version calls its own published version of
    them, so the role may invoke any version of exactly these functions."""
    return document(
        statement("RunGlueJob", GLUE_SYNC_ACTIONS, [glue_job_arn]),
        statement("InvokeStepVersions", ["lambda:InvokeFunction"], sorted(f"{arn}:*" for arn in function_arns)),
        statement("Notify", ["sns:Publish"], [topic_arn]),
        # Execution data and the alert topic are encrypted with the stack key.
        statement("UseStackKey", ["kms:Decrypt", "kms:GenerateDataKey"], [key_arn]),
        statement("DeliverLogs", LOG_DELIVERY_ACTIONS, "*"),
        statement("WriteTraces", [*XRAY_WRITE_ACTIONS, "xray:GetSamplingRules", "xray:GetSamplingTargets"], "*"),
    )


def scheduler_policy(*, target_arn: str, action: str, key_arn: str,
                     target_key_arn: str | None = None) -> dict[str, Any]:
    """What EventBridge Scheduler may do on the stack's behalf: start one target, reading the schedule's input that
    it keeps encrypted with the stack key (`key_arn`), and, for a target encrypted with a key such as a state
    machine, encrypt the input it starts it with."""
    statements = [statement("StartTarget", [action], [target_arn]),
                  statement("DecryptScheduleInput", ["kms:Decrypt"], [key_arn])]
    if target_key_arn:
        statements.append(statement("EncryptTargetInput", ["kms:Decrypt", "kms:GenerateDataKey"], [target_key_arn]))
    return document(*statements)
