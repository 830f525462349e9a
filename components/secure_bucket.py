"""One S3 bucket with the controls every bucket of the lake must have."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .iam.bucket_policy import tls_only_bucket_policy
from .outputs import expose

# Incomplete multipart uploads are invisible and billed: drop them after a week in every bucket.
ABORT_INCOMPLETE_UPLOADS_DAYS = 7


@dataclass(frozen=True)
class SecureBucketArgs:
    bucket_prefix: str
    kms_key_arn: pulumi.Input[str]
    versioning: bool
    noncurrent_version_expiration_days: int
    tags: dict[str, str]
    infrequent_access_days: int = 0
    expiration_days: int = 0
    # When set, `expiration_days` applies only under these prefixes and the rest of the bucket is kept (a lifecycle
    # rule cannot leave a prefix out): the curated zone's tables keep files older than any age.
    expiring_prefixes: tuple[str, ...] = ()
    # Protected buckets refuse `pulumi destroy` and keep their objects; others are emptied and deleted.
    protect: bool = False
    # Days each object version is locked (S3 Object Lock, governance mode: only s3:BypassGovernanceRetention
    # deletes it earlier); 0 = no lock. Needs versioning.
    lock_days: int = 0
    # (key, value, days): objects carrying this tag expire after that many days.
    expire_tagged: tuple[str, str, int] | None = None
    # (prefix, days): objects under the prefix expire after that many days, whatever the zone keeps.
    expire_prefix: tuple[str, int] | None = None
    # Bucket policy statements letting an AWS service use the bucket, given its ARN (e.g. CloudTrail's delivery).
    service_grants: Callable[[str], pulumi.Input[list]] | None = None


@dataclass(frozen=True)
class BucketRef:
    """A bucket as other components take it: its name (for s3:// locations and settings) and its ARN (for
    policies), one value."""

    name: pulumi.Input[str]
    arn: pulumi.Input[str]

    @classmethod
    def of(cls, bucket: SecureBucket) -> BucketRef:
        return cls(name=bucket.bucket, arn=bucket.arn)


class SecureBucket(pulumi.ComponentResource):
    """SSE-KMS with a bucket key, public access blocked, ACLs disabled, TLS only, versioning and lifecycle."""

    bucket: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: SecureBucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("data-pipeline:storage:SecureBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        bucket = aws.s3.Bucket(
            name,
            bucket_prefix=args.bucket_prefix,
            force_destroy=not args.protect,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[{
                "apply_server_side_encryption_by_default": {
                    "sse_algorithm": "aws:kms",
                    "kms_master_key_id": args.kms_key_arn,
                },
                "bucket_key_enabled": True,
            }],
            opts=child,
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration={"status": "Enabled" if args.versioning else "Suspended"},
            opts=child,
        )
        if args.lock_days:
            # Enables Object Lock on a new or existing versioned bucket; it can never be turned off again.
            aws.s3.BucketObjectLockConfiguration(
                f"{name}-object-lock",
                bucket=bucket.id,
                rule={"default_retention": {"mode": "GOVERNANCE", "days": args.lock_days}},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning], protect=args.protect),
            )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=_lifecycle_rules(args),
            opts=child,
        )
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=bucket.id,
            policy=pulumi.Output.json_dumps(pulumi.Output.all(
                arn=bucket.arn, grants=bucket.arn.apply(args.service_grants) if args.service_grants else [],
            ).apply(lambda v: tls_only_bucket_policy(v["arn"], v["grants"]))),
            # S3 rejects policy writes while the public access block is being changed.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
        )

        expose(self, bucket=bucket.bucket, arn=bucket.arn)


def _lifecycle_rules(args: SecureBucketArgs) -> list[dict]:
    rules = [_zone_rule(args)]
    if args.expiration_days:
        rules += [{"id": f"expire-{i}", "status": "Enabled", "filter": {"prefix": prefix},
                   "expiration": {"days": args.expiration_days}} for i, prefix in enumerate(args.expiring_prefixes)]
    if args.expire_tagged:
        key, value, days = args.expire_tagged
        rules.append({"id": "expire-tagged", "status": "Enabled", "filter": {"tag": {"key": key, "value": value}},
                      "expiration": {"days": days}})
    if args.expire_prefix:
        prefix, days = args.expire_prefix
        rules.append({"id": "expire-prefix", "status": "Enabled", "filter": {"prefix": prefix},
                      "expiration": {"days": days}})
    return rules


def _zone_rule(args: SecureBucketArgs) -> dict:
    rule: dict = {
        "id": "zone-lifecycle",
        "status": "Enabled",
        "filter": {"prefix": ""},
        "abort_incomplete_multipart_upload": {"days_after_initiation": ABORT_INCOMPLETE_UPLOADS_DAYS},
        "noncurrent_version_expiration": {"noncurrent_days": args.noncurrent_version_expiration_days},
    }
    if args.infrequent_access_days:
        rule["transitions"] = [{"days": args.infrequent_access_days, "storage_class": "STANDARD_IA"}]
    if args.expiration_days and not args.expiring_prefixes:
        rule["expiration"] = {"days": args.expiration_days}
    return rule
