"""A stack's settings from its raw config: every key checked against the schema (settings/schema.py), the rules
across keys (lifecycle, production, canary, table upkeep), the jobs against jobs/ (settings/job_catalogue.py), the
region against AWS's, and every physical name against AWS's limit (settings/physical_names.py). `parse_settings`
reports *every* problem at once, so a bad stack file fails before a single resource is registered.

The program (`__main__.py`) hands it the engine's config, read through the one SDK adapter
(policies/guardrails/pulumi_internals.py); components receive the settings, never `pulumi.Config`.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from schedules import longest_gap_minutes

from .job_catalogue import parse_jobs
from .physical_names import name_problems
from .regions import region_problem
from .schema import (
    GLUE_JOBS_KEY,
    GRADUAL_STRATEGIES,
    MAX_CANARY_BAKE_MINUTES,
    PRODUCTION_STACKS,
    PROJECT,
    STACK_FIELDS,
    GlueJobSettings,
    StackSettings,
)
from .validation import ConfigError, check_stack_name, read_fields, unknown

MINUTES_PER_DAY = 24 * 60


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


def parse_stack_config(stack: str, config: Mapping[str, Any], jobs_dir: Path) -> StackSettings:
    """parse_settings over a stack's whole config as a stack file or the engine holds it: namespaced keys
    (`data-pipeline:logRetentionDays`, `aws:region`; other namespaces are not the program's)."""
    prefix = f"{PROJECT}:"
    raw = {key.removeprefix(prefix): value for key, value in config.items() if key.startswith(prefix)}
    return parse_settings(stack, raw, jobs_dir, region=config.get("aws:region"))


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
    jobs = parse_jobs(raw.get(GLUE_JOBS_KEY), values, jobs_dir, problems)
    _check_orphan_file_retention(values, jobs, problems)
    if problems:
        raise ConfigError(stack, problems)
    settings = _settings(stack, values, jobs)
    problems = name_problems(settings)
    if problems:
        raise ConfigError(stack, problems)
    return settings
