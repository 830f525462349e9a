"""What a stack's resources say about its usage: which pipeline starts which Glue job and functions, how often each
pipeline, function and schedule runs a month, and who writes each log group. Read by type and by the links between
resources (ARNs, names), never by the program's logical names, so a new job or function is counted by itself."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from harness.program import ProgramRun, Resource
from schedules import runs_per_month

from .cost_assumptions import Assumptions

GLUE_JOB = "aws:glue/job:Job"
STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
FUNCTION = "aws:lambda/function:Function"
SCHEDULE = "aws:scheduler/schedule:Schedule"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
GLUE_START = "arn:aws:states:::glue:startJobRun"
SNS_PUBLISH = "arn:aws:states:::sns:publish"


def unqualified(arn: str) -> str:
    """A Lambda function's or state machine's ARN without its version or alias (`...:function:name:live`)."""
    parts = arn.split(":")
    return ":".join(parts[:7])


def decoded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


@dataclass
class Pipeline:
    """One state machine: the states a successful execution enters and what they call."""

    resource: Resource
    job: str | None = None
    states: int = 0
    functions: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    runs: float = 0.0

    @property
    def arn(self) -> str:
        return self.resource.outputs.get("arn", "")

    @property
    def traced(self) -> bool:
        return bool((self.resource.inputs.get("tracingConfiguration") or {}).get("enabled"))

    @property
    def log_level(self) -> str:
        return (self.resource.inputs.get("loggingConfiguration") or {}).get("level", "OFF")


def _happy_path(definition: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The states a successful execution enters, in order (a Choice takes its Default, else its first branch)."""
    states, name, seen = definition.get("States") or {}, definition.get("StartAt"), set()
    while name and name in states and name not in seen:
        seen.add(name)
        state = states[name]
        yield state
        if state.get("End") or state.get("Type") in ("Succeed", "Fail"):
            return
        name = state.get("Next") or state.get("Default") or next(iter(state.get("Choices") or []), {}).get("Next")


@dataclass
class Usage:
    """Runs and invocations a month, and whose assumptions apply to each function and log group."""

    run: ProgramRun
    assumptions: Assumptions
    glue_jobs: dict[str, Resource] = field(default_factory=dict)  # job key -> Glue job
    glue_runs: dict[str, float] = field(default_factory=dict)  # job key -> runs a month
    pipelines: list[Pipeline] = field(default_factory=list)
    invocations: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # function ARN -> a month
    # Function ARN -> (invocations, job whose per-run assumptions apply or None for the stack's)
    invocation_sources: dict[str, list[tuple[float, str | None]]] = field(default_factory=lambda: defaultdict(list))
    schedule_runs: dict[str, float] = field(default_factory=dict)  # schedule name -> firings a month
    notes: list[str] = field(default_factory=list)

    def job_of(self, glue_name: str) -> str | None:
        return next((job for job, resource in self.glue_jobs.items() if resource.inputs.get("name") == glue_name),
                    None)

    def runs_of_job(self, job: str) -> float:
        return self.glue_runs.get(job, 0.0)


def job_key(resource: Resource) -> str:
    """A Glue job's key (its folder under jobs/): the name of the component that made it, else its own name."""
    parent = resource.options.get("parent") or ""
    return parent.rsplit("::", 1)[-1] if "::" in parent else resource.name


def usage(run: ProgramRun, assumptions: Assumptions) -> Usage:
    found = Usage(run=run, assumptions=assumptions,
                  glue_jobs={job_key(job): job for job in run.of_type(GLUE_JOB)})
    for schedule in run.of_type(SCHEDULE):
        found.schedule_runs[schedule.inputs.get("name", schedule.name)] = runs_per_month(
            schedule.inputs.get("scheduleExpression", ""))
    _pipelines(found)
    _schedule_invocations(found)
    _event_invocations(found)
    return found


def _add_invocations(found: Usage, function_arn: str, count: float, job: str | None) -> None:
    arn = unqualified(function_arn)
    found.invocations[arn] += count
    found.invocation_sources[arn].append((count, job))


def _pipelines(found: Usage) -> None:
    schedules = found.run.of_type(SCHEDULE)
    for resource in found.run.of_type(STATE_MACHINE):
        pipeline = Pipeline(resource=resource)
        for state in _happy_path(decoded(resource.inputs.get("definition")) or {}):
            pipeline.states += 1
            task, parameters = state.get("Resource", ""), state.get("Parameters") or {}
            if task.startswith(GLUE_START):
                pipeline.job = found.job_of(parameters.get("JobName", ""))
            elif task.startswith(LAMBDA_INVOKE) and "FunctionName" in parameters:
                pipeline.functions.append(parameters["FunctionName"])
            elif task.startswith(SNS_PUBLISH) and "TopicArn" in parameters:
                pipeline.topics.append(parameters["TopicArn"])
        scheduled = sum(found.schedule_runs[s.inputs.get("name", s.name)] for s in schedules
                        if unqualified((s.inputs.get("target") or {}).get("arn", "")) == pipeline.arn)
        values = found.assumptions.job(pipeline.job)
        pipeline.runs = scheduled + values["extraRunsPerMonth"]
        if pipeline.job:
            found.glue_runs[pipeline.job] = found.glue_runs.get(pipeline.job, 0.0) + pipeline.runs
        for function in pipeline.functions:
            _add_invocations(found, function, pipeline.runs, pipeline.job)
        found.pipelines.append(pipeline)
    for job in found.glue_jobs:
        if job not in found.glue_runs:  # no pipeline starts it: only its runs by hand
            found.glue_runs[job] = found.assumptions.job(job)["extraRunsPerMonth"]
            found.notes.append(f"Glue job {job}: no state machine starts it; priced at extraRunsPerMonth")


def _schedule_invocations(found: Usage) -> None:
    for schedule in found.run.of_type(SCHEDULE):
        target = (schedule.inputs.get("target") or {}).get("arn", "")
        if ":lambda:" in target:
            _add_invocations(found, target, found.schedule_runs[schedule.inputs.get("name", schedule.name)], None)


def _event_invocations(found: Usage) -> None:
    """EventBridge rules on this stack's Glue job state changes: one event per run ending."""
    for rule in found.run.of_type(EVENT_RULE):
        pattern = decoded(rule.inputs.get("eventPattern")) or {}
        rule_name = rule.inputs.get("name") or rule.outputs.get("name")
        targets = [t.inputs.get("arn", "") for t in found.run.of_type(EVENT_TARGET)
                   if t.inputs.get("rule") == rule_name]
        if pattern.get("source") != ["aws.glue"]:
            found.notes.append(f"event rule {rule_name}: events of {pattern.get('source')} are not modelled")
            continue
        names = (pattern.get("detail") or {}).get("jobName") or [j.inputs.get("name") for j in found.glue_jobs.values()]
        for name in names:
            job = found.job_of(name)
            for target in targets:
                if job and ":lambda:" in target:
                    _add_invocations(found, target, found.runs_of_job(job), job)

