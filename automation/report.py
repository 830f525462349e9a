"""The PR check's report: phase durations, each job's Glue run, cost and data quality, and on failure what
happened and where to look. JSON for machines, Markdown for the PR comment."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

# Glue list prices per DPU-hour (us-east-1, Glue 2.0+; see the AWS Glue pricing page). FLEX is cheaper but
# starts later. Billing is per second with a 1-minute minimum.
PRICE_PER_DPU_HOUR = {"STANDARD": 0.44, "FLEX": 0.29}
DPU_PER_WORKER = {"G.1X": 1, "G.2X": 2, "G.4X": 4, "G.8X": 8}
MINIMUM_BILLED_SECONDS = 60
PHASES = ("deploy", "run", "check", "destroy", "remove")


@dataclass
class Phase:
    name: str
    status: str = "not run"  # ok | failed | skipped | not run
    seconds: float = 0.0
    error: str = ""
    attempts: int = 0


@dataclass
class Report:
    stack: str
    pr: int = 0
    commit: str = ""
    phases: dict[str, Phase] = field(default_factory=lambda: {name: Phase(name) for name in PHASES})
    outcome: str = "running"  # passed | failed | interrupted
    exit_code: int = 0
    failure: str = ""
    where_to_look: str = ""
    health: dict = field(default_factory=dict)
    # Which PR check ran and why (automation/paths.py's PathChoice as a dict); empty for a phase run by hand.
    path: dict = field(default_factory=dict)

    @property
    def jobs(self) -> dict[str, dict]:
        """Each job's health run (automation/health_check.py's JobResult as a dict)."""
        return self.health.get("jobs") or {}

    @property
    def cost(self) -> dict:
        """Each job's Glue cost and their sum."""
        jobs = {name: estimate_cost(job) for name, job in self.jobs.items()}
        return {"jobs": jobs, **{total: round(sum(cost[total] for cost in jobs.values()), 6)
                                 for total in ("dpu_seconds", "billed_dpu_seconds", "usd")}}

    def to_dict(self) -> dict:
        return {**asdict(self), "cost": self.cost}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, default=str)

    def to_markdown(self) -> str:
        icon = {"passed": "✅", "failed": "❌", "interrupted": "⚠️"}.get(self.outcome, "…")
        lines = [f"### {icon} Pipeline check of PR #{self.pr} (`{self.stack}`, {self.commit[:7]}): {self.outcome}", "",
                 "| phase | status | seconds | attempts |", "| --- | --- | ---: | ---: |"]
        if self.path:
            lines[1:1] = ["", f"Path: **{self.path['path']}**, {self.path['reason']}"
                          + (f" ({len(self.path['deciding'])} deciding file(s): "
                             f"{', '.join(f'`{f}`' for f in self.path['deciding'][:10])})"
                             if self.path.get("deciding") else "")]
        for phase in self.phases.values():
            lines.append(f"| {phase.name} | {phase.status} | {phase.seconds:.1f} | {phase.attempts} |")
        if self.jobs:
            lines += ["", f"Jobs (health run `{self.health.get('run_id', '')}`), each on its own sample:", "",
                      "| job | outcome | Glue run | seconds | workers | DPU-seconds | est. cost | input | curated | "
                      "quarantined |", "| --- | --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
            costs = self.cost["jobs"]
            for name, job in self.jobs.items():
                quality = job.get("quality") or {}
                workers = (f"{job.get('number_of_workers')} × {job.get('worker_type')} ({job.get('execution_class')})"
                           if job.get("worker_type") else "")
                run = f"`{job['glue_run_id']}` {job.get('glue_run_state') or ''}" if job.get("glue_run_id") else ""
                lines.append(f"| {name} | {_OUTCOME_ICON.get(job.get('outcome'), '')}{job.get('outcome')} | {run} | "
                             f"{job.get('glue_execution_seconds', 0)} | {workers} | "
                             f"{costs[name]['dpu_seconds']:.0f} | ${costs[name]['usd']:.4f} | "
                             f"{quality.get('input_rows', '')} | {quality.get('curated_rows', '')} | "
                             f"{quality.get('quarantined_rows', '')} |")
            lines += ["", f"Estimated Glue cost of the check: ${self.cost['usd']:.4f}"]
            for name, job in self.jobs.items():
                failed = [c for c in (job.get("quality") or {}).get("checks", []) if not c.get("passed")]
                if job.get("failure") or failed:
                    lines += ["", f"**{name}**: {job.get('failure') or 'data-quality checks failed'}"]
                    lines += [f"- ❌ `{c['name']}`: observed {c.get('observed')}, expected {c.get('expected')}"
                              for c in failed]
                    if job.get("where"):
                        lines.append(f"- where to look: {job['where']}")
        if self.failure:
            lines += ["", f"**Failure:** {self.failure}"]
        if self.where_to_look:
            lines += [f"**Where to look:** {self.where_to_look}"]
        return "\n".join(lines) + "\n"


_OUTCOME_ICON = {"passed": "✅ ", "failed": "❌ "}


def estimate_cost(health: dict) -> dict:
    """DPU-seconds (Glue's own figure when it reports one, else workers × DPU × time) and their list price."""
    workers = int(health.get("number_of_workers") or 0)
    dpus = workers * DPU_PER_WORKER.get(health.get("worker_type", ""), 1)
    seconds = int(health.get("glue_execution_seconds") or 0)
    dpu_seconds = float(health.get("glue_dpu_seconds") or 0.0) or float(dpus * seconds)
    billed = max(dpu_seconds, dpus * MINIMUM_BILLED_SECONDS) if seconds or dpu_seconds else 0.0
    price = PRICE_PER_DPU_HOUR.get(health.get("execution_class") or "STANDARD", PRICE_PER_DPU_HOUR["STANDARD"])
    return {"dpu_seconds": dpu_seconds, "billed_dpu_seconds": billed, "usd_per_dpu_hour": price,
            "usd": round(billed / 3600 * price, 6)}
