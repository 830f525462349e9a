"""First step of a pipeline run: resolve the run's paths and check its input objects.

Event (from the state machine): {"job": "orders", "input": <execution input>}, where the execution input may
set "source_path" (an s3:// prefix or object under the job's raw prefix), "target_path" and "health_check".
Returns the run: resolved paths, health-check flag, and a manifest of the input objects. Raises
InputValidationFailed when there is nothing to read, an object is empty or too large, or a path leaves
the job's own prefixes.
"""

from __future__ import annotations

import boto3
from aws_lambda_powertools import Logger, Tracer

from functions.shared.events import env, env_json, field, split_s3_uri

logger = Logger()
tracer = Tracer()
MANIFEST_KEYS_SHOWN = 100


class InputValidationFailed(Exception):
    pass


def _within(uri: str, allowed_prefix: str, what: str) -> str:
    if not uri.startswith(allowed_prefix):
        raise InputValidationFailed(f"{what} {uri!r} is outside the job's prefix {allowed_prefix!r}")
    return uri


def resolve_run(event: dict, jobs: dict) -> dict:
    job = field(event, "job", str)
    if job not in jobs:
        raise InputValidationFailed(f"job {job!r} is not deployed in this stack; deployed: {', '.join(sorted(jobs))}")
    paths = jobs[job]
    run_input = field(event, "input", dict, default={})
    health_check = field(run_input, "health_check", bool, default=False)
    return {
        "job": job,
        "source_path": _within(field(run_input, "source_path", str, default=paths["source"]), paths["source"],
                               "source_path"),
        "target_path": _within(field(run_input, "target_path", str, default=paths["target"]), paths["target"],
                               "target_path"),
        "health_check": "true" if health_check else "false",
    }


def manifest(s3, source_path: str, max_bytes: int) -> dict:
    bucket, prefix = split_s3_uri(source_path, "source_path")
    objects = [obj for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
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
def handler(event: dict, context) -> dict:
    run = resolve_run(event, env_json("JOBS"))
    run["manifest"] = manifest(boto3.client("s3"), run["source_path"], int(env("MAX_OBJECT_BYTES")))
    logger.info("input validated", extra={"run": run})
    return run
