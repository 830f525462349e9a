"""Deletes objects older than a TTL under a fixed list of prefixes (temp data, health-check leftovers).

Run on a schedule. Idempotent: a second run finds nothing older to delete. It only ever lists and deletes
under the `CLEANUP_LOCATIONS` it was deployed with; the event cannot widen them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from functions.shared.events import ConfigurationError, env, env_json, field

logger = Logger()
tracer = Tracer()
metrics = Metrics()
DELETE_BATCH = 1000  # DeleteObjects limit


def locations() -> list[tuple[str, str]]:
    result = []
    for location in env_json("CLEANUP_LOCATIONS"):
        bucket, _, prefix = str(location).partition("/")
        # An empty or unterminated prefix could reach a whole bucket or a sibling prefix: refuse it.
        if not bucket or not prefix.endswith("/") or prefix == "/":
            raise ConfigurationError(f"cleanup location {location!r}: expected <bucket>/<prefix>/")
        result.append((bucket, prefix))
    return result


def expired(s3, bucket: str, prefix: str, cutoff: datetime) -> list[str]:
    return [obj["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for obj in page.get("Contents", []) if obj["LastModified"] < cutoff]


def delete(s3, bucket: str, keys: list[str]) -> int:
    deleted = 0
    for start in range(0, len(keys), DELETE_BATCH):
        batch = keys[start:start + DELETE_BATCH]
        response = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})
        errors = response.get("Errors", [])
        for error in errors:
            logger.error("could not delete", extra={"bucket": bucket, **error})
        deleted += len(batch) - len(errors)
    return deleted


@metrics.log_metrics
@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict, context) -> dict:
    ttl_days = int(env("TTL_DAYS"))
    # A test or an operator may pass "now"; the locations always come from the deployment.
    now = datetime.fromisoformat(field(event or {}, "now", str, default=datetime.now(UTC).isoformat()))
    cutoff = now - timedelta(days=ttl_days)
    s3 = boto3.client("s3")
    report = {}
    for bucket, prefix in locations():
        report[f"{bucket}/{prefix}"] = delete(s3, bucket, expired(s3, bucket, prefix, cutoff))
    metrics.add_metric(name="ObjectsDeleted", unit=MetricUnit.Count, value=sum(report.values()))
    logger.info("cleanup done", extra={"deleted": report, "cutoff": cutoff.isoformat()})
    return {"cutoff": cutoff.isoformat(), "deleted": report}
