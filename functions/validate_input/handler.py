"""First step of a pipeline run: resolve the run's paths and check its input objects.

Event (from the state machine): {"job": "orders", "input": <execution input>}, where the execution input may
set "source_path" (an s3:// prefix or object under the job's raw prefix), "target_path" and "health_check".
A health-check run reads and writes only under the job's health-check prefixes (`_health/<job>/`), never the
job's own, and runs with Glue job bookmarks disabled, so it neither sees nor moves production data or bookmarks.
Returns the run: resolved paths, health-check flag, bookmark option, and a manifest of the input objects. Raises
InputValidationFailed when there is nothing to read, an object is empty or too large, or a path leaves
the job's own prefixes; MalformedEvent when the event does not have this shape.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import BaseModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Json, PositiveInt, StrictBool

from functions.shared.clients import client
from functions.shared.events import FunctionSettings, parse_event, read_settings, split_s3_uri
from functions.shared.glue_runs import bookmark_option

logger = Logger()
tracer = Tracer()
MANIFEST_KEYS_SHOWN = 100


class InputValidationFailed(Exception):
    pass


class RunInput(BaseModel):
    """The execution input: where to read and write (default: the job's own prefixes), and whether the run is a
    health check."""

    source_path: str | None = None
    target_path: str | None = None
    health_check: StrictBool = False


class ValidateInputEvent(BaseModel):
    job: str
    input: RunInput | None = None


class JobPaths(BaseModel):
    source: str
    target: str
    health_source: str
    health_target: str


class Settings(FunctionSettings):
    # Each job the stack deploys -> its raw (source) and curated (target) prefix, and its health-check folders in
    # both buckets, as s3:// URIs.
    jobs: Json[dict[str, JobPaths]]
    max_object_bytes: PositiveInt


def _within(uri: str, allowed_prefix: str, what: str, health_check: bool) -> str:
    if not uri.startswith(allowed_prefix):
        kind = "health-check prefix" if health_check else "prefix"
        raise InputValidationFailed(f"{what} {uri!r} is outside the job's {kind} {allowed_prefix!r}")
    return uri


def resolve_run(event: ValidateInputEvent, jobs: dict[str, JobPaths]) -> dict:
    if event.job not in jobs:
        raise InputValidationFailed(f"job {event.job!r} is not deployed in this stack; deployed: "
                                    f"{', '.join(sorted(jobs))}")
    paths, run_input = jobs[event.job], event.input or RunInput()
    health = run_input.health_check
    allowed_source, allowed_target = (paths.health_source, paths.health_target) if health else (paths.source,
                                                                                                paths.target)
    source = allowed_source if run_input.source_path is None else run_input.source_path
    target = allowed_target if run_input.target_path is None else run_input.target_path
    return {
        "job": event.job,
        "source_path": _within(source, allowed_source, "source_path", health),
        "target_path": _within(target, allowed_target, "target_path", health),
        "health_check": "true" if health else "false",
        "bookmark_option": bookmark_option(health),
    }


@tracer.capture_method(capture_response=False)
def manifest(source_path: str, max_bytes: int) -> dict:
    bucket, prefix = split_s3_uri(source_path, "source_path")
    objects = [obj for page in client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
               for obj in page.get("Contents", []) if not obj["Key"].endswith("/")]
    if not objects:
        raise InputValidationFailed(f"no input objects under {source_path}")
    empty = [o["Key"] for o in objects if o["Size"] == 0]
    if empty:
        raise InputValidationFailed(f"{len(empty)} empty input object(s), e.g. s3://{bucket}/{empty[0]}")
    too_large = [o for o in objects if o["Size"] > max_bytes]
    if too_large:
        raise InputValidationFailed(f"{len(too_large)} input object(s) larger than {max_bytes} bytes, e.g. "
                                    f"s3://{bucket}/{too_large[0]['Key']} ({too_large[0]['Size']} bytes)")
    return {
        "object_count": len(objects),
        "total_bytes": sum(o["Size"] for o in objects),
        # A state's payload is limited to 256 KB: list the first objects only.
        "keys": [o["Key"] for o in objects[:MANIFEST_KEYS_SHOWN]],
    }


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    settings = read_settings(Settings)
    run = resolve_run(parse_event(event, ValidateInputEvent, "a pipeline run's job and input"), settings.jobs)
    run["manifest"] = manifest(run["source_path"], settings.max_object_bytes)
    logger.info("input validated", extra={"run": run})
    return run
