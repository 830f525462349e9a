"""Physical names and ARN patterns owned by one stack, and the parts they are made of (the lake's zones, the
pipeline's functions, what the object-access audit watches).

Everything a stack creates in IAM and CloudWatch Logs lives under a path `/<project>/<stack>/`, so a
policy can name "this stack's roles" or "this stack's log groups" with one pattern that cannot match
another stack's (the path separators delimit the stack name). Pure: the components, the bootstrap, the automation
and settings/physical_names.py (which checks every name against AWS's limits) derive names from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .delivery import PR_STACK_PREFIX


class StackNames(Protocol):
    """What a stack's names derive from: the project and the stack name, or a pattern of stacks such as `pr-*`
    (then every function below returns the pattern matching all of them)."""

    @property
    def project(self) -> str: ...

    @property
    def stack(self) -> str: ...


@dataclass(frozen=True)
class StackName:
    """One stack's project and name, all a component needs to name what it creates (`data-pipeline`, `prod` ->
    `data-pipeline-prod-…`, IAM path `/data-pipeline/prod/`)."""

    project: str
    stack: str


def name_prefix(names: StackNames) -> str:
    """Prefix of every physical name the stack owns, e.g. `data-pipeline-prod`."""
    return f"{names.project}-{names.stack}"


def iam_path(names: StackNames) -> str:
    return f"/{names.project}/{names.stack}/"


def role_name(names: StackNames, purpose: str) -> str:
    return f"{name_prefix(names)}-{purpose}"


# What each role is for: the last part of its name.
def glue_job_role_purpose(job: str) -> str:
    return f"glue-{job}"


def state_machine_role_purpose(job: str) -> str:
    return f"sfn-{hyphenated(job)}"


def function_role_purpose(function: str) -> str:
    return f"fn-{hyphenated(function)}"


def table_maintenance_role_purpose(job: str) -> str:
    return f"table-{hyphenated(job)}"


def schedule_role_purpose(schedule: str) -> str:
    return f"schedule-{schedule}"


def ci_namespace(project: str) -> str:
    """Names and IAM path of what the bootstrap (bootstrap/) creates for the project's stacks: apart from every
    stack's own names, so no stack may be called `ci`."""
    return f"{project}-ci"


def permissions_boundary_name(names: StackNames) -> str:
    """The bootstrap's policy capping every role the stack creates: the PR stacks' one, or the environment's."""
    owner = "pr-stacks" if names.stack.startswith(PR_STACK_PREFIX) else f"deploy-{names.stack}"
    return f"{ci_namespace(names.project)}-{owner}-boundary"


def permissions_boundary_arn(partition: str, account_id: str, names: StackNames) -> str:
    namespace = ci_namespace(names.project)
    return f"arn:{partition}:iam::{account_id}:policy/{namespace}/{permissions_boundary_name(names)}"


def role_arn_pattern(partition: str, account_id: str, names: StackNames) -> str:
    return f"arn:{partition}:iam::{account_id}:role{iam_path(names)}*"


def log_group_root(names: StackNames) -> str:
    return f"/{names.project}/{names.stack}"


def log_group_arn(partition: str, region: str, account_id: str, log_group_name: str) -> str:
    return f"arn:{partition}:logs:{region}:{account_id}:log-group:{log_group_name}"


def kms_alias(names: StackNames) -> str:
    return f"alias/{names.project}/{names.stack}"


def hyphenated(key: str) -> str:
    """A job or function key (a Python identifier) as it appears in AWS resource names and logical names."""
    return key.replace("_", "-")


def job_prefix(job: str) -> str:
    """The key prefix a job owns in every bucket (its input, output, temp data and code)."""
    return f"{job}/"


# Health checks put their input and output in this top-level folder of the raw and curated buckets, beside (never
# under) the jobs' own prefixes, which scheduled runs read recursively; the cleanup function expires it.
HEALTH_CHECK_FOLDER = "_health"


def health_check_prefix(job: str) -> str:
    """Where a job's health-check runs put their input and output (one folder per run below it)."""
    return f"{HEALTH_CHECK_FOLDER}/{job_prefix(job)}"


def job_data_prefix(job: str, health_check_only: bool) -> str:
    """Where a job's runs read and write by default: its own prefix, or, on the fast PR check's stack, its
    health-check folder."""
    return health_check_prefix(job) if health_check_only else job_prefix(job)


def table_prefix(job: str) -> str:
    """Where the job's Iceberg table keeps its data and metadata files in the curated bucket."""
    return f"{job_prefix(job)}table/"


# What a run leaves beside the table in its target folder (jobs/common/outputs.py, OutputPaths): its rejected
# rows and its quality result.
RUN_OUTPUT_FOLDERS = ("quarantine", "_dq")


def run_output_prefixes(job: str) -> tuple[str, ...]:
    return tuple(f"{job_prefix(job)}{folder}/" for folder in RUN_OUTPUT_FOLDERS)


def job_data_prefixes(job: str, health_check_only: bool) -> tuple[str, ...]:
    """Every prefix a job's runs may read (raw) and write (curated, temp): its own prefix and its health-check
    folder (release verification runs health checks on every stack), or on the fast PR check's stack only the
    health-check folder."""
    return (health_check_prefix(job),) if health_check_only else (job_prefix(job), health_check_prefix(job))


def table_name(job: str) -> str:
    """A job's curated table in the stack's catalog database is named after the job."""
    return job


# The fast PR check uploads each pull request's job code to the check stack's artifacts bucket under this folder;
# the bucket's lifecycle expires it.
PR_CHECKS_FOLDER = "pr-checks"


def pr_check_code_prefix(pr: int, job: str) -> str:
    """Where the code of a pull request's job is uploaded for the fast check (content-addressed below it)."""
    return f"{PR_CHECKS_FOLDER}/{pr}/glue/{job}/"


# The lake's buckets, one per zone (components/data_lake.py). The data zones hold data that cannot be rebuilt from
# code: locked (Object Lock) where the stack asks for it.
DATA_ZONES = ("raw", "curated")
ZONES = (*DATA_ZONES, "artifacts", "temp")


def bucket_prefix(names: StackNames, zone: str) -> str:
    # AWS appends a unique suffix, so names stay globally unique without a random component here.
    return f"{name_prefix(names)}-{zone}-"


def glue_database_name(names: StackNames) -> str:
    # Glue catalog names are lower case; Athena and Spark SQL do not accept hyphens in them.
    return name_prefix(names).replace("-", "_")


def glue_job_name(names: StackNames, job: str) -> str:
    return f"{name_prefix(names)}-{job}"


def glue_security_configuration_name(names: StackNames, job: str) -> str:
    return f"{glue_job_name(names, job)}-security"


def glue_events_rule_name(names: StackNames) -> str:
    """The EventBridge rule that sends this stack's Glue job state changes to the job monitor."""
    return f"{name_prefix(names)}-glue-state-changes"


def glue_log_group_prefix(names: StackNames, job: str) -> str:
    """Glue 5.0 writes `<prefix>/output` and `<prefix>/error` for `--custom-logGroup-prefix <prefix>`."""
    return f"{log_group_root(names)}/glue/{job}"


# The pipeline's functions (folders under functions/) -> whether they are invoked asynchronously (by events and
# schedules), which keeps the events that still fail after retries in a dead-letter queue.
FUNCTIONS = {"validate_input": False, "quality_gate": False, "job_monitor": True, "cleanup": True}
# The cleanup function's schedule, named `<stack prefix>-cleanup`.
CLEANUP_SCHEDULE_NAME = "cleanup"


def function_name(names: StackNames, function: str) -> str:
    return f"{name_prefix(names)}-{hyphenated(function)}"


def function_log_group(names: StackNames, function: str) -> str:
    return f"{log_group_root(names)}/lambda/{function}"


def dead_letter_queue_name(names: StackNames, function: str) -> str:
    return f"{function_name(names, function)}-dead-letters"


def state_machine_name(names: StackNames, job: str) -> str:
    return f"{name_prefix(names)}-{hyphenated(job)}-pipeline"


def state_machine_arn(partition: str, region: str, account_id: str, names: StackNames, job: str) -> str:
    """The ARN the job's state machine has (or will have: known before its first deploy)."""
    return f"arn:{partition}:states:{region}:{account_id}:stateMachine:{state_machine_name(names, job)}"


def state_machine_log_group(names: StackNames, job: str) -> str:
    return f"{log_group_root(names)}/states/{job}"


# The object-access audit (components/object_access_audit.py): its own bucket's zone, the purpose of the role that
# delivers the trail's events to its log group, and what its metric filters and alarms watch there.
AUDIT_ZONE = "audit"
LOG_DELIVERY_PURPOSE = "object-access-logs"
CURATED_DELETES, ACCESS_DENIED = "curated-deletes", "access-denied"
WATCHED = (CURATED_DELETES, ACCESS_DENIED)


def object_access_log_group(names: StackNames) -> str:
    return f"{log_group_root(names)}/cloudtrail/object-access"


def object_access_metric_filter(names: StackNames, watched: str) -> str:
    return f"{name_prefix(names)}-{watched}"


def trail_name(names: StackNames) -> str:
    """The CloudTrail trail recording object-level access to the stack's buckets."""
    return f"{name_prefix(names)}-object-access"


def trail_arn(partition: str, region: str, account_id: str, names: StackNames) -> str:
    return f"arn:{partition}:cloudtrail:{region}:{account_id}:trail/{trail_name(names)}"


def pipeline_schedule(job: str) -> str:
    """What a job's pipeline schedule is called after its stack's prefix (it names the schedule and its role)."""
    return f"{hyphenated(job)}-pipeline"


def schedule_name(names: StackNames, schedule: str) -> str:
    return f"{name_prefix(names)}-{schedule}"


def dashboard_name(names: StackNames) -> str:
    return name_prefix(names)


def topic_name(names: StackNames) -> str:
    return f"{name_prefix(names)}-alerts"


# Metric namespace of the stack's own metrics (emitted by the job monitor and cleanup functions).
def metric_namespace(names: StackNames) -> str:
    return f"DataPipeline/{names.stack}"
