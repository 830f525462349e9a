"""The cost model's assumptions (automation/cost-assumptions.yaml): defaults, per-stack and per-job overrides,
validated with one line per problem naming the key, the value and what is allowed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from settings.validation import unknown

ASSUMPTIONS_PATH = Path(__file__).resolve().parent / "cost-assumptions.yaml"
# Keys a job may override (they are per run or per job); the others hold for the whole stack.
JOB_KEYS = ("glueMinutesPerRun", "extraRunsPerMonth", "dailyInputGb", "curatedToInputRatio", "tempToInputRatio",
            "s3PutsPerRun", "s3GetsPerRun", "kmsRequestsPerRun", "glueLogMbPerRun", "stateMachineLogKbPerRun",
            "lambdaSecondsPerInvocation", "lambdaLogKbPerInvocation")
STACK_KEYS = ("storageHorizonDays", "artifactsGb", "cloudTrailBytesPerEvent", "optimizerDpuMinutesPerDay")
KEYS = JOB_KEYS + STACK_KEYS
THRESHOLD_KEYS = ("percent", "usd")


class AssumptionsError(ValueError):
    def __init__(self, path: Path, problems: list[str]):
        self.problems = problems
        super().__init__(f"{path.name}: " + "; ".join(problems))


@dataclass(frozen=True)
class Assumptions:
    """The values one stack's estimate uses: `stack` for the stack, `jobs` for each job that overrides any."""

    stack_name: str
    stack: dict[str, float]
    job_overrides: dict[str, dict[str, float]] = field(default_factory=dict)
    large_increase: dict[str, float] = field(default_factory=dict)
    path: Path = ASSUMPTIONS_PATH

    def job(self, name: str | None) -> dict[str, float]:
        """The values for job `name`: the stack's with the job's overrides; no job (a shared resource): the stack's."""
        return {**self.stack, **self.job_overrides.get(name or "", {})}

    def check_jobs(self, jobs: Iterable[str], path: Path) -> None:
        """Overrides must name jobs the stack has: a typo would silently price the job with the defaults."""
        known = sorted(jobs)
        problems = [f"stacks.{self.stack_name}.jobs.{name}: stack {self.stack_name} has no job {name} "
                    f"(jobs: {', '.join(known) or 'none'})" for name in sorted(set(self.job_overrides) - set(known))]
        if problems:
            raise AssumptionsError(path, problems)


def _numbers(where: str, raw: Any, allowed: tuple[str, ...], problems: list[str],
             elsewhere: Mapping[str, str] | None = None) -> dict[str, float]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.append(f"{where} = {raw!r}: must be a map of assumption name to number")
        return {}
    values = {}
    for key, value in raw.items():
        if key not in allowed:
            problems.append(f"{where}.{key}: {(elsewhere or {})[key]}" if key in (elsewhere or {}) else
                            unknown(f"{where}.{key}", str(key), allowed, "assumption",
                                    f"allowed: {', '.join(allowed)}"))
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            problems.append(f"{where}.{key} = {value!r}: must be a number >= 0")
        else:
            values[key] = float(value)
    return values


def load(stack: str, path: Path = ASSUMPTIONS_PATH) -> Assumptions:
    """The assumptions for `stack`; every problem of the file is reported at once."""
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise AssumptionsError(path, [f"cannot read it: {str(error).splitlines()[0]}"]) from None
    problems: list[str] = []
    for key in sorted(set(raw) - {"defaults", "largeIncrease", "stacks"}):
        problems.append(unknown(str(key), str(key), ("defaults", "largeIncrease", "stacks"), "section",
                                "sections: defaults, largeIncrease, stacks"))
    defaults = _numbers("defaults", raw.get("defaults"), KEYS, problems)
    problems += [f"defaults.{key} is missing: every assumption needs a default" for key in KEYS if key not in defaults]
    threshold = _numbers("largeIncrease", raw.get("largeIncrease"), THRESHOLD_KEYS, problems)
    stacks = raw.get("stacks") or {}
    if not isinstance(stacks, Mapping):
        problems.append(f"stacks = {stacks!r}: must be a map of stack name to assumptions")
        stacks = {}
    job_only = {key: "a stack-wide assumption: set it on the stack, not on a job" for key in STACK_KEYS}
    overrides: dict[str, float] = {}
    jobs: dict[str, dict[str, float]] = {}
    for name, entry in stacks.items():
        entry = dict(entry or {}) if isinstance(entry, Mapping) else entry
        job_entries = entry.pop("jobs", None) if isinstance(entry, dict) else None
        values = _numbers(f"stacks.{name}", entry, KEYS, problems)
        if not isinstance(job_entries, Mapping | None):
            problems.append(f"stacks.{name}.jobs = {job_entries!r}: must be a map of job name to assumptions")
            job_entries = {}
        per_job = {job: _numbers(f"stacks.{name}.jobs.{job}", values_, JOB_KEYS, problems, job_only)
                   for job, values_ in (job_entries or {}).items()}
        if name == stack:
            overrides, jobs = values, per_job
    if problems:
        raise AssumptionsError(path, problems)
    return Assumptions(stack_name=stack, stack={**defaults, **overrides}, job_overrides=jobs,
                       large_increase={"percent": 10.0, "usd": 20.0, **threshold}, path=path)
