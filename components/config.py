"""Typed, validated stack settings: the only place that reads `pulumi.Config`.

`parse_settings` turns raw config values into frozen dataclasses and reports *every* problem at once
(key, value, what is allowed), so a bad stack file fails before a single resource is registered.
Components receive these settings, never `pulumi.Config`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import naming

PROJECT = "data-pipeline"

# Values CloudWatch Logs accepts for a log group's retention (PutRetentionPolicy).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                      2557, 2922, 3288, 3653)
# Glue 5.0 Spark worker types; FLEX capacity is only sold for the two smallest.
GLUE_WORKER_TYPES = ("G.1X", "G.2X", "G.4X", "G.8X")
FLEX_WORKER_TYPES = ("G.1X", "G.2X")
GLUE_EXECUTION_CLASSES = ("STANDARD", "FLEX")
# Stack names end up in bucket prefixes (37 characters at most) and role names (64 at most).
STACK_NAME = re.compile(r"^[a-z][a-z0-9-]{0,11}$")
JOB_NAME = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# EventBridge Scheduler expressions; empty means no schedule.
SCHEDULE = re.compile(r"^$|^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\([^)]+\))$")
# A customer-managed IAM policy (the permissions boundary of every role a stack creates).
IAM_POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:policy/[\w+=,.@/-]{1,512}$")
STATE_MACHINE_LOG_LEVELS = ("ALL", "ERROR", "FATAL")
# How `python -m automation release` moves a stack's `live` aliases to a new pipeline version.
RELEASE_STRATEGIES = ("all-at-once", "verify-then-switch", "canary")
# The stack whose data must never be deleted by a `pulumi destroy`.
PRODUCTION_STACKS = ("prod",)
# S3 refuses a STANDARD_IA transition earlier than 30 days after creation.
MIN_INFREQUENT_ACCESS_DAYS = 30
JOB_ENTRYPOINT = "glue_main.py"


class ConfigError(ValueError):
    """Every problem found in a stack's configuration, one line each."""

    def __init__(self, stack: str, problems: list[str]):
        self.stack = stack
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"stack '{stack}' has {len(problems)} invalid config value(s):\n{lines}")


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
    lifecycle: LifecycleSettings
    glue_jobs: tuple[GlueJobSettings, ...]
    functions: LambdaSettings
    alarms: AlarmSettings
    orchestration: OrchestrationSettings
    release: ReleaseSettings
    # Managed policy set as the permissions boundary of every role the stack creates; "" = none.
    permissions_boundary_arn: str

    @property
    def name_prefix(self) -> str:
        """Prefix of every physical name this stack owns, e.g. `data-pipeline-prod`."""
        return naming.name_prefix(self)

    @property
    def tags(self) -> dict[str, str]:
        return {
            "project": self.project,
            "stack": self.stack,
            "owner": self.owner,
            "cost-center": self.cost_center,
            "managed-by": "pulumi",
        }


@dataclass(frozen=True)
class Field:
    """One config key: how to read it and which values are allowed."""

    kind: type
    check: Callable[[Any], bool]
    allowed: str


def _one_of(values: tuple) -> Field:
    kind = type(values[0])
    return Field(kind, lambda v: v in values, "one of " + ", ".join(str(v) for v in values))


def int_range(low: int, high: int) -> Field:
    return Field(int, lambda v: low <= v <= high, f"an integer from {low} to {high}")


def _days_or_never(minimum: int = 1) -> Field:
    return Field(int, lambda v: v == 0 or minimum <= v <= 36500,
                 f"0 (never) or a number of days from {minimum} to 36500")


NON_EMPTY = Field(str, lambda v: bool(v.strip()), "a non-empty string")
BOOLEAN = Field(bool, lambda v: True, "true or false")
_EMAILS = Field(list, lambda v: all(isinstance(e, str) and EMAIL.match(e) for e in v),
                "a list of e-mail addresses")

# Stack-level keys (declared with types and defaults in Pulumi.yaml) -> rule.
STACK_FIELDS: dict[str, Field] = {
    "owner": NON_EMPTY,
    "costCenter": NON_EMPTY,
    "logRetentionDays": _one_of(LOG_RETENTION_DAYS),
    "kmsDeletionWindowDays": int_range(7, 30),
    "bucketVersioning": BOOLEAN,
    "protectData": BOOLEAN,
    "rawInfrequentAccessDays": _days_or_never(MIN_INFREQUENT_ACCESS_DAYS),
    "rawExpirationDays": _days_or_never(),
    "curatedInfrequentAccessDays": _days_or_never(MIN_INFREQUENT_ACCESS_DAYS),
    "curatedExpirationDays": _days_or_never(),
    "tempExpirationDays": int_range(1, 365),
    "noncurrentVersionExpirationDays": int_range(1, 3650),
    "glueWorkerType": _one_of(GLUE_WORKER_TYPES),
    "glueNumberOfWorkers": int_range(2, 299),
    "glueTimeoutMinutes": int_range(1, 2880),
    "glueMaxRetries": int_range(0, 10),
    "glueMaxConcurrentRuns": int_range(1, 1000),
    "glueExecutionClass": _one_of(GLUE_EXECUTION_CLASSES),
    "lambdaMemoryMb": int_range(128, 10240),
    "lambdaTimeoutSeconds": int_range(1, 900),
    "lambdaReservedConcurrency": Field(int, lambda v: v == -1 or 1 <= v <= 1000,
                                       "-1 (no reservation) or an integer from 1 to 1000"),
    "stateMachineLogLevel": _one_of(STATE_MACHINE_LOG_LEVELS),
    "pipelineSchedule": Field(str, lambda v: bool(SCHEDULE.match(v)),
                              "empty (no schedule), rate(N minutes|hours|days) or cron(...)"),
    "alertEmails": _EMAILS,
    "cleanupTtlDays": int_range(1, 365),
    "maxInputObjectMb": int_range(1, 5120),
    "alarmPeriodSeconds": _one_of((60, 300, 900, 3600)),
    "alarmEvaluationPeriods": int_range(1, 24),
    "alarmGlueJobFailures": int_range(1, 100),
    "alarmStateMachineFailures": int_range(1, 100),
    "alarmLambdaErrors": int_range(1, 1000),
    "alarmLambdaThrottles": int_range(1, 1000),
    "alarmLambdaDurationPercent": int_range(10, 100),
    "releaseStrategy": _one_of(RELEASE_STRATEGIES),
    # Step Functions aliases route in whole percent between two versions.
    "canaryPercent": int_range(1, 99),
    "canaryBakeMinutes": int_range(1, 1440),
    # AWS keeps at most 1,000 versions per state machine.
    "retainedReleases": int_range(2, 100),
    "permissionsBoundaryArn": Field(str, lambda v: v == "" or bool(IAM_POLICY_ARN.match(v)),
                                    "empty (no boundary) or an IAM policy ARN, "
                                    "arn:aws:iam::<account>:policy/<path><name>"),
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


def _coerce(value: Any, kind: type) -> Any:
    """Config arrives as strings from the engine (objects as JSON); typed YAML values pass through."""
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    if not isinstance(value, str):
        raise ValueError
    if kind is bool:
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError
    if kind is int:
        return int(value.strip())
    if kind is list:
        parsed = json.loads(value)
        if not isinstance(parsed, list):
            raise ValueError
        return parsed
    return value


def _check(key: str, value: Any, field: Field, problems: list[str]) -> Any:
    try:
        typed = _coerce(value, field.kind)
    except ValueError:  # json.JSONDecodeError is a ValueError too
        problems.append(f"{key} = {value!r}: must be {field.allowed}")
        return None
    if not field.check(typed):
        problems.append(f"{key} = {value!r}: must be {field.allowed}")
        return None
    return typed


def read_fields(namespace: str, fields: Mapping[str, Field], raw: Mapping[str, Any],
                problems: list[str]) -> dict[str, Any]:
    """The typed value of each key present in `raw` (None where invalid); every missing or invalid key adds a
    problem naming it (`namespace:key`), its value and what is allowed."""
    values: dict[str, Any] = {}
    for key, field in fields.items():
        if raw.get(key) is None:
            problems.append(f"{namespace}:{key} is missing: must be {field.allowed}")
            continue
        values[key] = _check(f"{namespace}:{key}", raw[key], field, problems)
    return values


def check_stack_name(stack: str, problems: list[str]) -> None:
    if not STACK_NAME.match(stack):
        problems.append(f"stack name {stack!r}: must match {STACK_NAME.pattern} (it prefixes bucket and role names)")


def _parse_jobs(raw: Any, defaults: Mapping[str, Any], jobs_dir: Path, problems: list[str]) -> list[GlueJobSettings]:
    key = f"{PROJECT}:{GLUE_JOBS_KEY}"
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            problems.append(f"{key} = {raw!r}: must be a map of job name to overrides")
            return []
    if not isinstance(raw, dict) or not raw:
        problems.append(f"{key} = {raw!r}: must be a non-empty map of job name to overrides "
                        f"(allowed overrides: {', '.join(JOB_OVERRIDES)})")
        return []
    jobs = []
    for name, overrides in sorted(raw.items()):
        job_key = f"{key}.{name}"
        if not JOB_NAME.match(name):
            problems.append(f"{job_key}: job name must match {JOB_NAME.pattern}")
            continue
        if not (jobs_dir / name / JOB_ENTRYPOINT).is_file():
            problems.append(f"{job_key}: no job folder {jobs_dir.name}/{name}/ with {JOB_ENTRYPOINT}")
        overrides = overrides or {}
        if not isinstance(overrides, dict):
            problems.append(f"{job_key} = {overrides!r}: must be a map of overrides")
            continue
        for unknown in sorted(set(overrides) - set(JOB_OVERRIDES)):
            problems.append(f"{job_key}.{unknown}: unknown setting; allowed: {', '.join(JOB_OVERRIDES)}")
        values = {}
        for override, stack_key in JOB_OVERRIDES.items():
            if override in overrides:
                values[override] = _check(f"{job_key}.{override}", overrides[override], STACK_FIELDS[stack_key],
                                          problems)
            else:
                values[override] = defaults.get(stack_key)
        if None in values.values():
            continue
        if values["executionClass"] == "FLEX" and values["workerType"] not in FLEX_WORKER_TYPES:
            problems.append(f"{job_key}: executionClass FLEX with workerType {values['workerType']!r}: FLEX "
                            f"runs only on {', '.join(FLEX_WORKER_TYPES)}")
            continue
        jobs.append(GlueJobSettings(name=name, worker_type=values["workerType"],
                                    number_of_workers=values["numberOfWorkers"],
                                    timeout_minutes=values["timeoutMinutes"], max_retries=values["maxRetries"],
                                    max_concurrent_runs=values["maxConcurrentRuns"],
                                    execution_class=values["executionClass"]))
    return jobs


def _check_lifecycle(values: Mapping[str, Any], problems: list[str]) -> None:
    for zone in ("raw", "curated"):
        transition = values.get(f"{zone}InfrequentAccessDays")
        expiration = values.get(f"{zone}ExpirationDays")
        if transition and expiration and expiration <= transition:
            problems.append(f"{PROJECT}:{zone}ExpirationDays = {expiration}: must be 0 (never) or later than "
                            f"{PROJECT}:{zone}InfrequentAccessDays ({transition})")


def parse_settings(stack: str, raw: Mapping[str, Any], jobs_dir: Path) -> StackSettings:
    """Validate raw config (`key` without namespace -> value) for `stack`; raise ConfigError listing all problems."""
    problems: list[str] = []
    check_stack_name(stack, problems)
    values = read_fields(PROJECT, STACK_FIELDS, raw, problems)
    _check_lifecycle(values, problems)
    if stack in PRODUCTION_STACKS and values.get("protectData") is False:
        problems.append(f"{PROJECT}:protectData = false: must be true on stack '{stack}' (production data is "
                        f"protected from deletion)")
    jobs = _parse_jobs(raw.get(GLUE_JOBS_KEY), values, jobs_dir, problems)
    if problems:
        raise ConfigError(stack, problems)
    return StackSettings(
        project=PROJECT,
        stack=stack,
        owner=values["owner"],
        cost_center=values["costCenter"],
        log_retention_days=values["logRetentionDays"],
        kms_deletion_window_days=values["kmsDeletionWindowDays"],
        bucket_versioning=values["bucketVersioning"],
        protect_data=values["protectData"],
        lifecycle=LifecycleSettings(
            raw_infrequent_access_days=values["rawInfrequentAccessDays"],
            raw_expiration_days=values["rawExpirationDays"],
            curated_infrequent_access_days=values["curatedInfrequentAccessDays"],
            curated_expiration_days=values["curatedExpirationDays"],
            temp_expiration_days=values["tempExpirationDays"],
            noncurrent_version_expiration_days=values["noncurrentVersionExpirationDays"],
        ),
        glue_jobs=tuple(jobs),
        functions=LambdaSettings(
            memory_mb=values["lambdaMemoryMb"],
            timeout_seconds=values["lambdaTimeoutSeconds"],
            reserved_concurrency=values["lambdaReservedConcurrency"],
        ),
        alarms=AlarmSettings(
            period_seconds=values["alarmPeriodSeconds"],
            evaluation_periods=values["alarmEvaluationPeriods"],
            glue_job_failures=values["alarmGlueJobFailures"],
            state_machine_failures=values["alarmStateMachineFailures"],
            lambda_errors=values["alarmLambdaErrors"],
            lambda_throttles=values["alarmLambdaThrottles"],
            lambda_duration_percent_of_timeout=values["alarmLambdaDurationPercent"],
        ),
        orchestration=OrchestrationSettings(
            state_machine_log_level=values["stateMachineLogLevel"],
            schedule=values["pipelineSchedule"],
            alert_emails=tuple(values["alertEmails"]),
            cleanup_ttl_days=values["cleanupTtlDays"],
            max_input_object_mb=values["maxInputObjectMb"],
        ),
        release=ReleaseSettings(
            strategy=values["releaseStrategy"],
            canary_percent=values["canaryPercent"],
            canary_bake_minutes=values["canaryBakeMinutes"],
            retained_releases=values["retainedReleases"],
        ),
        permissions_boundary_arn=values["permissionsBoundaryArn"],
    )


def load_settings(jobs_dir: Path) -> StackSettings:
    """Read this stack's `pulumi.Config` once and validate it."""
    import pulumi

    config = pulumi.Config(PROJECT)
    raw = {key: config.get(key) for key in (*STACK_FIELDS, GLUE_JOBS_KEY)}
    return parse_settings(pulumi.get_stack(), raw, jobs_dir)
