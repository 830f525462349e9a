"""Health check of a deployed stack: run every job's pipeline on its own sample, all at once, and check what
each one produced.

Input is the stack's outputs; AWS is reached through boto3 (any endpoint boto3 is configured for). The jobs are
the ones the stack deploys (its `pipeline_versions` and `glue_jobs` outputs); each uploads its sample
(jobs/<job>/sample/) and must produce the counts that sample's generator says it holds.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import boto3

from jobs.common.catalog import sample_module
from jobs.common.outputs import OutputPaths
from settings.naming import health_check_prefix

# A job's check runs the version the stack's last deploy published (`pipeline_versions`), never the unqualified
# state machine; a release verifies the same way, naming the version, before it takes traffic.
REQUIRED_OUTPUTS = ("buckets", "pipeline_versions", "glue_jobs")
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
EXPORTS = "the stack's exports (__main__.py)"


def refused_as_existing(error: Exception) -> bool:
    """Whether S3 refused a write sent with If-None-Match: * because an object is already at the key."""
    return getattr(error, "response", {}).get("Error", {}).get("Code") in ("PreconditionFailed", "412")

class HealthCheckFailed(Exception):
    """The pipeline ran but did not do what it must; `reason` says what, `where` where to look."""

    def __init__(self, reason: str, where: str = "", result: HealthResult | None = None):
        super().__init__(reason)
        self.reason = reason
        self.where = where
        self.result = result


@dataclass(frozen=True)
class Expected:
    """What a sample must produce: its generator knows how many records of each kind it wrote."""

    input_lines: int
    curated_rows: int
    quarantined_rows: int

    @classmethod
    def of_sample(cls, job: str) -> Expected:
        module = sample_module(job)
        _, counts = module.generate(module.SAMPLE_ROWS)
        return cls(input_lines=counts.lines, curated_rows=counts.curated, quarantined_rows=counts.quarantined)


@dataclass(frozen=True)
class JobSample:
    path: Path
    expected: Expected

    @classmethod
    def of(cls, job: str) -> JobSample:
        """The job's shipped sample and what it must produce."""
        return cls(path=Path(sample_module(job).SAMPLE_PATH), expected=Expected.of_sample(job))


@dataclass
class JobResult:
    """One job's health run: its execution, its Glue run and cost inputs, its quality result, its outcome."""

    job: str
    outcome: str = "not run"  # ran (pipeline succeeded, output not checked yet) | passed | failed
    failure: str = ""
    where: str = ""
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
    # The job's table as the run found it: main's snapshot when the run started (what a rollback returns to).
    table_snapshot: int | None = None
    source_path: str = ""
    target_path: str = ""


@dataclass
class HealthResult:
    run_id: str = ""
    jobs: dict[str, JobResult] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def deployed_jobs(outputs: Mapping[str, Any]) -> list[str]:
    """The jobs a stack deploys, by its outputs; raise naming every output that is missing."""
    missing = [key for key in REQUIRED_OUTPUTS if key not in outputs]
    if missing:
        raise HealthCheckFailed(f"stack outputs lack {', '.join(missing)}; has {', '.join(sorted(outputs)) or 'none'}",
                                EXPORTS)
    jobs = sorted(set(outputs["pipeline_versions"]) | set(outputs["glue_jobs"]))
    empty = [f"buckets.{zone}" for zone in ("raw", "curated") if not outputs["buckets"].get(zone)]
    empty += [f"{output}.{job}" for output in ("glue_jobs", "pipeline_versions") for job in jobs
              if not outputs[output].get(job)]
    if empty:
        raise HealthCheckFailed(f"stack output{'s' if len(empty) > 1 else ''} {', '.join(empty)} "
                                f"{'are' if len(empty) > 1 else 'is'} missing", EXPORTS)
    if not jobs:
        raise HealthCheckFailed("the stack deploys no job (its pipeline_versions output is empty)", EXPORTS)
    return jobs


class HealthCheck:
    def __init__(self, outputs: Mapping[str, Any], *, deadline_seconds: float = 1200,
                 jobs: Sequence[str] | None = None, samples: Mapping[str, JobSample] | None = None,
                 session: boto3.Session | None = None, sleep: Callable[[float], Any] | None = None,
                 clock: Callable[[], float] = time.monotonic, state_machine_arns: Mapping[str, str] | None = None):
        """`state_machine_arns` names, per job, the version (or alias) to run instead of the newest version."""
        deployed = deployed_jobs(outputs)
        self.state_machine_arns = dict(state_machine_arns or {})
        self.outputs = outputs
        self.jobs = list(jobs or deployed)
        not_deployed = sorted(set(self.jobs) - set(deployed))
        if not_deployed:
            raise HealthCheckFailed(f"job(s) {', '.join(not_deployed)} not deployed by the stack; it deploys "
                                    f"{', '.join(deployed)}", EXPORTS)
        self.raw_bucket, self.curated_bucket = outputs["buckets"]["raw"], outputs["buckets"]["curated"]
        self.samples = {job: (samples or {}).get(job) or JobSample.of(job) for job in self.jobs}
        self.deadline_seconds = deadline_seconds
        session = session or boto3.Session()
        # boto3 clients are thread-safe: the jobs' threads share them.
        self.s3, self.sfn, self.glue = (session.client(s) for s in ("s3", "stepfunctions", "glue"))
        # Set when the main thread is interrupted: every job stops its execution and returns.
        self._stop = threading.Event()
        self.sleep, self.clock = sleep or self._stop.wait, clock

    def state_machine_arn(self, job: str) -> str:
        """The state machine version a job's health run starts: the one place that chooses it."""
        return self.state_machine_arns.get(job) or self.outputs["pipeline_versions"][job]

    def glue_job_name(self, job: str) -> str:
        return self.outputs["glue_jobs"][job]

    def run(self, run_id: str | None = None) -> HealthResult:
        """Run every job's pipeline on its sample, then check their outputs."""
        return self.verify(self.execute(run_id))

    def execute(self, run_id: str | None = None) -> HealthResult:
        """Every job at once: put its sample in the raw bucket, run its pipeline on it and wait; raise naming every
        job whose pipeline did not succeed."""
        result = HealthResult(run_id=run_id or uuid.uuid4().hex[:12])
        result.jobs = {job: JobResult(job=job) for job in self.jobs}
        self._each(result, self.jobs, lambda job: self._execute(result.jobs[job], result.run_id), "pipeline")
        return result

    def verify(self, result: HealthResult) -> HealthResult:
        """Every job's quality result: passed, the counts match its sample's, and nothing was published to the
        job's table."""
        ran = [job for job, job_result in result.jobs.items() if job_result.outcome == "ran"]
        self._each(result, ran, lambda job: self._verify(result.jobs[job]), "output")
        return result

    def _each(self, result: HealthResult, jobs: list[str], step: Callable[[str], None], what: str) -> None:
        """`step` for each job in its own thread; every failure is recorded in its job's result, then raised as one."""
        with ThreadPoolExecutor(max_workers=max(len(jobs), 1), thread_name_prefix="health-check") as pool:
            futures = {}
            try:
                futures = {job: pool.submit(step, job) for job in jobs}
                wait(futures.values())
            except BaseException:  # SIGINT/SIGTERM in the main thread: stop every job before teardown
                self._stop.set()
                raise
        for job, future in futures.items():
            error, job_result = future.exception(), result.jobs[job]
            if error is None:
                continue
            job_result.outcome = "failed"
            job_result.failure = error.reason if isinstance(error, HealthCheckFailed) else (
                f"{type(error).__name__}: {error}")
            job_result.where = error.where if isinstance(error, HealthCheckFailed) else ""
        failed = [r for r in result.jobs.values() if r.outcome == "failed"]
        if failed:
            raise HealthCheckFailed(
                f"{what} of {len(failed)} of {len(result.jobs)} job(s) failed: "
                + "; ".join(f"{r.job}: {r.failure}" for r in failed),
                "; ".join(f"{r.job}: {r.where}" for r in failed if r.where), result)

    def _put_sample(self, result: JobResult, run_id: str) -> None:
        """The job's sample in its own folder of this run, under the job's health-check folder, written only where
        no object is (If-None-Match: *, which the check stack's PR role must send): an object already there was
        not put by this run, so the run does not start on it."""
        sample = self.samples[result.job]
        folder = f"{health_check_prefix(result.job)}{run_id}/"
        result.source_path = f"s3://{self.raw_bucket}/{folder}"
        result.target_path = f"s3://{self.curated_bucket}/{folder}"
        key = f"{folder}{sample.path.name}"
        try:
            self.s3.put_object(Bucket=self.raw_bucket, Key=key, Body=sample.path.read_bytes(), IfNoneMatch="*")
        except self.s3.exceptions.ClientError as error:
            if not refused_as_existing(error):
                raise
            raise HealthCheckFailed(f"s3://{self.raw_bucket}/{key} already holds an object this check did not "
                                    "write: the run is not started on it", "the stack's raw bucket") from None

    def _execute(self, result: JobResult, run_id: str) -> None:
        self._put_sample(result, run_id)
        execution = self.sfn.start_execution(
            stateMachineArn=self.state_machine_arn(result.job), name=f"health-{run_id}",
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
            raise HealthCheckFailed(f"pipeline {result.execution_status}: {error}: {cause}{glue}", where)
        result.outcome = "ran"

    def _wait(self, result: JobResult) -> dict:
        """Until the execution ends (then its description), stopping it at the deadline or on interruption."""
        def describe() -> tuple[dict, str]:
            described = self.sfn.describe_execution(executionArn=result.execution_arn)
            result.execution_status = described["status"]
            return described, described["status"]

        return self._poll(describe, TERMINAL, lambda error, cause: self.sfn.stop_execution(
            executionArn=result.execution_arn, error=error, cause=cause), "pipeline", "execution",
            f"execution {result.execution_arn}")

    def _poll(self, describe: Callable[[], tuple[dict, str]], terminal: Sequence[str],
              stop: Callable[[str, str], Any], noun: str, thing: str, where: str) -> dict:
        """Poll with exponential backoff until `describe` reports a terminal status, the deadline passes or the
        check is interrupted (then `stop` it and raise, naming the `noun` and the `thing` that was stopped)."""
        start, delay = self.clock(), 1.0
        while True:
            described, status = describe()
            if status in terminal:
                return described
            if self._stop.is_set():
                stop("HealthCheckInterrupted", "the PR check was interrupted")
                raise HealthCheckFailed(f"interrupted; the {thing} was stopped", where)
            if self.clock() - start >= self.deadline_seconds:
                stop("HealthCheckDeadline", f"no result within {self.deadline_seconds:.10g} s")
                raise HealthCheckFailed(f"{noun} still {status} after {self.deadline_seconds:.10g} s; "
                                        f"the {thing} was stopped", where)
            self.sleep(delay)
            delay = min(delay * 2, 30.0)

    def _glue_run(self, result: JobResult) -> None:
        glue_job = self.glue_job_name(result.job)
        job = self.glue.get_job(JobName=glue_job)["Job"]
        result.worker_type = job.get("WorkerType", "")
        result.number_of_workers = int(job.get("NumberOfWorkers") or 0)
        result.execution_class = job.get("ExecutionClass", "STANDARD")
        if not result.glue_run_id:
            return
        run = self.glue.get_job_run(JobName=glue_job, RunId=result.glue_run_id)["JobRun"]
        result.glue_run_state = run.get("JobRunState", "")
        result.glue_execution_seconds = int(run.get("ExecutionTime") or 0)
        result.glue_dpu_seconds = float(run.get("DPUSeconds") or 0.0)
        result.glue_error = run.get("ErrorMessage", "")

    def _verify(self, result: JobResult) -> None:
        """The run's quality result (the job's audit of its branch), not the table: a health run publishes nothing."""
        where = OutputPaths.of(result.target_path, result.glue_run_id).quality_result
        key = where.removeprefix(f"s3://{self.curated_bucket}/")
        try:
            quality = json.loads(self.s3.get_object(Bucket=self.curated_bucket, Key=key)["Body"].read())
        except self.s3.exceptions.NoSuchKey:
            raise HealthCheckFailed("the run wrote no data-quality result", where) from None
        result.quality = quality
        failed = [c["name"] for c in quality.get("checks", []) if not c.get("passed")]
        if failed or not quality.get("passed"):
            raise HealthCheckFailed(f"data-quality checks failed: {', '.join(failed) or 'passed is false'}", where)
        expected = self.samples[result.job].expected
        observed = (quality.get("input_rows"), quality.get("curated_rows"), quality.get("quarantined_rows"))
        wanted = (expected.input_lines, expected.curated_rows, expected.quarantined_rows)
        if observed != wanted:
            raise HealthCheckFailed(f"row counts (input, curated, quarantined) are {observed}, expected {wanted}",
                                    where)
        table = quality.get("table")
        if not isinstance(table, dict) or not isinstance(table.get("published"), bool):
            raise HealthCheckFailed("the quality result names no table with a published flag (table.published): "
                                    "the job predates Iceberg tables", where)
        if table["published"]:
            raise HealthCheckFailed(f"the health run published to table {table.get('identifier', '?')} (snapshot "
                                    f"{table.get('snapshot_after')}): a health check must never change the "
                                    "job's table", where)
        result.table_snapshot = table.get("snapshot_before")
        result.outcome = "passed"


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
