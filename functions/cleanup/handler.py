"""Deletes objects older than a TTL under a fixed list of prefixes (temp data, health-check leftovers).

Run on a schedule. Idempotent: a second run finds nothing older to delete. It only ever lists and deletes
under the `CLEANUP_LOCATIONS` it was deployed with; the event cannot widen them (it may only set "now", an ISO
8601 time with a UTC offset, for a test or an operator).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import BaseModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime, BeforeValidator, Json, PositiveInt

from functions.shared.clients import client
from functions.shared.events import FunctionSettings, parse_event, read_settings

logger = Logger()
tracer = Tracer()
metrics = Metrics()
DELETE_BATCH = 1000  # DeleteObjects limit


def _location(location: object) -> tuple[str, str]:
    """`bucket/prefix/` -> (bucket, prefix/)."""
    bucket, _, prefix = location.partition("/") if isinstance(location, str) else ("", "", "")
    # An empty or unterminated prefix could reach a whole bucket or a sibling prefix: refuse it.
    if not bucket or not prefix.endswith("/") or prefix == "/":
        raise ValueError("expected <bucket>/<prefix>/")
    return bucket, prefix


def _text(value: object) -> object:
    """Times come as ISO 8601 text: a number would be taken for seconds since 1970."""
    if not isinstance(value, str):
        raise ValueError("expected an ISO 8601 date and time with a UTC offset")
    return value


class CleanupEvent(BaseModel):
    now: Annotated[AwareDatetime, BeforeValidator(_text)] | None = None


class Settings(FunctionSettings):
    # Where to delete: (bucket, prefix/) pairs, as a JSON list of `bucket/prefix/`.
    cleanup_locations: Json[list[Annotated[tuple[str, str], BeforeValidator(_location)]]]
    ttl_days: PositiveInt


@tracer.capture_method(capture_response=False)
def expired(bucket: str, prefix: str, cutoff: datetime) -> list[str]:
    return [obj["Key"] for page in client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for obj in page.get("Contents", []) if obj["LastModified"] < cutoff]


@tracer.capture_method
def delete(bucket: str, keys: list[str]) -> int:
    deleted = 0
    for start in range(0, len(keys), DELETE_BATCH):
        batch = keys[start:start + DELETE_BATCH]
        response = client("s3").delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch],
                                                                      "Quiet": True})
        errors = response.get("Errors", [])
        for error in errors:
            logger.error("could not delete", extra={"bucket": bucket, **error})
        deleted += len(batch) - len(errors)
    return deleted


@metrics.log_metrics
@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    settings = read_settings(Settings)
    now = parse_event(event or {}, CleanupEvent, "a cleanup request, {} or {\"now\": <time>}").now
    cutoff = (now or datetime.now(UTC)) - timedelta(days=settings.ttl_days)
    report = {}
    for bucket, prefix in settings.cleanup_locations:
        report[f"{bucket}/{prefix}"] = delete(bucket, expired(bucket, prefix, cutoff))
    metrics.add_metric(name="ObjectsDeleted", unit=MetricUnit.Count, value=sum(report.values()))
    logger.info("cleanup done", extra={"deleted": report, "cutoff": cutoff.isoformat()})
    return {"cutoff": cutoff.isoformat(), "deleted": report}
