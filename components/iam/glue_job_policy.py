"""The inline policy of one Glue job's role: its own prefixes, key, log groups and catalog table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .. import naming
from .documents import document, statement

# Namespace Glue publishes job metrics, observability metrics and job insights to.
GLUE_METRICS_NAMESPACE = "Glue"


@dataclass(frozen=True)
class GlueJobPolicyInputs:
    """Resolved (plain string) values the policy names."""

    partition: str
    region: str
    account_id: str
    job: str
    key_arn: str
    artifacts_bucket_arn: str
    raw_bucket_arn: str
    curated_bucket_arn: str
    temp_bucket_arn: str
    log_group_arns: Sequence[str]
    database: str
    table: str
    # The fast PR check's stack: health-check folders and pull requests' uploaded code only, no catalog table.
    health_check_only: bool


def glue_job_policy(p: GlueJobPolicyInputs) -> dict[str, Any]:
    job_prefix = naming.job_prefix(p.job)
    data_prefix = naming.job_data_prefix(p.job, p.health_check_only)
    glue_arn = f"arn:{p.partition}:glue:{p.region}:{p.account_id}"
    code = [f"{p.artifacts_bucket_arn}/glue/{job_prefix}*"]
    if p.health_check_only:
        code.append(f"{p.artifacts_bucket_arn}/{naming.PR_CHECKS_FOLDER}/*/glue/{job_prefix}*")
    statements = [
        statement("ReadJobCode", ["s3:GetObject"], code),
        statement("ListOwnPrefixes", ["s3:ListBucket"],
                  [p.raw_bucket_arn, p.curated_bucket_arn, p.temp_bucket_arn],
                  condition={"StringLike": {"s3:prefix": [data_prefix.rstrip("/"), f"{data_prefix}*"]}}),
        statement("ReadRawInput", ["s3:GetObject"], [f"{p.raw_bucket_arn}/{data_prefix}*"]),
        # Spark commits through temporary objects under the output path, so it must delete what it wrote.
        statement("WriteCuratedAndTemp", ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                  [f"{p.curated_bucket_arn}/{data_prefix}*", f"{p.temp_bucket_arn}/{data_prefix}*"]),
        statement("UseStackKey", ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
                  [p.key_arn]),
        statement("WriteOwnLogs", ["logs:AssociateKmsKey", "logs:CreateLogStream", "logs:PutLogEvents"],
                  [arn for group in p.log_group_arns for arn in (group, f"{group}:*")]),
    ]
    # A health-check run publishes nothing (jobs/common/runner.py), so the check stack's jobs get no catalog table.
    if not p.health_check_only:
        statements.append(statement(
            "RegisterCuratedTable",
            ["glue:BatchCreatePartition", "glue:BatchGetPartition", "glue:CreatePartition", "glue:CreateTable",
             "glue:GetDatabase", "glue:GetPartition", "glue:GetPartitions", "glue:GetTable", "glue:UpdatePartition",
             "glue:UpdateTable"],
            [f"{glue_arn}:catalog", f"{glue_arn}:database/{p.database}", f"{glue_arn}:table/{p.database}/{p.table}"]))
    return document(
        *statements,
        # With the Glue Data Catalog as Spark's metastore, the session looks up the `default` database on start.
        statement("LookUpDefaultDatabase", ["glue:GetDatabase"],
                  [f"{glue_arn}:catalog", f"{glue_arn}:database/default"]),
        # cloudwatch:PutMetricData has no resource-level permission: AWS only allows Resource "*";
        # the namespace condition keeps the job to Glue's own metrics.
        statement("PublishGlueMetrics", ["cloudwatch:PutMetricData"], "*",
                  condition={"StringEquals": {"cloudwatch:namespace": GLUE_METRICS_NAMESPACE}}),
    )
