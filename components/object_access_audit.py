"""Who read, wrote or deleted which object in the data lake: a CloudTrail trail of S3 data events for the lake's
buckets, its log files encrypted with the stack key and validated by digest files, in a bucket of its own."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from . import naming
from .iam.bucket_policy import cloudtrail_delivery_statements
from .secure_bucket import SecureBucket, SecureBucketArgs

AUDIT_ZONE = "audit"


@dataclass(frozen=True)
class ObjectAccessAuditArgs:
    names: naming.StackNames
    tags: dict[str, str]
    partition: pulumi.Input[str]
    region: pulumi.Input[str]
    account_id: pulumi.Input[str]
    key_arn: pulumi.Input[str]
    # The buckets whose objects are audited (never the audit bucket itself, whose writes would log themselves).
    bucket_arns: list[pulumi.Input[str]]
    # The log bucket's versioning, and how long it keeps the audit log; protected, it refuses `pulumi destroy`.
    versioning: bool
    noncurrent_version_expiration_days: int
    retention_days: int
    protect: bool


class ObjectAccessAudit(pulumi.ComponentResource):
    trail_arn: pulumi.Output[str]
    log_bucket: pulumi.Output[str]

    def __init__(self, name: str, args: ObjectAccessAuditArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("data-pipeline:storage:ObjectAccessAudit", name, None, opts)
        names = args.names
        trail_arn = pulumi.Output.all(partition=args.partition, region=args.region, account_id=args.account_id).apply(
            lambda account: naming.trail_arn(**account, names=names))

        # The audit log is kept as long as the stack's logs, and protected wherever the data is.
        logs = SecureBucket(
            f"{name}-logs",
            SecureBucketArgs(
                bucket_prefix=naming.bucket_prefix(names, AUDIT_ZONE),
                kms_key_arn=args.key_arn,
                versioning=args.versioning,
                noncurrent_version_expiration_days=args.noncurrent_version_expiration_days,
                expiration_days=args.retention_days,
                protect=args.protect,
                tags={**args.tags, "zone": AUDIT_ZONE},
                service_grants=lambda bucket_arn: pulumi.Output.all(trail_arn=trail_arn, account_id=args.account_id)
                .apply(lambda v: cloudtrail_delivery_statements(bucket_arn=bucket_arn, **v)),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        object_arns = pulumi.Output.from_input(args.bucket_arns).apply(
            lambda arns: [f"{arn}/" for arn in sorted(arns)])
        trail = aws.cloudtrail.Trail(
            f"{name}-trail",
            name=naming.trail_name(names),
            s3_bucket_name=logs.bucket,
            kms_key_id=args.key_arn,
            enable_log_file_validation=True,
            # Data events of this stack's buckets only: the account's management events belong to its own trail.
            include_global_service_events=False,
            is_multi_region_trail=False,
            advanced_event_selectors=[{
                "name": "Object reads, writes and deletes in the data lake",
                "field_selectors": [
                    {"field": "eventCategory", "equals": ["Data"]},
                    {"field": "resources.type", "equals": ["AWS::S3::Object"]},
                    {"field": "resources.ARN", "starts_withs": object_arns},
                ],
            }],
            tags=args.tags,
            # CloudTrail checks the bucket policy when the trail is created.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs]),
        )

        self.trail_arn = trail.arn
        self.log_bucket = logs.bucket
        self.register_outputs({"trail_arn": self.trail_arn, "log_bucket": self.log_bucket})
