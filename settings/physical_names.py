"""Every physical name a stack gives AWS, with AWS's limit on it and the setting it is built from.

`name_problems` checks them all before anything is registered (settings/parse.py's parse_settings calls it), so a
job or stack name that would make, say, a role name one character too long fails with the setting to shorten
instead of at deploy time. tests/test_physical_names.py holds this list to what the program registers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from . import naming
from .naming import AUDIT_ZONE, CLEANUP_SCHEDULE_NAME, FUNCTIONS, LOG_DELIVERY_PURPOSE, WATCHED, ZONES
from .schema import GLUE_JOBS_KEY, PROJECT, StackSettings

GLUE_LOG_STREAMS = ("output", "error")


@dataclass(frozen=True)
class Limit:
    what: str
    maximum: int


# Resource type -> the limit on its name (for buckets, on the prefix: the provider appends a 26-character unique
# suffix, and S3 allows 63 in all).
LIMITS = {
    "aws:iam/role:Role": Limit("IAM role name", 64),
    "aws:lambda/function:Function": Limit("Lambda function name", 64),
    "aws:sfn/stateMachine:StateMachine": Limit("state machine name", 80),
    "aws:glue/job:Job": Limit("Glue job name", 255),
    "aws:glue/securityConfiguration:SecurityConfiguration": Limit("Glue security configuration name", 255),
    "aws:glue/catalogDatabase:CatalogDatabase": Limit("Glue database name", 255),
    "aws:glue/catalogTable:CatalogTable": Limit("Glue table name", 255),
    "aws:s3/bucket:Bucket": Limit("S3 bucket name prefix", 37),
    "aws:scheduler/schedule:Schedule": Limit("EventBridge Scheduler schedule name", 64),
    "aws:cloudwatch/eventRule:EventRule": Limit("EventBridge rule name", 64),
    "aws:cloudwatch/logGroup:LogGroup": Limit("log group name", 512),
    "aws:sqs/queue:Queue": Limit("SQS queue name", 80),
    "aws:sns/topic:Topic": Limit("SNS topic name", 256),
    "aws:kms/alias:Alias": Limit("KMS alias name", 256),
    "aws:cloudwatch/dashboard:Dashboard": Limit("CloudWatch dashboard name", 255),
    "aws:cloudtrail/trail:Trail": Limit("CloudTrail trail name", 128),
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": Limit("metric filter name", 512),
}


@dataclass(frozen=True)
class PhysicalName:
    type: str
    name: str
    # The job whose name is part of it (None: only the stack name is).
    job: str | None = None

    @property
    def limit(self) -> Limit:
        return LIMITS[self.type]


def _stack_names(settings: StackSettings) -> Iterator[PhysicalName]:
    role, log_group = "aws:iam/role:Role", "aws:cloudwatch/logGroup:LogGroup"
    yield from (PhysicalName("aws:s3/bucket:Bucket", naming.bucket_prefix(settings, zone)) for zone in ZONES)
    for function in FUNCTIONS:
        yield PhysicalName("aws:lambda/function:Function", naming.function_name(settings, function))
        yield PhysicalName(role, naming.role_name(settings, naming.function_role_purpose(function)))
        yield PhysicalName(log_group, naming.function_log_group(settings, function))
        yield PhysicalName("aws:sqs/queue:Queue", naming.dead_letter_queue_name(settings, function))
    yield PhysicalName("aws:scheduler/schedule:Schedule", naming.schedule_name(settings, CLEANUP_SCHEDULE_NAME))
    yield PhysicalName(role, naming.role_name(settings, naming.schedule_role_purpose(CLEANUP_SCHEDULE_NAME)))
    yield PhysicalName("aws:cloudwatch/eventRule:EventRule", naming.glue_events_rule_name(settings))
    yield PhysicalName("aws:glue/catalogDatabase:CatalogDatabase", naming.glue_database_name(settings))
    yield PhysicalName("aws:sns/topic:Topic", naming.topic_name(settings))
    yield PhysicalName("aws:kms/alias:Alias", naming.kms_alias(settings))
    yield PhysicalName("aws:cloudwatch/dashboard:Dashboard", naming.dashboard_name(settings))
    if settings.object_access_audit:
        yield PhysicalName("aws:s3/bucket:Bucket", naming.bucket_prefix(settings, AUDIT_ZONE))
        yield PhysicalName("aws:cloudtrail/trail:Trail", naming.trail_name(settings))
        yield PhysicalName(role, naming.role_name(settings, LOG_DELIVERY_PURPOSE))
        yield PhysicalName(log_group, naming.object_access_log_group(settings))
        yield from (PhysicalName("aws:cloudwatch/logMetricFilter:LogMetricFilter",
                                 naming.object_access_metric_filter(settings, w))
                    for w in WATCHED)


def _job_names(settings: StackSettings, job: str) -> Iterator[PhysicalName]:
    role, log_group = "aws:iam/role:Role", "aws:cloudwatch/logGroup:LogGroup"
    yield PhysicalName("aws:glue/job:Job", naming.glue_job_name(settings, job), job)
    yield PhysicalName("aws:glue/securityConfiguration:SecurityConfiguration",
                       naming.glue_security_configuration_name(settings, job), job)
    yield PhysicalName(role, naming.role_name(settings, naming.glue_job_role_purpose(job)), job)
    yield PhysicalName("aws:glue/catalogTable:CatalogTable", naming.table_name(job), job)
    yield PhysicalName(role, naming.role_name(settings, naming.table_maintenance_role_purpose(job)), job)
    for stream in GLUE_LOG_STREAMS:
        yield PhysicalName(log_group, f"{naming.glue_log_group_prefix(settings, job)}/{stream}", job)
    yield PhysicalName("aws:sfn/stateMachine:StateMachine", naming.state_machine_name(settings, job), job)
    yield PhysicalName(role, naming.role_name(settings, naming.state_machine_role_purpose(job)), job)
    yield PhysicalName(log_group, naming.state_machine_log_group(settings, job), job)
    if settings.orchestration.schedule:
        schedule = naming.pipeline_schedule(job)
        yield PhysicalName("aws:scheduler/schedule:Schedule", naming.schedule_name(settings, schedule), job)
        yield PhysicalName(role, naming.role_name(settings, naming.schedule_role_purpose(schedule)), job)


def physical_names(settings: StackSettings) -> list[PhysicalName]:
    return [*_stack_names(settings), *(name for job in settings.glue_jobs for name in _job_names(settings, job.name))]


def name_problems(settings: StackSettings) -> list[str]:
    """One line per name over its limit: the setting to shorten, the name, its length and the limit."""
    problems = []
    for name in physical_names(settings):
        excess = len(name.name) - name.limit.maximum
        if excess <= 0:
            continue
        setting, shorten = ((f"{PROJECT}:{GLUE_JOBS_KEY}.{name.job}", "the job name") if name.job
                            else (f"stack name {settings.stack!r}", "the stack name"))
        problems.append(f"{setting}: {name.limit.what} {name.name!r} is {len(name.name)} characters, over AWS's "
                        f"limit of {name.limit.maximum}: shorten {shorten} by {excess} or more")
    return problems
