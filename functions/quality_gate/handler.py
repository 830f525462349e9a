"""Gate of a pipeline run: read the data-quality result the Glue run wrote and pass or fail the run.

Event: {"target_path": "s3://<curated>/orders/", "job_run_id": "jr_..."}. Returns a summary when every check
passed; raises QualityGateFailed naming each failed check, QualityResultMissing when the run wrote none, and
MalformedEvent when the event does not have this shape or names another bucket.
"""

from __future__ import annotations

import json

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import BaseModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from functions.shared.clients import client
from functions.shared.events import FunctionSettings, MalformedEvent, parse_event, read_settings, split_s3_uri

logger = Logger()
tracer = Tracer()


class QualityGateFailed(Exception):
    pass


class QualityResultMissing(Exception):
    pass


class QualityGateEvent(BaseModel):
    target_path: str
    job_run_id: str


class Settings(FunctionSettings):
    # The stack's curated bucket: the only one whose results the gate reads.
    curated_bucket: str


def result_location(target_path: str, job_run_id: str) -> tuple[str, str]:
    """Where the job's runner writes its result (jobs/common/outputs.py, OutputPaths.quality_result)."""
    bucket, prefix = split_s3_uri(target_path, "target_path")
    return bucket, f"{prefix.rstrip('/')}/_dq/run_id={job_run_id}/result.json"


@tracer.capture_method(capture_response=False)
def read_result(bucket: str, key: str) -> dict:
    try:
        body = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
            raise QualityResultMissing(f"no data-quality result at s3://{bucket}/{key}: the Glue run wrote none") \
                from None
        raise
    try:
        result = json.loads(body)
    except json.JSONDecodeError as error:
        raise QualityGateFailed(f"data-quality result s3://{bucket}/{key} is not JSON: {error}") from None
    if not isinstance(result, dict) or not isinstance(result.get("checks"), list):
        raise QualityGateFailed(f"data-quality result s3://{bucket}/{key} has no list of checks")
    return result


def decide(result: dict) -> dict:
    failed = [c for c in result["checks"] if not c.get("passed")]
    if failed:
        reasons = "; ".join(f"{c.get('name')}: observed {c.get('observed')}, expected {c.get('expected')}"
                            for c in failed)
        raise QualityGateFailed(f"{len(failed)} data-quality check(s) failed: {reasons}")
    return {"passed": True, "curated_rows": result.get("curated_rows"),
            "quarantined_rows": result.get("quarantined_rows"), "checks": len(result["checks"])}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    settings = read_settings(Settings)
    run = parse_event(event, QualityGateEvent, "a Glue run's target_path and job_run_id")
    bucket, key = result_location(run.target_path, run.job_run_id)
    if bucket != settings.curated_bucket:
        raise MalformedEvent(f"target_path bucket {bucket!r} is not this stack's curated bucket")
    summary = decide(read_result(bucket, key))
    logger.info("quality gate passed", extra={"summary": summary})
    return summary
