"""The stack's encrypted data lake: one customer-managed KMS key, four buckets and a catalog database, and where
the stack asks for it, the audit of every access to the buckets' objects."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from settings import naming
from settings.naming import DATA_ZONES, ZONES
from settings.schema import LifecycleSettings

from . import artifacts
from .iam.kms_key_policy import kms_key_policy
from .object_access_audit import ObjectAccessAudit, ObjectAccessAuditArgs
from .outputs import expose
from .secure_bucket import BucketRef, SecureBucket, SecureBucketArgs
from .stack_context import StackContext

# Protected in prod besides the key and the catalog: the data, and every retained release's code (artifacts).
PROTECTED_ZONES = (*DATA_ZONES, "artifacts")


@dataclass(frozen=True)
class DataLakeArgs:
    context: StackContext
    kms_deletion_window_days: int
    bucket_versioning: bool
    # Protects the key, the catalog database and the protected zones' buckets from `pulumi destroy` (and their
    # objects from being emptied).
    protect_data: bool
    # Object Lock (governance) days of the data zones' object versions; 0 = none.
    data_retention_days: int
    lifecycle: LifecycleSettings
    # Record every access to the buckets' objects (ObjectAccessAudit), its log kept as long as the stack's logs.
    object_access_audit: bool
    # The fast PR check's stack: pull requests' code uploaded under pr-checks/ expires with the temp data.
    health_check_only: bool
    # The stack's jobs: in the curated bucket only what their runs leave beside their tables expires.
    jobs: tuple[str, ...]


class DataLake(pulumi.ComponentResource):
    key_arn: pulumi.Output[str]
    # Zone (raw, curated, artifacts, temp) -> the bucket.
    buckets: dict[str, BucketRef]
    database_name: pulumi.Output[str]
    # The object-access trail's CloudWatch Logs group (None without the audit), for ObjectAccessAlarms.
    object_access_log_group: pulumi.Output[str] | None

    def __init__(self, name: str, args: DataLakeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("data-pipeline:storage:DataLake", name, None, opts)
        context = args.context
        names = context.names
        log_groups = naming.log_group_root(names)

        def key_policy(partition: str, region: str, account_id: str) -> dict:
            return kms_key_policy(
                partition=partition, region=region, account_id=account_id,
                role_arn_pattern=naming.role_arn_pattern(partition, account_id, names),
                log_group_arn_pattern=naming.log_group_arn(partition, region, account_id, f"{log_groups}/*"),
                trail_arn=naming.trail_arn(partition, region, account_id, names) if args.object_access_audit else None,
            )

        policy = pulumi.Output.all(partition=context.partition, region=context.region,
                                   account_id=context.account_id).apply(lambda account: key_policy(**account))
        # Losing the key makes every object unreadable: it is protected wherever the data is.
        key = aws.kms.Key(
            f"{name}-key",
            description=f"Encrypts data, logs and job state of stack {naming.name_prefix(names)}",
            enable_key_rotation=True,
            deletion_window_in_days=args.kms_deletion_window_days,
            policy=pulumi.Output.json_dumps(policy),
            tags=context.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect_data),
        )
        aws.kms.Alias(
            f"{name}-key-alias",
            name=naming.kms_alias(names),
            target_key_id=key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )

        lifecycle = args.lifecycle
        zone_days = {
            "raw": (lifecycle.raw_infrequent_access_days, lifecycle.raw_expiration_days),
            "curated": (lifecycle.curated_infrequent_access_days, lifecycle.curated_expiration_days),
            "artifacts": (0, 0),
            "temp": (0, lifecycle.temp_expiration_days),
        }
        curated_expiring = (*(prefix for job in args.jobs for prefix in naming.run_output_prefixes(job)),
                            f"{naming.HEALTH_CHECK_FOLDER}/")
        buckets = {
            zone: SecureBucket(
                f"{name}-{zone}",
                SecureBucketArgs(
                    bucket_prefix=naming.bucket_prefix(names, zone),
                    kms_key_arn=key.arn,
                    versioning=args.bucket_versioning,
                    noncurrent_version_expiration_days=lifecycle.noncurrent_version_expiration_days,
                    infrequent_access_days=zone_days[zone][0],
                    expiration_days=zone_days[zone][1],
                    # An Iceberg table's files stay as long as a snapshot needs them (its upkeep expires them).
                    expiring_prefixes=curated_expiring if zone == "curated" else (),
                    protect=args.protect_data and zone in PROTECTED_ZONES,
                    lock_days=args.data_retention_days if zone in DATA_ZONES else 0,
                    tags={**context.tags, "zone": zone},
                    # Code no retained pipeline version runs is tagged by the release controller.
                    expire_tagged=(*artifacts.RETIRED_TAG, artifacts.RETIRED_EXPIRATION_DAYS)
                    if zone == "artifacts" else None,
                    # The fast PR check's uploads of pull requests' code live as long as a health-check folder.
                    expire_prefix=(f"{naming.PR_CHECKS_FOLDER}/", lifecycle.temp_expiration_days)
                    if zone == "artifacts" and args.health_check_only else None,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for zone in ZONES
        }
        audit = ObjectAccessAudit(f"{name}-object-access", ObjectAccessAuditArgs(
            context=context, key_arn=key.arn, bucket_arns=[bucket.arn for bucket in buckets.values()],
            versioning=args.bucket_versioning,
            noncurrent_version_expiration_days=lifecycle.noncurrent_version_expiration_days,
            protect=args.protect_data,
        ), opts=pulumi.ResourceOptions(parent=self)) if args.object_access_audit else None
        database = aws.glue.CatalogDatabase(
            f"{name}-catalog",
            name=naming.glue_database_name(names),
            description=f"Curated tables of stack {naming.name_prefix(names)}",
            tags=context.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect_data),
        )

        expose(self, key_arn=key.arn, buckets={zone: BucketRef.of(bucket) for zone, bucket in buckets.items()},
               database_name=database.name,
               object_access_log_group=audit.log_group_name if audit else None)
