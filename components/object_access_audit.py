"""Who read, wrote or deleted which object in the data lake: a CloudTrail trail of S3 data events for the lake's
buckets, its log files encrypted with the stack key and validated by digest files, in a bucket of its own, and
delivered to an encrypted CloudWatch Logs group too, where metric filters count deletes in the curated data by
anyone but the stack's own roles and access denials, each with an alarm to the stack's alert topic
(ObjectAccessAlarms, made where the topic exists)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from settings import naming
from settings.naming import ACCESS_DENIED, AUDIT_ZONE, CURATED_DELETES, LOG_DELIVERY_PURPOSE
from settings.schema import AlarmSettings

from .common_resources import alert_alarm, encrypted_log_group, service_role_with_policy
from .iam.bucket_policy import cloudtrail_delivery_statements
from .iam.documents import document, statement
from .outputs import expose
from .secure_bucket import BucketRef, SecureBucket, SecureBucketArgs
from .stack_context import StackContext

# Delete calls of S3 data events (DeleteObjects is the batch call; a version's delete is DeleteObject too).
DELETE_EVENTS = ("DeleteObject", "DeleteObjects")
# Access denials within one alarm period (the stack's alarmPeriodSeconds) that make a burst: a few are a
# misconfigured client, this many are someone probing the lake.
DENIALS_BURST = 10


def alarm_name(names: naming.StackNames, watched: str) -> str:
    return f"{naming.name_prefix(names)}-object-access-{watched}"


def log_delivery_policy(log_group_arn: str) -> dict:
    """CloudTrail writes the trail's events into this one group's streams (and may create them)."""
    return document(statement("DeliverTrailEvents", ["logs:CreateLogStream", "logs:PutLogEvents"],
                              [f"{log_group_arn}:log-stream:*"]))


@dataclass(frozen=True)
class ObjectAccessAuditArgs:
    # Its log is kept as long as the stack's logs.
    context: StackContext
    key_arn: pulumi.Input[str]
    # The buckets whose objects are audited (never the audit bucket itself, whose writes would log themselves).
    bucket_arns: list[pulumi.Input[str]]
    # The log bucket's versioning; protected, it refuses `pulumi destroy`.
    versioning: bool
    noncurrent_version_expiration_days: int
    protect: bool


class ObjectAccessAudit(pulumi.ComponentResource):
    trail_arn: pulumi.Output[str]
    log_bucket: pulumi.Output[str]
    # The CloudWatch Logs group the trail's events also go to, for ObjectAccessAlarms' metric filters.
    log_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: ObjectAccessAuditArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("data-pipeline:storage:ObjectAccessAudit", name, None, opts)
        context = args.context
        names = context.names
        trail_arn = pulumi.Output.all(partition=context.partition, region=context.region,
                                      account_id=context.account_id).apply(
            lambda account: naming.trail_arn(**account, names=names))

        # The audit log is kept as long as the stack's logs, and protected wherever the data is.
        logs = SecureBucket(
            f"{name}-logs",
            SecureBucketArgs(
                bucket_prefix=naming.bucket_prefix(names, AUDIT_ZONE),
                kms_key_arn=args.key_arn,
                versioning=args.versioning,
                noncurrent_version_expiration_days=args.noncurrent_version_expiration_days,
                expiration_days=context.log_retention_days,
                protect=args.protect,
                tags={**context.tags, "zone": AUDIT_ZONE},
                service_grants=lambda bucket_arn: pulumi.Output.all(trail_arn=trail_arn, account_id=context.account_id)
                .apply(lambda v: cloudtrail_delivery_statements(bucket_arn=bucket_arn, **v)),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        object_arns = pulumi.Output.from_input(args.bucket_arns).apply(
            lambda arns: [f"{arn}/" for arn in sorted(arns)])
        child = pulumi.ResourceOptions(parent=self)
        # The same events in CloudWatch Logs, where metric filters raise alarms; kept as long as the stack's logs.
        group = encrypted_log_group(f"{name}-log-group", context, name=naming.object_access_log_group(names),
                                    key_arn=args.key_arn,
                                    opts=child)
        delivery_role, delivery_policy = service_role_with_policy(
            f"{name}-log-delivery", context, purpose=LOG_DELIVERY_PURPOSE, service="cloudtrail.amazonaws.com",
            description=f"CloudTrail delivers trail {naming.trail_name(names)} to its CloudWatch Logs group",
            policy=group.arn.apply(log_delivery_policy), opts=child)
        trail = aws.cloudtrail.Trail(
            f"{name}-trail",
            name=naming.trail_name(names),
            s3_bucket_name=logs.bucket,
            kms_key_id=args.key_arn,
            enable_log_file_validation=True,
            cloud_watch_logs_group_arn=group.arn.apply(lambda arn: f"{arn}:*"),
            cloud_watch_logs_role_arn=delivery_role.arn,
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
            tags=context.tags,
            # CloudTrail checks the bucket policy, and that the role may write to the group, when the trail is created.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs, delivery_policy]),
        )

        expose(self, trail_arn=trail.arn, log_bucket=logs.bucket, log_group_name=group.name)


def curated_deletes_pattern(curated_bucket: str, stack_roles: str) -> str:
    """Deletes of curated objects by anyone but the stack's own roles (`stack_roles`, their ARN pattern): the
    pipeline's jobs and table upkeep delete there by design, nobody else should."""
    deletes = " || ".join(f'$.eventName = "{event}"' for event in DELETE_EVENTS)
    return (f'{{ ($.eventSource = "s3.amazonaws.com") && ({deletes}) && ($.requestParameters.bucketName = '
            f'"{curated_bucket}") && ($.userIdentity.type != "AssumedRole" || '
            f'$.userIdentity.sessionContext.sessionIssuer.arn != "{stack_roles}") }}')


ACCESS_DENIED_PATTERN = '{ ($.eventSource = "s3.amazonaws.com") && ($.errorCode = "AccessDenied") }'


@dataclass(frozen=True)
class ObjectAccessAlarmsArgs:
    context: StackContext
    # ObjectAccessAudit.log_group_name: the trail's CloudWatch Logs group.
    log_group_name: pulumi.Input[str]
    curated_bucket: BucketRef
    topic_arn: pulumi.Input[str]
    # The stack's alarm period and evaluation periods, as every alarm of the stack has them.
    thresholds: AlarmSettings


class ObjectAccessAlarms(pulumi.ComponentResource):
    """Metric filters on the object-access trail's log group, each with an alarm to the stack's alert topic:
    unexpected deletes in the curated data (any one), and bursts of access denials in the lake."""

    alarm_names: list[pulumi.Output[str]]

    def __init__(self, name: str, args: ObjectAccessAlarmsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("data-pipeline:monitoring:ObjectAccessAlarms", name, None, opts)
        context, child = args.context, pulumi.ResourceOptions(parent=self)
        names = context.names
        namespace = naming.metric_namespace(names)
        stack_roles = pulumi.Output.all(partition=context.partition, account_id=context.account_id).apply(
            lambda a: naming.role_arn_pattern(a["partition"], a["account_id"], names))
        deletes = pulumi.Output.all(curated_bucket=args.curated_bucket.name, stack_roles=stack_roles).apply(
            lambda v: curated_deletes_pattern(**v))
        watched = (
            (CURATED_DELETES, "UnexpectedCuratedDeletes", deletes, 1,
             "Objects of the curated data were deleted by someone other than the stack's roles"),
            (ACCESS_DENIED, "ObjectAccessDenied", ACCESS_DENIED_PATTERN, DENIALS_BURST,
             f"{DENIALS_BURST}+ requests to the lake's objects were denied within "
             f"{args.thresholds.period_seconds} seconds"),
        )
        alarm_names = []
        for logical, metric, pattern, threshold, description in watched:
            aws.cloudwatch.LogMetricFilter(
                f"{name}-{logical}",
                name=naming.object_access_metric_filter(names, logical),
                log_group_name=args.log_group_name,
                pattern=pattern,
                metric_transformation={"name": metric, "namespace": namespace, "value": "1", "default_value": "0"},
                opts=child,
            )
            alarm = alert_alarm(f"{name}-{logical}-alarm", context, name=alarm_name(names, logical),
                                description=description, topic_arn=args.topic_arn, opts=child, namespace=namespace,
                                metric_name=metric, statistic="Sum", period=args.thresholds.period_seconds,
                                evaluation_periods=args.thresholds.evaluation_periods, threshold=threshold)
            alarm_names.append(alarm.name)
        expose(self, alarm_names=alarm_names)
