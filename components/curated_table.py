"""One job's curated table: an Apache Iceberg (format v2) table in the stack's Glue database, and its upkeep.

The table is its own component, beside (not inside) the Glue job: it holds the data, which outlives any version
of the job's code, and the job, the health checks, the data rollback and Athena all find it by name. Glue creates
the Iceberg metadata from the job's curated schema (jobs/<job>/schema.py); from then on every change to the
table (snapshots, branches, partition spec, properties) is an Iceberg commit by the job, which swaps the table's
metadata location in Glue. So the program creates the table and never updates it: a later `pulumi up` must not
write back the Glue fields those commits own, nor replace the table.

Glue's table optimizers keep it healthy on their own schedule: compaction of small files, expiry of snapshots
older than the stack's retention (data can be rolled back that far) and deletion of orphan files, with a role
that reaches this table only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from settings import naming
from settings.schema import TableMaintenanceSettings

from .common_resources import service_role_with_policy
from .iam.table_maintenance_policy import TableMaintenancePolicyInputs, table_maintenance_policy
from .outputs import expose
from .secure_bucket import BucketRef
from .stack_context import StackContext

ICEBERG_FORMAT_VERSION = "2"
# Glue fields that Iceberg commits rewrite (the metadata location lives in `parameters`), and the create-only
# Iceberg input, which must never turn into a replacement of the table.
ICEBERG_OWNED_FIELDS = ["parameters", "storageDescriptor", "tableType", "partitionKeys", "openTableFormatInput"]


@dataclass(frozen=True)
class CuratedTableArgs:
    context: StackContext
    job: str
    # The job's curated schema as Iceberg's (components/iceberg_schema.py).
    schema: dict[str, Any]
    # Noted on the table; the job makes it the Iceberg partition (identity) on its first write.
    partition_column: str
    database_name: pulumi.Input[str]
    curated_bucket: BucketRef
    # The stack key: the curated bucket encrypts the table's files with it.
    key_arn: pulumi.Input[str]
    maintenance: TableMaintenanceSettings
    # Production keeps its tables from being deleted by `pulumi destroy`, as it keeps its data buckets.
    protect: bool


class CuratedTable(pulumi.ComponentResource):
    table_name: pulumi.Output[str]
    # `<database>.<table>`, as Athena, Spark and pyiceberg name it.
    identifier: pulumi.Output[str]
    location: pulumi.Output[str]

    def __init__(self, name: str, args: CuratedTableArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("data-pipeline:storage:CuratedTable", name, None, opts)
        context, child = args.context, pulumi.ResourceOptions(parent=self)
        location = pulumi.Output.concat("s3://", args.curated_bucket.name, "/", naming.table_prefix(args.job))
        table = aws.glue.CatalogTable(
            f"{name}-table",
            name=naming.table_name(args.job),
            database_name=args.database_name,
            description=f"Curated {args.job} (Apache Iceberg), written by Glue job {args.job}; "
                        f"partitioned by {args.partition_column}",
            open_table_format_input={"iceberg_input": {
                "metadata_operation": "CREATE",
                "version": ICEBERG_FORMAT_VERSION,
                "iceberg_table_input": {"location": location, "schema": args.schema},
            }},
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, ignore_changes=ICEBERG_OWNED_FIELDS),
        )

        role, policy = service_role_with_policy(
            f"{name}-maintenance", context, purpose=naming.table_maintenance_role_purpose(args.job),
            service="glue.amazonaws.com", description=f"Lets Glue's table optimizers maintain the {args.job} table",
            policy=pulumi.Output.all(
                partition=context.partition, region=context.region, account_id=context.account_id,
                database=table.database_name, table=table.name, curated_bucket_arn=args.curated_bucket.arn,
                key_arn=args.key_arn,
            ).apply(lambda v: table_maintenance_policy(TableMaintenancePolicyInputs(job=args.job, **v))),
            opts=child)
        kept = args.maintenance
        configurations = {
            "compaction": {"compaction_configuration": {"iceberg_configuration": {"strategy": "binpack"}}},
            "retention": {"retention_configuration": {"iceberg_configuration": {
                "snapshot_retention_period_in_days": kept.snapshot_retention_days,
                "number_of_snapshots_to_retain": kept.snapshots_to_keep,
                # Expired snapshots' files go too, not only their entries in the metadata.
                "clean_expired_files": True,
            }}},
            "orphan_file_deletion": {"orphan_file_deletion_configuration": {"iceberg_configuration": {
                "orphan_file_retention_period_in_days": kept.orphan_file_retention_days,
            }}},
        }
        for optimizer, configuration in configurations.items():
            aws.glue.CatalogTableOptimizer(
                f"{name}-{naming.hyphenated(optimizer)}",
                catalog_id=context.account_id,
                database_name=table.database_name,
                table_name=table.name,
                type=optimizer,
                configuration={"enabled": True, "role_arn": role.arn, **configuration},
                # The role must hold its permissions before an optimizer first runs.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
            )

        expose(self, table_name=table.name, identifier=pulumi.Output.concat(table.database_name, ".", table.name),
               location=location)
