"""Who read, wrote or deleted which object in the data lake: a CloudTrail trail of S3 data events for the lake's
buckets, its log files encrypted with the stack key and validated by digest files, in a bucket of its own."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from . import naming
from .aws_context import AwsContext
from .config import StackSettings
from .iam.bucket_policy import cloudtrail_delivery_statements
from .secure_bucket import SecureBucket, SecureBucketArgs

AUDIT_ZONE = "audit"


@dataclass(frozen=True)
class ObjectAccessAuditArgs:
    settings: StackSettings
    aws: AwsContext
    key_arn: pulumi.Input[str]
    # The buckets whose objects are audited (never the audit bucket itself, whose writes would log themselves).
    bucket_arns: list[pulumi.Input[str]]


class ObjectAccessAudit(pulumi.ComponentResource):
    trail_arn: pulumi.Output[str]
    log_bucket: pulumi.Output[str]

    def __init__(self, name: str, args: ObjectAccessAuditArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("data-pipeline:storage:ObjectAccessAudit", name, None, opts)
        settings, ctx = args.settings, args.aws
        trail_arn = pulumi.Output.all(ctx.partition, ctx.region, ctx.account_id).apply(
            lambda v: naming.trail_arn(*v, settings))

        # The audit log is kept as long as the stack's logs, and protected wherever the data is.
        logs = SecureBucket(
            f"{name}-logs",
            SecureBucketArgs(
                bucket_prefix=naming.bucket_prefix(settings, AUDIT_ZONE),
                kms_key_arn=args.key_arn,
                versioning=settings.bucket_versioning,
                noncurrent_version_expiration_days=settings.lifecycle.noncurrent_version_expiration_days,
                expiration_days=settings.log_retention_days,
                protect=settings.protect_data,
                tags={**settings.tags, "zone": AUDIT_ZONE},
                service_grants=lambda bucket_arn: pulumi.Output.all(trail_arn=trail_arn, account_id=ctx.account_id)
                .apply(lambda v: cloudtrail_delivery_statements(bucket_arn=bucket_arn, **v)),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        object_arns = pulumi.Output.all(*args.bucket_arns).apply(lambda arns: [f"{arn}/" for arn in sorted(arns)])
        trail = aws.cloudtrail.Trail(
            f"{name}-trail",
            name=naming.trail_name(settings),
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
            tags=settings.tags,
            # CloudTrail checks the bucket policy when the trail is created.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs]),
        )

        self.trail_arn = trail.arn
        self.log_bucket = logs.bucket
        self.register_outputs({"trail_arn": self.trail_arn, "log_bucket": self.log_bucket})
