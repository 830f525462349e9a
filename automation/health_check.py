"""Health check of a deployed stack: run the pipeline on the sample data and check what it produced.

Input is the stack's outputs; AWS is reached through boto3 (any endpoint boto3 is configured for).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import boto3

from components.naming import health_check_prefix
from jobs.orders import sample_data
from jobs.orders.domain import SAMPLE_PATH, SAMPLE_ROWS

JOB_NAME = "orders"
# The check runs the version the stack's last deploy published (`pipeline_versions`), never the unqualified
# state machine; a release verifies the same way before the version takes traffic.
REQUIRED_OUTPUTS = ("buckets", "pipeline_versions", "glue_jobs")
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


class HealthCheckFailed(Exception):
    """The pipeline ran but did not do what it must; `reason` says what, `where` where to look."""

    def __init__(self, reason: str, where: str = "", result: HealthResult | None = None):
        super().__init__(reason)
        self.reason = reason
        self.where = where
        self.result = result


@dataclass(frozen=True)
class Expected:
    """What the sample must produce: the generator knows how many records of each kind it wrote."""

    input_lines: int
    curated_rows: int
    quarantined_rows: int

    @classmethod
    def of_sample(cls, rows: int = SAMPLE_ROWS) -> Expected:
        _, counts = sample_data.generate(rows)
        return cls(input_lines=counts.lines, curated_rows=counts.unique_valid_orders,
                   quarantined_rows=counts.quarantined)


@dataclass
class HealthResult:
    execution_arn: str = ""
    execution_status: str = ""
    glue_run_id: str = ""
    glue_run_state: str = ""
    glue_execution_seconds: int = 0
    glue_dpu_seconds: float = 0.0
    worker_type: str = ""
    number_of_workers: int = 0
    execution_class: str = ""
    glue_error: str = ""
    quality: dict = field(default_factory=dict)
    curated_objects: int = 0
    source_path: str = ""
    target_path: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def _require(outputs: Mapping[str, Any], job: str) -> tuple[str, str, str, str]:
    missing = [key for key in REQUIRED_OUTPUTS if key not in outputs]
    if missing:
        raise HealthCheckFailed(f"stack outputs lack {', '.join(missing)}; has {', '.join(sorted(outputs)) or 'none'}",
                                "the stack's exports (__main__.py)")
    buckets, versions, jobs = outputs["buckets"], outputs["pipeline_versions"], outputs["glue_jobs"]
    for name, value in (("buckets.raw", buckets.get("raw")), ("buckets.curated", buckets.get("curated")),
                        (f"pipeline_versions.{job}", versions.get(job)), (f"glue_jobs.{job}", jobs.get(job))):
        if not value:
            raise HealthCheckFailed(f"stack output {name} is missing", "the stack's exports (__main__.py)")
    return buckets["raw"], buckets["curated"], versions[job], jobs[job]


class HealthCheck:
    def __init__(self, outputs: Mapping[str, Any], *, deadline_seconds: float = 1200, job: str = JOB_NAME,
                 sample: Path = SAMPLE_PATH, expected: Expected | None = None,
                 session: boto3.Session | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, state_machine_arn: str | None = None):
        """`state_machine_arn` names the version (or alias) to run instead of the stack's newest version."""
        self.raw_bucket, self.curated_bucket, self.state_machine, self.glue_job = _require(outputs, job)
        self.state_machine = state_machine_arn or self.state_machine
        self.job = job
        self.sample = sample
        self.expected = expected or Expected.of_sample()
        self.deadline_seconds = deadline_seconds
        session = session or boto3.Session()
        self.s3, self.sfn, self.glue = (session.client(s) for s in ("s3", "stepfunctions", "glue"))
        self.sleep, self.clock = sleep, clock

    def run(self, run_id: str | None = None) -> HealthResult:
        """Run the pipeline on the sample, then check its output."""
        return self.verify(self.execute(run_id))

    def execute(self, run_id: str | None = None) -> HealthResult:
        """Put the sample in the raw bucket, run the pipeline on it and wait; raise when it does not succeed."""
        run_id = run_id or uuid.uuid4().hex[:12]
        folder = f"{health_check_prefix(self.job)}{run_id}/"
        result = HealthResult(source_path=f"s3://{self.raw_bucket}/{folder}",
                              target_path=f"s3://{self.curated_bucket}/{folder}")
        self.s3.put_object(Bucket=self.raw_bucket, Key=f"{folder}{self.sample.name}", Body=self.sample.read_bytes())
        execution = self.sfn.start_execution(
            stateMachineArn=self.state_machine, name=f"health-{run_id}",
            input=json.dumps({"source_path": result.source_path, "target_path": result.target_path,
                              "health_check": True}))
        result.execution_arn = execution["executionArn"]
        described = self._wait(result)
        output = json.loads(described.get("output") or "{}")
        result.glue_run_id = (output.get("glue") or {}).get("Id", "")
        events = [] if result.execution_status == "SUCCEEDED" else self.sfn.get_execution_history(
            executionArn=result.execution_arn, reverseOrder=True)["events"]
        result.glue_run_id = result.glue_run_id or _glue_run_id(events)
        self._glue_run(result)
        if result.execution_status != "SUCCEEDED":
            error, cause = _failure(events, described)
            where = f"execution {result.execution_arn}" + (f", Glue run {result.glue_run_id}" if result.glue_run_id
                                                           else "")
            glue = f" (Glue run {result.glue_run_state}: {result.glue_error})" if result.glue_error else ""
            raise HealthCheckFailed(f"pipeline {result.execution_status}: {error}: {cause}{glue}", where, result)
        return result

    def _wait(self, result: HealthResult) -> dict:
        """Poll with exponential backoff until the execution ends or the deadline passes (then stop it)."""
        start, delay = self.clock(), 1.0
        while True:
            described = self.sfn.describe_execution(executionArn=result.execution_arn)
            result.execution_status = described["status"]
            if described["status"] in TERMINAL:
                return described
            if self.clock() - start >= self.deadline_seconds:
                self.sfn.stop_execution(executionArn=result.execution_arn, error="HealthCheckDeadline",
                                        cause=f"no result within {self.deadline_seconds:.0f} s")
                raise HealthCheckFailed(f"pipeline still {described['status']} after {self.deadline_seconds:.0f} s; "
                                        "the execution was stopped", f"execution {result.execution_arn}", result)
            self.sleep(delay)
            delay = min(delay * 2, 30.0)

    def _glue_run(self, result: HealthResult) -> None:
        job = self.glue.get_job(JobName=self.glue_job)["Job"]
        result.worker_type = job.get("WorkerType", "")
        result.number_of_workers = int(job.get("NumberOfWorkers") or 0)
        result.execution_class = job.get("ExecutionClass", "STANDARD")
        if not result.glue_run_id:
            return
        run = self.glue.get_job_run(JobName=self.glue_job, RunId=result.glue_run_id)["JobRun"]
        result.glue_run_state = run.get("JobRunState", "")
        result.glue_execution_seconds = int(run.get("ExecutionTime") or 0)
        result.glue_dpu_seconds = float(run.get("DPUSeconds") or 0.0)
        result.glue_error = run.get("ErrorMessage", "")

    def verify(self, result: HealthResult) -> HealthResult:
        """The run's output: curated Parquet exists, quality passed, and the counts match the sample's."""
        prefix = result.target_path.removeprefix(f"s3://{self.curated_bucket}/")
        data = self.s3.list_objects_v2(Bucket=self.curated_bucket, Prefix=f"{prefix}data/").get("Contents", [])
        result.curated_objects = sum(1 for o in data if o["Key"].endswith(".parquet"))
        where = f"s3://{self.curated_bucket}/{prefix}"
        if not result.curated_objects:
            raise HealthCheckFailed("the run wrote no curated Parquet objects", f"{where}data/", result)
        key = f"{prefix}_dq/run_id={result.glue_run_id}/result.json"
        try:
            quality = json.loads(self.s3.get_object(Bucket=self.curated_bucket, Key=key)["Body"].read())
        except self.s3.exceptions.NoSuchKey:
            raise HealthCheckFailed("the run wrote no data-quality result", f"s3://{self.curated_bucket}/{key}",
                                    result) from None
        result.quality = quality
        failed = [c["name"] for c in quality.get("checks", []) if not c.get("passed")]
        if failed or not quality.get("passed"):
            raise HealthCheckFailed(f"data-quality checks failed: {', '.join(failed) or 'passed is false'}",
                                    f"s3://{self.curated_bucket}/{key}", result)
        observed = (quality.get("input_rows"), quality.get("curated_rows"), quality.get("quarantined_rows"))
        expected = (self.expected.input_lines, self.expected.curated_rows, self.expected.quarantined_rows)
        if observed != expected:
            raise HealthCheckFailed(f"row counts (input, curated, quarantined) are {observed}, expected {expected}",
                                    f"s3://{self.curated_bucket}/{key}", result)
        return result


def _failure(events: list[dict], described: dict) -> tuple[str, str]:
    """The error and cause of the state that failed (the failed task's, else the execution's own)."""
    error, cause = described.get("error", ""), described.get("cause", "")
    for event in events:
        for key in ("taskFailedEventDetails", "lambdaFunctionFailedEventDetails", "executionFailedEventDetails"):
            details = event.get(key)
            if details and (details.get("error") or details.get("cause")):
                return details.get("error", error), details.get("cause", cause)
    return error or "unknown error", cause or "no cause recorded"


def _glue_run_id(events: list[dict]) -> str:
    """The Glue run of a failed execution: in a state's output (`glue.Id`), or in the failed `.sync` task's
    cause, which is the JobRun as JSON."""
    for event in events:
        for key, field_ in (("stateExitedEventDetails", "output"), ("taskFailedEventDetails", "cause")):
            text = (event.get(key) or {}).get(field_)
            try:
                value = json.loads(text) if text else None
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                run_id = (value.get("glue") or {}).get("Id") or (value.get("Id") if "JobRunState" in value else None)
                if run_id:
                    return run_id
    return ""
