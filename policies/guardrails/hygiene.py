"""Hygiene: cost tags on everything taggable, bounded log retention, no public buckets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pulumi_policy import EnforcementLevel, PolicyResource, Severity

from .encryption import BUCKET_TYPES, LOG_GROUP
from .framework import Rule, get, known, linked, resource_policy, stack_policy

DEFAULT_REQUIRED_TAGS = ["project", "stack", "owner", "cost-center"]
# Taggable types the pipeline creates; any other resource that carries `tags` is checked too.
TAGGABLE = {
    "aws:s3/bucket:Bucket", "aws:kms/key:Key", "aws:iam/role:Role", "aws:glue/job:Job",
    "aws:glue/catalogDatabase:CatalogDatabase", "aws:cloudwatch/logGroup:LogGroup", "aws:lambda/function:Function",
    "aws:sfn/stateMachine:StateMachine", "aws:sns/topic:Topic", "aws:sqs/queue:Queue",
    "aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/eventRule:EventRule",
}
# Values CloudWatch Logs accepts (PutRetentionPolicy).
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
                  3653)
PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"


def check_tags(resource_type: str, props: Mapping, config: Mapping) -> Iterable[str]:
    if resource_type not in TAGGABLE and "tags" not in props:
        return
    tags = get(props, "tags", {})
    if not known(tags):
        return
    missing = [tag for tag in config["requiredTags"] if not (tags or {}).get(tag)]
    if missing:
        yield f"is missing required tag(s) {', '.join(missing)}"


def check_retention(_type, props: Mapping, config: Mapping) -> Iterable[str]:
    days = get(props, "retentionInDays")
    if not known(days):
        return
    low, high = config["minRetentionDays"], config["maxRetentionDays"]
    if not days:
        yield "log group keeps logs forever (retentionInDays is not set)"
    elif int(days) not in RETENTION_DAYS:
        yield f"retentionInDays {days} is not a value CloudWatch Logs accepts"
    elif not low <= int(days) <= high:
        yield f"retentionInDays {days} is outside the allowed {low}-{high} days"


def check_public_access(resources: list[PolicyResource], _config) -> Iterable[tuple[PolicyResource, str]]:
    for bucket in (r for r in resources if r.resource_type in BUCKET_TYPES):
        blocks = linked(resources, bucket, [PUBLIC_ACCESS_BLOCK])
        if not blocks:
            yield bucket, f"bucket '{bucket.name}' has no public access block"
        for block in blocks:
            off = [flag for flag in PUBLIC_ACCESS_FLAGS if get(block.props, flag) is not True and
                   known(get(block.props, flag))]
            if off:
                yield bucket, f"bucket '{bucket.name}' leaves public access open: {', '.join(off)} not true"


POLICIES = [
    resource_policy(Rule(
        "required-tags", "Taggable resources carry the stack's cost and ownership tags.", Severity.LOW,
        "Pass tags=settings.tags (settings/schema.py, StackSettings.tags) to the resource.",
        enforcement=EnforcementLevel.ADVISORY,
        config={"requiredTags": {"type": "array", "items": {"type": "string"}, "default": DEFAULT_REQUIRED_TAGS,
                                 "description": "Tags every taggable resource must carry."}}),
        None, check_tags),
    resource_policy(Rule(
        "log-retention-bounds", "Log groups expire their logs after a bounded, CloudWatch-accepted number of days.",
        Severity.MEDIUM, "Set retention_in_days from settings.log_retention_days (data-pipeline:logRetentionDays).",
        config={"minRetentionDays": {"type": "integer", "default": 1, "description": "Shortest retention allowed."},
                "maxRetentionDays": {"type": "integer", "default": 3653, "description": "Longest retention allowed."}}),
        [LOG_GROUP], check_retention),
    stack_policy(Rule(
        "s3-public-access-blocked", "Every bucket blocks public ACLs and public policies.", Severity.CRITICAL,
        "Add an aws.s3.BucketPublicAccessBlock with all four flags true (components/secure_bucket.py)."),
        check_public_access),
]
