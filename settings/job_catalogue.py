"""The stack's `glueJobs` map against the job catalogue (the folders under jobs/): each job's name, its folder and
Glue entrypoint, and its sizing overrides over the stack's defaults."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jobs.common.catalog import ENTRYPOINT, entrypoint_job, job_names

from .schema import FLEX_WORKER_TYPES, GLUE_JOBS_KEY, JOB_OVERRIDES, PROJECT, STACK_FIELDS, GlueJobSettings
from .validation import check_value, closest, unknown

JOB_NAME = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
# The script Glue runs for each job (jobs/<job>/glue_main.py).
JOB_ENTRYPOINT = ENTRYPOINT


def check_job_folder(job_key: str, name: str, jobs_dir: Path, problems: list[str]) -> None:
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


def parse_jobs(raw: Any, defaults: Mapping[str, Any], jobs_dir: Path, problems: list[str]) -> list[GlueJobSettings]:
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
        check_job_folder(job_key, name, jobs_dir, problems)
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
                values[override] = check_value(f"{job_key}.{override}", overrides[override],
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
