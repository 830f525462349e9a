"""Gate of a pipeline run: read the data-quality result the Glue run wrote and pass or fail the run.

Event: {"target_path": "s3://<curated>/orders/", "job_run_id": "jr_..."}. Returns a summary when every check
passed; raises QualityGateFailed naming each failed check, or QualityResultMissing when the run wrote none.
"""

from __future__ import annotations

import json

import boto3
from aws_lambda_powertools import Logger, Tracer
from botocore.exceptions import ClientError

from functions.shared.events import MalformedEvent, env, field, split_s3_uri

logger = Logger()
tracer = Tracer()


class QualityGateFailed(Exception):
    pass


class QualityResultMissing(Exception):
    pass


def result_location(target_path: str, job_run_id: str) -> tuple[str, str]:
    """Where the job's runner writes its result (jobs/common/runner.py, OutputPaths.quality_result)."""
    bucket, prefix = split_s3_uri(target_path, "target_path")
    return bucket, f"{prefix.rstrip('/')}/_dq/run_id={job_run_id}/result.json"


def read_result(s3, bucket: str, key: str) -> dict:
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
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
def handler(event: dict, context) -> dict:
    bucket, key = result_location(field(event, "target_path", str), field(event, "job_run_id", str))
    if bucket != env("CURATED_BUCKET"):
        raise MalformedEvent(f"target_path bucket {bucket!r} is not this stack's curated bucket")
    summary = decide(read_result(boto3.client("s3"), bucket, key))
    logger.info("quality gate passed", extra={"summary": summary})
    return summary
