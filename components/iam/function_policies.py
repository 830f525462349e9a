"""Inline policies of the pipeline's Lambda functions: what every function needs, then each one's own."""

from __future__ import annotations

from settings import naming

from .documents import prefix_condition, statement

# X-Ray's write actions have no resource-level permission: AWS allows only Resource "*".
XRAY_WRITE_ACTIONS = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]


def function_base_statements(*, log_group_arn: str, key_arn: str, dead_letter_queue_arn: str | None) -> list[dict]:
    statements = [
        statement("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group_arn}:*"]),
        statement("WriteTraces", XRAY_WRITE_ACTIONS, "*"),
        # Environment variables are encrypted with the stack key.
        statement("DecryptEnvironment", ["kms:Decrypt"], [key_arn]),
    ]
    if dead_letter_queue_arn:
        statements.append(statement("SendFailedEvents", ["sqs:SendMessage"], [dead_letter_queue_arn]))
        statements.append(statement("EncryptFailedEvents", ["kms:GenerateDataKey"], [key_arn]))
    return statements


def validate_input_statements(*, raw_bucket_arn: str, jobs: list[str]) -> list[dict]:
    """Lists (never reads) the jobs' raw input, of scheduled runs and of health checks: sizes come with the
    listing."""
    prefixes = [prefix for job in jobs for prefix in (naming.job_prefix(job), naming.health_check_prefix(job))]
    return [statement("ListJobInput", ["s3:ListBucket"], [raw_bucket_arn], condition=prefix_condition(prefixes))]


def quality_gate_statements(*, curated_bucket_arn: str, jobs: list[str], key_arn: str) -> list[dict]:
    """Reads the quality results of normal runs (`<job>/_dq/`) and of health-check runs
    (`_health/<job>/<run>/_dq/`), nothing else of the curated data."""
    return [
        statement("ReadQualityResults", ["s3:GetObject"],
                  [pattern for job in jobs for pattern in (
                      f"{curated_bucket_arn}/{naming.job_prefix(job)}_dq/*",
                      f"{curated_bucket_arn}/{naming.health_check_prefix(job)}*/_dq/*")]),
        statement("DecryptQualityResults", ["kms:Decrypt"], [key_arn]),
    ]


def job_monitor_statements(*, topic_arn: str, key_arn: str) -> list[dict]:
    return [
        statement("PublishAlerts", ["sns:Publish"], [topic_arn]),
        statement("EncryptAlerts", ["kms:Decrypt", "kms:GenerateDataKey"], [key_arn]),
    ]


def cleanup_statements(*, locations: list[tuple[str, str]]) -> list[dict]:
    """`locations`: (bucket ARN, prefix ending in '/') pairs the function may list and delete under."""
    buckets: dict[str, list[str]] = {}
    for bucket_arn, prefix in locations:
        buckets.setdefault(bucket_arn, []).append(prefix)
    return [
        *(statement(f"ListExpired{i}", ["s3:ListBucket"], [bucket_arn], condition=prefix_condition(prefixes))
          for i, (bucket_arn, prefixes) in enumerate(sorted(buckets.items()))),
        statement("DeleteExpired", ["s3:DeleteObject"], [f"{arn}/{prefix}*" for arn, prefix in locations]),
    ]
