"""The fast PR check: the pull request's code of each changed job, run on the long-lived check stack (pr-base)
with nothing deployed, and checked exactly as the PR stack's health check checks it.

Each job's script and library are built from the PR's tree (the same content-addressed artifacts a deploy
uploads) and put under `pr-checks/<pr>/glue/<job>/` in the check stack's artifacts bucket, which expires them;
a run starts only after S3 reports the built bytes' SHA-256 for each object it is given.
The job's Glue job runs them directly, with Glue's per-run `--scriptLocation` and `--extra-py-files`, on the
job's sample in a folder of its own (`_health/<job>/pr<pr>-<id>/`), with job bookmarks disabled: the check
stack's state machines are not used, since each of their versions pins its own code. The check stack's Glue roles
may read only those folders and the uploaded code, and write only health-check folders
(data-pipeline:healthCheckOnly).
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from components import artifacts
from functions.shared.glue_runs import BOOKMARK_OPTION_ARGUMENT, HEALTH_CHECK_BOOKMARKS
from jobs.common.catalog import JOBS_DIR
from settings import naming
from settings.job_catalogue import JOB_ENTRYPOINT

from .health_check import HealthCheck, HealthCheckFailed, HealthResult, JobResult, refused_as_existing

# Glue job run states (GetJobRun) after which a run does nothing more.
GLUE_TERMINAL = ("SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED", "ERROR", "EXPIRED")
CHECK_PROFILE_HINT = "data-pipeline:glueMaxConcurrentRuns in automation/pr-base-profile.yaml"


class CodeCheck(HealthCheck):
    def __init__(self, outputs: Mapping[str, Any], *, pr: int, jobs: Sequence[str], jobs_dir: Path = JOBS_DIR,
                 **options: Any):
        super().__init__(outputs, jobs=jobs, **options)
        if not outputs["buckets"].get("artifacts"):
            raise HealthCheckFailed("stack output buckets.artifacts is missing", "the check stack's exports")
        self.pr, self.jobs_dir = pr, jobs_dir
        self.artifacts_bucket = outputs["buckets"]["artifacts"]

    def execute(self, run_id: str | None = None) -> HealthResult:
        # The PR's number in every folder it writes: concurrent PRs never share one.
        return super().execute(run_id or f"pr{self.pr}-{uuid.uuid4().hex[:8]}")

    def upload_code(self, job: str) -> dict[str, str]:
        """The PR's script and library of `job`, under the PR's own folder of the artifacts bucket
        (`pr-checks/<pr>/`); their s3:// URIs by kind. Each object is run only once S3 reports the SHA-256 of the
        bytes built here: an object already at the content key is reused only with that checksum, and one with
        any other content (or none S3 can vouch for) fails the check, since the key alone proves nothing."""
        folder = naming.pr_check_code_prefix(self.pr, job)
        with tempfile.TemporaryDirectory(prefix="pr-check-") as build:
            built = {"script": artifacts.job_script(self.jobs_dir, job, JOB_ENTRYPOINT, Path(build)),
                     "library": artifacts.job_library(self.jobs_dir, job, Path(build))}
            locations = {}
            for kind, artifact in built.items():
                key = artifact.key(f"{folder}{kind}")
                if self._checksum(key) is None:
                    self._put_once(key, artifact)
                self._verify_code(key, artifact.sha256_base64, f"{job} {kind}")
                locations[kind] = f"s3://{self.artifacts_bucket}/{key}"
        return locations

    def _put_once(self, key: str, artifact: artifacts.Artifact) -> None:
        """Upload only where no object is (the role may write this folder no other way): S3 refuses the upload
        unless the bytes it received have the checksum, and keeps it. Another check that uploaded the same key
        first (412) is fine: the object is verified either way."""
        try:
            self.s3.put_object(Bucket=self.artifacts_bucket, Key=key, Body=artifact.path.read_bytes(),
                               ChecksumAlgorithm="SHA256", ChecksumSHA256=artifact.sha256_base64, IfNoneMatch="*")
        except self.s3.exceptions.ClientError as error:
            if not refused_as_existing(error):
                raise

    def _checksum(self, key: str) -> str | None:
        """The SHA-256 (base64) S3 stored for the object: None when there is no object, "" when S3 has none."""
        try:
            head = self.s3.head_object(Bucket=self.artifacts_bucket, Key=key, ChecksumMode="ENABLED")
        except self.s3.exceptions.ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return head.get("ChecksumSHA256", "")

    def _verify_code(self, key: str, built: str, what: str) -> None:
        stored = self._checksum(key)
        if stored != built:
            found = {None: "no object", "": "an object without a recorded SHA-256"}.get(stored, f"SHA-256 {stored}")
            raise HealthCheckFailed(
                f"s3://{self.artifacts_bucket}/{key} does not hold this pull request's build of {what} ({found}; "
                f"built SHA-256 {built}): it is not run; remove the object to check again",
                "the check stack's artifacts bucket")

    def _execute(self, result: JobResult, run_id: str) -> None:
        code = self.upload_code(result.job)
        self._put_sample(result, run_id)
        glue_job = self.glue_job_name(result.job)
        try:
            started = self.glue.start_job_run(JobName=glue_job, Arguments={
                "--scriptLocation": code["script"], "--extra-py-files": code["library"],
                "--source_path": result.source_path, "--target_path": result.target_path, "--health_check": "true",
                BOOKMARK_OPTION_ARGUMENT: HEALTH_CHECK_BOOKMARKS})
        except self.glue.exceptions.ConcurrentRunsExceededException:
            raise HealthCheckFailed(f"Glue job {glue_job} already runs as many pull requests' checks as it may; "
                                    f"retry, or raise {CHECK_PROFILE_HINT}", f"Glue job {glue_job}") from None
        result.glue_run_id = started["JobRunId"]
        where = f"Glue run {result.glue_run_id} of job {glue_job}"
        self._poll(lambda: self._glue_state(glue_job, result), GLUE_TERMINAL,
                   lambda _error, _cause: self.glue.batch_stop_job_run(JobName=glue_job,
                                                                       JobRunIds=[result.glue_run_id]),
                   "Glue run", "run", where)
        self._glue_run(result)
        if result.glue_run_state != "SUCCEEDED":
            raise HealthCheckFailed(f"Glue run {result.glue_run_state}: {result.glue_error or 'no error message'}",
                                    f"{where} (its error log group: /aws-glue/…/error)")
        result.outcome = "ran"

    def _glue_state(self, glue_job: str, result: JobResult) -> tuple[dict, str]:
        run = self.glue.get_job_run(JobName=glue_job, RunId=result.glue_run_id)["JobRun"]
        result.glue_run_state = run.get("JobRunState", "")
        return run, result.glue_run_state
