"""The pipeline stack's schema: every key of a stack file (`STACK_FIELDS`: its rule, its default and the settings
field it fills), the values AWS allows for them, and the frozen dataclasses the components receive.

`Pulumi.yaml` declares the same keys for the CLI, and tests/test_config.py holds the two equal. Reading and checking
a stack's values against this schema is settings/parse.py's job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from . import naming
from .validation import BOOLEAN, NON_EMPTY, Field, int_range

PROJECT = "data-pipeline"

# Values CloudWatch Logs accepts for a log group's retention (PutRetentionPolicy).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                      2557, 2922, 3288, 3653)
# Glue 5.0 Spark worker types; FLEX capacity is only sold for the two smallest.
GLUE_WORKER_TYPES = ("G.1X", "G.2X", "G.4X", "G.8X")
FLEX_WORKER_TYPES = ("G.1X", "G.2X")
GLUE_EXECUTION_CLASSES = ("STANDARD", "FLEX")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# EventBridge Scheduler expressions; empty means no schedule.
SCHEDULE = re.compile(r"^$|^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\([^)]+\))$")
STATE_MACHINE_LOG_LEVELS = ("ALL", "ERROR", "FATAL")
# How `python -m automation release deploy` moves a stack's `live` aliases to a new pipeline version.
RELEASE_STRATEGIES = ("all-at-once", "verify-then-switch", "canary", "linear")
# The strategies AWS's managed deployment moves gradually, judged by the runs that reach the new version: canary
# (canaryPercent for canaryBakeMinutes, then the rest) and linear (canaryPercent more every canaryBakeMinutes).
GRADUAL_STRATEGIES = ("canary", "linear")
# A canary's bake is the managed deployment's interval (AWS allows up to 2100 minutes); a day at most here.
MAX_CANARY_BAKE_MINUTES = 1440
# The stack whose data must never be deleted by a `pulumi destroy`.
PRODUCTION_STACKS = ("prod",)
# S3 refuses a STANDARD_IA transition earlier than 30 days after creation.
MIN_INFREQUENT_ACCESS_DAYS = 30


@dataclass(frozen=True)
class GlueJobSettings:
    name: str
    worker_type: str
    number_of_workers: int
    timeout_minutes: int
    max_retries: int
    max_concurrent_runs: int
    execution_class: str


@dataclass(frozen=True)
class LifecycleSettings:
    """Days after which objects move or expire, per data zone; 0 means never."""

    raw_infrequent_access_days: int
    raw_expiration_days: int
    curated_infrequent_access_days: int
    curated_expiration_days: int
    temp_expiration_days: int
    noncurrent_version_expiration_days: int


@dataclass(frozen=True)
class LambdaSettings:
    memory_mb: int
    timeout_seconds: int
    # -1: no reservation (shares the account's pool); otherwise the function's own concurrency.
    reserved_concurrency: int


@dataclass(frozen=True)
class AlarmSettings:
    period_seconds: int
    evaluation_periods: int
    glue_job_failures: int
    state_machine_failures: int
    lambda_errors: int
    lambda_throttles: int
    # Alarm when p99 duration passes this share of the function's timeout.
    lambda_duration_percent_of_timeout: int


@dataclass(frozen=True)
class OrchestrationSettings:
    state_machine_log_level: str
    schedule: str
    alert_emails: tuple[str, ...]
    cleanup_ttl_days: int
    max_input_object_mb: int


@dataclass(frozen=True)
class ReleaseSettings:
    # all-at-once: switch without verification; verify-then-switch: health check on the new version, then
    # 100 %; canary: verify, then `canary_percent` for `canary_bake_minutes` while alarms are watched, then 100 %.
    strategy: str
    canary_percent: int
    canary_bake_minutes: int
    # Pipeline versions (and their Glue artifacts) kept for rollback; older ones no alias routes to are pruned.
    retained_releases: int
    # Keep every existing `live` alias on the version it routes to now (components/release_target.py): set by
    # `python -m automation release deploy` in its workspace for the update that publishes before verification, never
    # in a stack file.
    hold_aliases: bool


@dataclass(frozen=True)
class TableMaintenanceSettings:
    """What the Glue table optimizers keep of each curated Iceberg table (components/curated_table.py)."""

    # Snapshots younger than this are kept (data can be rolled back to them), and at least `snapshots_to_keep`.
    snapshot_retention_days: int
    snapshots_to_keep: int
    # Files no snapshot references are deleted once this old; a running job's uncommitted files must be younger.
    orphan_file_retention_days: int


@dataclass(frozen=True)
class StackSettings:
    project: str
    stack: str
    owner: str
    cost_center: str
    log_retention_days: int
    kms_deletion_window_days: int
    bucket_versioning: bool
    protect_data: bool
    # Days every object version in the data zones is kept under S3 Object Lock (governance mode); 0 = no lock.
    data_retention_days: int
    # Record every read, write and delete of an object in the lake's buckets (a CloudTrail trail of S3 data events).
    object_access_audit: bool
    lifecycle: LifecycleSettings
    glue_jobs: tuple[GlueJobSettings, ...]
    functions: LambdaSettings
    alarms: AlarmSettings
    orchestration: OrchestrationSettings
    release: ReleaseSettings
    table_maintenance: TableMaintenanceSettings
    # The long-lived check stack of the fast PR check (pr-base): its Glue jobs run pull requests' code on the
    # samples, so they may touch only the health-check folders and the PRs' uploaded code, and no catalog.
    health_check_only: bool

    @property
    def name_prefix(self) -> str:
        """Prefix of every physical name this stack owns, e.g. `data-pipeline-prod`."""
        return naming.name_prefix(self)

    @property
    def names(self) -> naming.StackName:
        """What the components derive their physical names from."""
        return naming.StackName(project=self.project, stack=self.stack)

    @property
    def tags(self) -> dict[str, str]:
        return {
            "project": self.project,
            "stack": self.stack,
            "owner": self.owner,
            "cost-center": self.cost_center,
            "managed-by": "pulumi",
        }


def _one_of(values: tuple) -> Field:
    kind = type(values[0])
    return Field(kind, lambda v: v in values, "one of " + ", ".join(str(v) for v in values))


def _days_or_never(minimum: int = 1) -> Field:
    return Field(int, lambda v: v == 0 or minimum <= v <= 36500,
                 f"0 (never) or a number of days from {minimum} to 36500")


_EMAILS = Field(list, lambda v: all(isinstance(e, str) and EMAIL.match(e) for e in v),
                "a list of e-mail addresses")


@dataclass(frozen=True)
class Setting:
    """One stack key: its rule, its default (None: every stack file must set it) and the `StackSettings` field it
    fills (`section.field` for a nested one; None when another rule reads it, e.g. the Glue job defaults)."""

    rule: Field
    field: str | None
    default: Any = None

    @property
    def kind(self) -> type:
        return self.rule.kind


# Every stack-level key (without the `data-pipeline:` namespace). Adding a key is one entry here, a field in its
# settings dataclass, and its declaration in Pulumi.yaml (tests/test_config.py prints the one to paste).
STACK_FIELDS: dict[str, Setting] = {
    "owner": Setting(NON_EMPTY, "owner"),
    "costCenter": Setting(NON_EMPTY, "cost_center"),
    "logRetentionDays": Setting(_one_of(LOG_RETENTION_DAYS), "log_retention_days", 30),
    "kmsDeletionWindowDays": Setting(int_range(7, 30), "kms_deletion_window_days", 30),
    "bucketVersioning": Setting(BOOLEAN, "bucket_versioning", True),
    "protectData": Setting(BOOLEAN, "protect_data", False),
    "dataRetentionDays": Setting(Field(int, lambda v: 0 <= v <= 36500,
                                       "0 (no Object Lock) or a number of days from 1 to 36500"),
                                 "data_retention_days", 0),
    "objectAccessAudit": Setting(BOOLEAN, "object_access_audit", True),
    "rawInfrequentAccessDays": Setting(_days_or_never(MIN_INFREQUENT_ACCESS_DAYS),
                                       "lifecycle.raw_infrequent_access_days", 0),
    "rawExpirationDays": Setting(_days_or_never(), "lifecycle.raw_expiration_days", 0),
    "curatedInfrequentAccessDays": Setting(_days_or_never(MIN_INFREQUENT_ACCESS_DAYS),
                                           "lifecycle.curated_infrequent_access_days", 0),
    "curatedExpirationDays": Setting(_days_or_never(), "lifecycle.curated_expiration_days", 0),
    "tempExpirationDays": Setting(int_range(1, 365), "lifecycle.temp_expiration_days", 7),
    "noncurrentVersionExpirationDays": Setting(int_range(1, 3650), "lifecycle.noncurrent_version_expiration_days",
                                               30),
    # Defaults of every Glue job (JOB_OVERRIDES), so they fill no field of their own.
    "glueWorkerType": Setting(_one_of(GLUE_WORKER_TYPES), None, "G.1X"),
    "glueNumberOfWorkers": Setting(int_range(2, 299), None, 2),
    "glueTimeoutMinutes": Setting(int_range(1, 2880), None, 60),
    "glueMaxRetries": Setting(int_range(0, 10), None, 0),
    "glueMaxConcurrentRuns": Setting(int_range(1, 1000), None, 1),
    "glueExecutionClass": Setting(_one_of(GLUE_EXECUTION_CLASSES), None, "STANDARD"),
    "lambdaMemoryMb": Setting(int_range(128, 10240), "functions.memory_mb", 256),
    "lambdaTimeoutSeconds": Setting(int_range(1, 900), "functions.timeout_seconds", 60),
    "lambdaReservedConcurrency": Setting(Field(int, lambda v: v == -1 or 1 <= v <= 1000,
                                                "-1 (no reservation) or an integer from 1 to 1000"),
                                         "functions.reserved_concurrency", -1),
    "stateMachineLogLevel": Setting(_one_of(STATE_MACHINE_LOG_LEVELS), "orchestration.state_machine_log_level",
                                    "ERROR"),
    "pipelineSchedule": Setting(Field(str, lambda v: bool(SCHEDULE.match(v)),
                                       "empty (no schedule), rate(N minutes|hours|days) or cron(...)"),
                                "orchestration.schedule", ""),
    "alertEmails": Setting(_EMAILS, "orchestration.alert_emails", []),
    "cleanupTtlDays": Setting(int_range(1, 365), "orchestration.cleanup_ttl_days", 7),
    "maxInputObjectMb": Setting(int_range(1, 5120), "orchestration.max_input_object_mb", 1024),
    "alarmPeriodSeconds": Setting(_one_of((60, 300, 900, 3600)), "alarms.period_seconds", 300),
    "alarmEvaluationPeriods": Setting(int_range(1, 24), "alarms.evaluation_periods", 1),
    "alarmGlueJobFailures": Setting(int_range(1, 100), "alarms.glue_job_failures", 1),
    "alarmStateMachineFailures": Setting(int_range(1, 100), "alarms.state_machine_failures", 1),
    "alarmLambdaErrors": Setting(int_range(1, 1000), "alarms.lambda_errors", 1),
    "alarmLambdaThrottles": Setting(int_range(1, 1000), "alarms.lambda_throttles", 1),
    "alarmLambdaDurationPercent": Setting(int_range(10, 100), "alarms.lambda_duration_percent_of_timeout", 80),
    "releaseStrategy": Setting(_one_of(RELEASE_STRATEGIES), "release.strategy", "verify-then-switch"),
    # Step Functions aliases route in whole percent between two versions.
    "canaryPercent": Setting(int_range(1, 99), "release.canary_percent", 10),
    "canaryBakeMinutes": Setting(int_range(1, MAX_CANARY_BAKE_MINUTES), "release.canary_bake_minutes", 30),
    # AWS keeps at most 1,000 versions per state machine.
    "retainedReleases": Setting(int_range(2, 100), "release.retained_releases", 10),
    "holdAliases": Setting(BOOLEAN, "release.hold_aliases", False),
    "tableSnapshotRetentionDays": Setting(int_range(1, 3650), "table_maintenance.snapshot_retention_days", 5),
    "tableSnapshotsToKeep": Setting(int_range(1, 1000), "table_maintenance.snapshots_to_keep", 1),
    "tableOrphanFileRetentionDays": Setting(int_range(1, 3650), "table_maintenance.orphan_file_retention_days", 3),
    "healthCheckOnly": Setting(BOOLEAN, "health_check_only", False),
}
# The map key holding the jobs, and the per-job overrides it accepts -> the stack default they replace.
GLUE_JOBS_KEY = "glueJobs"
JOB_OVERRIDES = {
    "workerType": "glueWorkerType",
    "numberOfWorkers": "glueNumberOfWorkers",
    "timeoutMinutes": "glueTimeoutMinutes",
    "maxRetries": "glueMaxRetries",
    "maxConcurrentRuns": "glueMaxConcurrentRuns",
    "executionClass": "glueExecutionClass",
}
