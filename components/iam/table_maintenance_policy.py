"""The inline policy of a curated table's maintenance role: what Glue's table optimizers need, on that table only.

Compaction and snapshot retention rewrite and delete the table's files and commit new metadata (glue:UpdateTable);
orphan file deletion lists and deletes. AWS documents the set (Glue developer guide, "Table optimization
prerequisites"); here every resource is narrowed to the one table, its prefix and the stack key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from settings import naming

from .documents import document, glue_table_arns, prefix_condition, statement

# Glue writes every optimizer run's log to these log groups of the account (their names are AWS's, not ours).
OPTIMIZER_LOG_GROUPS = ("/aws-glue/iceberg-compaction/logs", "/aws-glue/iceberg-retention/logs",
                        "/aws-glue/iceberg-orphan-file-deletion/logs")


@dataclass(frozen=True)
class TableMaintenancePolicyInputs:
    partition: str
    region: str
    account_id: str
    job: str
    database: str
    table: str
    curated_bucket_arn: str
    key_arn: str


def table_maintenance_policy(p: TableMaintenancePolicyInputs) -> dict[str, Any]:
    table_prefix = naming.table_prefix(p.job)
    return document(
        statement("ListTableFiles", ["s3:ListBucket"], [p.curated_bucket_arn],
                  condition=prefix_condition([table_prefix])),
        statement("RewriteTableFiles", ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                  [f"{p.curated_bucket_arn}/{table_prefix}*"]),
        # The curated bucket encrypts with the stack key by default.
        statement("UseStackKey", ["kms:Decrypt", "kms:GenerateDataKey"], [p.key_arn]),
        statement("CommitTableMetadata", ["glue:GetTable", "glue:UpdateTable"],
                  glue_table_arns(p.partition, p.region, p.account_id, p.database, p.table)),
        statement("WriteOptimizerLogs", ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                  [f"arn:{p.partition}:logs:{p.region}:{p.account_id}:log-group:{group}:*"
                   for group in OPTIMIZER_LOG_GROUPS]),
    )
