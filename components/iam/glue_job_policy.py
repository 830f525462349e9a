"""The inline policy of one Glue job's role: its own prefixes, key, log groups and Iceberg table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from settings import naming

from .documents import document, glue_table_arns, prefix_condition, statement

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
    # The fast PR check's stack: health-check folders, pull requests' uploaded code and the table (whose
    # throw-away branches health checks write) only.
    health_check_only: bool


def glue_job_policy(p: GlueJobPolicyInputs) -> dict[str, Any]:
    job_prefix = naming.job_prefix(p.job)
    data_prefixes = naming.job_data_prefixes(p.job, p.health_check_only)
    # Normal stacks' job prefix holds the table's files already; the check stack reaches them explicitly.
    curated_prefixes = (*data_prefixes, naming.table_prefix(p.job)) if p.health_check_only else data_prefixes
    glue_arn = f"arn:{p.partition}:glue:{p.region}:{p.account_id}"
    code = [f"{p.artifacts_bucket_arn}/glue/{job_prefix}*"]
    if p.health_check_only:
        code.append(f"{p.artifacts_bucket_arn}/{naming.PR_CHECKS_FOLDER}/*/glue/{job_prefix}*")
    return document(
        statement("ReadJobCode", ["s3:GetObject"], code),
        statement("ListRawInputAndTemp", ["s3:ListBucket"], [p.raw_bucket_arn, p.temp_bucket_arn],
                  condition=prefix_condition(data_prefixes)),
        statement("ListCuratedOutputAndTable", ["s3:ListBucket"], [p.curated_bucket_arn],
                  condition=prefix_condition(curated_prefixes)),
        statement("ReadRawInput", ["s3:GetObject"], [f"{p.raw_bucket_arn}/{prefix}*" for prefix in data_prefixes]),
        # Spark commits through temporary objects under the output path, so it must delete what it wrote; Iceberg
        # writes data and metadata files under the table's prefix, reads them back, and aborts the multipart
        # upload of a file whose write failed.
        statement("WriteCuratedAndTemp", ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject",
                                          "s3:PutObject"],
                  [*(f"{p.curated_bucket_arn}/{prefix}*" for prefix in curated_prefixes),
                   *(f"{p.temp_bucket_arn}/{prefix}*" for prefix in data_prefixes)]),
        statement("UseStackKey", ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
                  [p.key_arn]),
        statement("WriteOwnLogs", ["logs:AssociateKmsKey", "logs:CreateLogStream", "logs:PutLogEvents"],
                  [arn for group in p.log_group_arns for arn in (group, f"{group}:*")]),
        # Iceberg's Glue catalog loads the table and commits each snapshot, branch and property change by swapping
        # its metadata location (glue:UpdateTable); the table itself is declared by the stack, never created here.
        statement("CommitToOwnTable", ["glue:GetDatabase", "glue:GetTable", "glue:UpdateTable"],
                  glue_table_arns(p.partition, p.region, p.account_id, p.database, p.table)),
        # With the Glue Data Catalog as Spark's metastore, the session looks up the `default` database on start.
        statement("LookUpDefaultDatabase", ["glue:GetDatabase"],
                  [f"{glue_arn}:catalog", f"{glue_arn}:database/default"]),
        # cloudwatch:PutMetricData has no resource-level permission: AWS only allows Resource "*";
        # the namespace condition keeps the job to Glue's own metrics.
        statement("PublishGlueMetrics", ["cloudwatch:PutMetricData"], "*",
                  condition={"StringEquals": {"cloudwatch:namespace": GLUE_METRICS_NAMESPACE}}),
    )
