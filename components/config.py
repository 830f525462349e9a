"""Typed, validated stack settings: the only place that reads `pulumi.Config`.

`STACK_FIELDS` is the one source of every stack key: its rule (type and allowed values), its default and the
settings field it fills; `Pulumi.yaml` declares the same keys for the CLI, and a test holds the two equal.
`parse_settings` turns raw config values into frozen dataclasses and reports *every* problem at once (key,
value, what is allowed; an unknown key with the closest known one; a physical name over its AWS limit), so a
bad stack file fails before a single resource is registered. Components receive these settings, never
`pulumi.Config`.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import re
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore
from botocore.loaders import create_loader

from jobs.common.catalog import ENTRYPOINT, entrypoint_job, job_names
from schedules import longest_gap_minutes

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
STATE_MACHINE_LOG_LEVELS = ("ALL", "ERROR", "FATAL")
# How `python -m automation release` moves a stack's `live` aliases to a new pipeline version.
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
MINUTES_PER_DAY = 24 * 60
# The script Glue runs for each job (jobs/<job>/glue_main.py).
JOB_ENTRYPOINT = ENTRYPOINT


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
    # Keep every existing `live` alias on the version it routes to now (components/release_target.py): set by
    # `python -m automation release` in its workspace for the update that publishes before verification, never
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


def read_fields(namespace: str, fields: Mapping[str, Field], raw: Mapping[str, Any], problems: list[str],
                defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The typed value of each key (its default when `raw` lacks it; None where invalid); every missing or invalid
    key adds a problem naming it (`namespace:key`), its value and what is allowed."""
    values: dict[str, Any] = {}
    for key, field in fields.items():
        value = (defaults or {}).get(key) if raw.get(key) is None else raw[key]
        if value is None:
            problems.append(f"{namespace}:{key} is missing: must be {field.allowed}")
            continue
        values[key] = _check(f"{namespace}:{key}", value, field, problems)
    return values


def check_stack_name(stack: str, problems: list[str]) -> None:
    if not STACK_NAME.match(stack):
        problems.append(f"stack name {stack!r}: must match {STACK_NAME.pattern} (it prefixes bucket and role names)")


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


def closest(word: str, known: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The known name a typo most likely meant (case forgiven): the shortest one containing it or contained in it
    (`workers` -> `numberOfWorkers`), else the most similar (difflib ratio >= cutoff), or None when none is close."""
    by_lower = {name.lower(): name for name in known}
    word = word.lower()
    overlapping = sorted((name for name in by_lower if word in name or name in word), key=len)
    match = overlapping[:1] or difflib.get_close_matches(word, list(by_lower), n=1, cutoff=cutoff)
    return by_lower[match[0]] if match else None


def unknown(key: str, word: str, known: Iterable[str], what: str, otherwise: str) -> str:
    """`<key>: unknown <what>; did you mean <the closest known one>?`, or `otherwise` when none is close."""
    guess = closest(word, known)
    return f"{key}: unknown {what}; " + (f"did you mean {key.removesuffix(word)}{guess}?" if guess else otherwise)


@functools.cache
def partition_regions() -> dict[str, tuple[re.Pattern, tuple[str, ...]]]:
    """Each AWS partition's region name pattern and known regions, from botocore's endpoint data (partitions.json;
    its `aws-global`-style entries, which are not regions, left out)."""
    partitions = {}
    for partition in create_loader().load_data("partitions")["partitions"]:
        pattern = re.compile(partition["regionRegex"])
        partitions[partition["id"]] = (pattern, tuple(r for r in partition["regions"] if pattern.match(r)))
    return partitions


def region_problem(region: str) -> str | None:
    """Why `aws:region` is not a region AWS has (a typo such as eu-wst-1 would fail only at the first AWS call)."""
    partitions = partition_regions()
    partition = next((name for name, (pattern, _) in partitions.items() if pattern.match(region)), None)
    if partition and region in partitions[partition][1]:
        return None
    known = [known for _, regions in partitions.values() for known in regions]
    guess = closest(region, known, cutoff=0.8)
    where = f"not a region of partition {partition}" if partition else "not an AWS region name"
    return (f"aws:region = {region!r}: {where} (botocore {botocore.__version__}'s endpoint data: a region opened "
            f"since needs a newer botocore); "
            + (f"did you mean {guess}?" if guess else f"known regions: {', '.join(sorted(known))}"))


def _check_job_folder(job_key: str, name: str, jobs_dir: Path, problems: list[str]) -> None:
    """The job's folder exists and its Glue entrypoint runs the job's own module, not a copied one's."""
    entrypoint = jobs_dir / name / JOB_ENTRYPOINT
    if not entrypoint.is_file():
        available = job_names(jobs_dir)
        # Stricter than for keys: a new job's name is often near an existing one's (returns, orders).
        guess = closest(name, available, cutoff=0.8)
        problems.append(f"{job_key}: no job folder {jobs_dir.name}/{name}/ with {JOB_ENTRYPOINT}"
                        + (f"; did you mean {guess}?" if guess else
                           f"; jobs in {jobs_dir.name}/: {', '.join(available) or 'none'}")
                        + f" (python -m jobs new {name} creates one)")
        return
    runs = entrypoint_job(entrypoint)
    if runs != name:
        problems.append(f"{job_key}: {jobs_dir.name}/{name}/{JOB_ENTRYPOINT} runs "
                        f"{f'jobs.{runs}.job' if runs else 'no jobs.<name>.job module'}, not jobs.{name}.job")


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
        _check_job_folder(job_key, name, jobs_dir, problems)
        overrides = overrides or {}
        if not isinstance(overrides, dict):
            problems.append(f"{job_key} = {overrides!r}: must be a map of overrides")
            continue
        for override in sorted(set(overrides) - set(JOB_OVERRIDES)):
            problems.append(unknown(f"{job_key}.{override}", override, JOB_OVERRIDES, "setting",
                                    f"allowed: {', '.join(JOB_OVERRIDES)}"))
        values = {}
        for override, stack_key in JOB_OVERRIDES.items():
            if override in overrides:
                values[override] = _check(f"{job_key}.{override}", overrides[override],
                                          STACK_FIELDS[stack_key].rule, problems)
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


def _check_orphan_file_retention(values: Mapping[str, Any], jobs: list[GlueJobSettings],
                                  problems: list[str]) -> None:
    """The orphan file optimizer must not delete the files a running job has written but not yet committed."""
    days = values.get("tableOrphanFileRetentionDays")
    longest = max(jobs, key=lambda job: job.timeout_minutes, default=None)
    if days and longest and longest.timeout_minutes >= days * MINUTES_PER_DAY:
        problems.append(f"{PROJECT}:tableOrphanFileRetentionDays = {days}: must be longer than the longest Glue run "
                        f"(job {longest.name} times out after {longest.timeout_minutes} minutes), or the table's "
                        f"upkeep could delete the files of a run still in progress")


def _check_canary(values: Mapping[str, Any], problems: list[str]) -> None:
    """A canary (or a linear deployment's first step) is judged by the scheduled runs that reach the new version
    during the bake: on average at least one must (bake / longest gap between runs x canaryPercent >= 100 %), or
    the alarms have nothing to see."""
    if values.get("releaseStrategy") not in GRADUAL_STRATEGIES or None in (values.get("canaryPercent"),
                                                              values.get("canaryBakeMinutes"),
                                                              values.get("pipelineSchedule")):
        return
    schedule, percent, bake = values["pipelineSchedule"], values["canaryPercent"], values["canaryBakeMinutes"]
    instead = "or releaseStrategy verify-then-switch (the new version is health-checked before any run reaches it)"
    if not schedule:
        problems.append(f"{PROJECT}:releaseStrategy = {values['releaseStrategy']!r}: needs a "
                        f"{PROJECT}:pipelineSchedule, whose runs the canary is judged by (no run would reach the new "
                        f"version); {instead}")
        return
    try:
        gap = longest_gap_minutes(schedule)
    except ValueError as error:
        problems.append(f"{PROJECT}:pipelineSchedule = {schedule!r}: {error}")
        return
    needed = math.ceil(100 / percent) * gap
    if bake < needed:
        problems.append(f"{PROJECT}:canaryBakeMinutes = {bake}: must be at least {needed} with canaryPercent "
                        f"{percent} and pipelineSchedule {schedule!r} (runs up to {gap} minutes apart), so that a "
                        f"scheduled run reaches the new version during the bake"
                        + (f" (more than the {MAX_CANARY_BAKE_MINUTES} allowed)" if needed > MAX_CANARY_BAKE_MINUTES
                           else "")
                        + f"; {instead}")


def _settings(stack: str, values: Mapping[str, Any], jobs: list[GlueJobSettings]) -> StackSettings:
    """StackSettings from the checked values, each key filling the field STACK_FIELDS names."""
    top: dict[str, Any] = {}
    sections: dict[str, dict[str, Any]] = {}
    for key, setting in STACK_FIELDS.items():
        if setting.field is None:
            continue
        section, _, field = setting.field.rpartition(".")
        value = tuple(values[key]) if isinstance(values[key], list) else values[key]  # frozen settings
        (sections.setdefault(section, {}) if section else top)[field] = value
    section_types = typing.get_type_hints(StackSettings)
    return StackSettings(project=PROJECT, stack=stack, glue_jobs=tuple(jobs), **top,
                         **{name: section_types[name](**fields) for name, fields in sections.items()})


def parse_settings(stack: str, raw: Mapping[str, Any], jobs_dir: Path, *, region: str | None = None) -> StackSettings:
    """Validate raw config (every key of the project's namespace, without it -> value) for `stack`, and its
    `aws:region` when set; raise ConfigError listing all problems. A key left out takes its default (the CLI applies
    the same ones)."""
    problems: list[str] = []
    check_stack_name(stack, problems)
    region_issue = region_problem(region) if region is not None else None
    if region_issue:
        problems.append(region_issue)
    for key in sorted(set(raw) - set(STACK_FIELDS) - {GLUE_JOBS_KEY}):
        problems.append(unknown(f"{PROJECT}:{key}", key, [*STACK_FIELDS, GLUE_JOBS_KEY], "key",
                                "Pulumi.yaml declares every key of the project"))
    values = read_fields(PROJECT, {key: setting.rule for key, setting in STACK_FIELDS.items()}, raw, problems,
                         defaults={key: setting.default for key, setting in STACK_FIELDS.items()})
    _check_lifecycle(values, problems)
    if stack in PRODUCTION_STACKS and values.get("protectData") is False:
        problems.append(f"{PROJECT}:protectData = false: must be true on stack '{stack}' (production data is "
                        f"protected from deletion)")
    if stack in PRODUCTION_STACKS and values.get("dataRetentionDays") == 0:
        problems.append(f"{PROJECT}:dataRetentionDays = 0: must be at least 1 on stack '{stack}' (every version of "
                        f"production data is kept under Object Lock that long)")
    if values.get("dataRetentionDays") and values.get("bucketVersioning") is False:
        problems.append(f"{PROJECT}:dataRetentionDays = {values['dataRetentionDays']}: needs "
                        f"{PROJECT}:bucketVersioning = true (Object Lock keeps object versions)")
    if stack in PRODUCTION_STACKS and values.get("objectAccessAudit") is False:
        problems.append(f"{PROJECT}:objectAccessAudit = false: must be true on stack '{stack}' (every access to "
                        f"production data is recorded)")
    _check_canary(values, problems)
    jobs = _parse_jobs(raw.get(GLUE_JOBS_KEY), values, jobs_dir, problems)
    _check_orphan_file_retention(values, jobs, problems)
    if problems:
        raise ConfigError(stack, problems)
    settings = _settings(stack, values, jobs)
    # Imported here: the names are built by components that themselves import this module.
    from .physical_names import name_problems

    problems = name_problems(settings)
    if problems:
        raise ConfigError(stack, problems)
    return settings


def _namespace_config(namespace: str = PROJECT) -> dict[str, Any]:
    """Every key the engine passed in `namespace`, known or not: `pulumi.Config` reads one key at a time and cannot
    list them, so this is the one place that reads the SDK's config store (the engine's PULUMI_CONFIG for a CLI
    run, `set_all_config` for mocks and inline programs)."""
    from pulumi.runtime import config as runtime_config

    store = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{namespace}:"
    return {key.removeprefix(prefix): value for key, value in store.items() if key.startswith(prefix)}


def load_settings(jobs_dir: Path) -> StackSettings:
    """Read this stack's config once and validate it."""
    import pulumi

    return parse_settings(pulumi.get_stack(), _namespace_config(), jobs_dir,
                          region=_namespace_config("aws").get("region"))
