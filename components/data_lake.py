"""The stack's encrypted data lake: one customer-managed KMS key, four buckets and a catalog database, and where
the stack asks for it, the audit of every access to the buckets' objects."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from . import artifacts, naming
from .aws_context import AwsContext
from .config import StackSettings
from .iam.kms_key_policy import kms_key_policy
from .object_access_audit import ObjectAccessAudit, ObjectAccessAuditArgs
from .secure_bucket import SecureBucket, SecureBucketArgs

# Zones holding data that cannot be rebuilt from code; only these (and the key) are protected in prod.
DATA_ZONES = ("raw", "curated")
ZONES = (*DATA_ZONES, "artifacts", "temp")


@dataclass(frozen=True)
class DataLakeArgs:
    settings: StackSettings
    aws: AwsContext


class DataLake(pulumi.ComponentResource):
    key_arn: pulumi.Output[str]
    buckets: dict[str, SecureBucket]
    database_name: pulumi.Output[str]

    def __init__(self, name: str, args: DataLakeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("data-pipeline:storage:DataLake", name, None, opts)
        settings, ctx = args.settings, args.aws
        log_groups = naming.log_group_root(settings)

        policy = pulumi.Output.all(ctx.partition, ctx.region, ctx.account_id).apply(
            lambda values: kms_key_policy(
                partition=values[0],
                region=values[1],
                account_id=values[2],
                role_arn_pattern=naming.role_arn_pattern(values[0], values[2], settings),
                log_group_arn_pattern=naming.log_group_arn(*values, f"{log_groups}/*"),
                trail_arn=naming.trail_arn(*values, settings) if settings.object_access_audit else None,
            ))
        # Losing the key makes every object unreadable: it is protected wherever the data is.
        key = aws.kms.Key(
            f"{name}-key",
            description=f"Encrypts data, logs and job state of stack {settings.name_prefix}",
            enable_key_rotation=True,
            deletion_window_in_days=settings.kms_deletion_window_days,
            policy=pulumi.Output.json_dumps(policy),
            tags=settings.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=settings.protect_data),
        )
        aws.kms.Alias(
            f"{name}-key-alias",
            name=naming.kms_alias(settings),
            target_key_id=key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )

        lifecycle = settings.lifecycle
        zone_days = {
            "raw": (lifecycle.raw_infrequent_access_days, lifecycle.raw_expiration_days),
            "curated": (lifecycle.curated_infrequent_access_days, lifecycle.curated_expiration_days),
            "artifacts": (0, 0),
            "temp": (0, lifecycle.temp_expiration_days),
        }
        self.buckets = {
            zone: SecureBucket(
                f"{name}-{zone}",
                SecureBucketArgs(
                    bucket_prefix=naming.bucket_prefix(settings, zone),
                    kms_key_arn=key.arn,
                    versioning=settings.bucket_versioning,
                    noncurrent_version_expiration_days=lifecycle.noncurrent_version_expiration_days,
                    infrequent_access_days=zone_days[zone][0],
                    expiration_days=zone_days[zone][1],
                    protect=settings.protect_data and zone in DATA_ZONES,
                    tags={**settings.tags, "zone": zone},
                    # Code no retained pipeline version runs is tagged by the release controller.
                    expire_tagged=artifacts.RETIRED_TAG if zone == "artifacts" else None,
                    tagged_expiration_days=artifacts.RETIRED_EXPIRATION_DAYS,
                    # The fast PR check's uploads of pull requests' code live as long as a health-check folder.
                    expire_prefix=(f"{naming.PR_CHECKS_FOLDER}/", lifecycle.temp_expiration_days)
                    if zone == "artifacts" and settings.health_check_only else None,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for zone in ZONES
        }
        if settings.object_access_audit:
            ObjectAccessAudit(f"{name}-object-access", ObjectAccessAuditArgs(
                settings=settings, aws=ctx, key_arn=key.arn,
                bucket_arns=[bucket.arn for bucket in self.buckets.values()],
            ), opts=pulumi.ResourceOptions(parent=self))
        database = aws.glue.CatalogDatabase(
            f"{name}-catalog",
            name=naming.glue_database_name(settings),
            description=f"Curated tables of stack {settings.name_prefix}",
            tags=settings.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.key_arn = key.arn
        self.database_name = database.name
        self.register_outputs({
            "key_arn": self.key_arn,
            "database_name": self.database_name,
            **{f"{zone}_bucket": bucket.bucket for zone, bucket in self.buckets.items()},
        })
