"""Turns EventBridge "Glue Job State Change" events of this stack's jobs into metrics and notifications.

Every run's final state is counted (metric `GlueJobRuns<State>`, dimension `job`); FAILED, TIMEOUT and
STOPPED runs are also published to the alert topic as a readable message.
"""

from __future__ import annotations

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from functions.job_monitor.contract import ALERT_STATES, FINAL_STATES, METRIC_NAMES
from functions.shared.events import MalformedEvent, env, env_json, field

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def parse(event: dict) -> dict:
    kind = (field(event, "detail-type", str, default=None), field(event, "source", str, default=None))
    if kind != ("Glue Job State Change", "aws.glue"):
        raise MalformedEvent(f"expected a 'Glue Job State Change' event from aws.glue, got {kind[0]!r} from "
                             f"{kind[1]!r}")
    return {
        "job": field(event, "detail.jobName", str),
        "state": field(event, "detail.state", str),
        "run_id": field(event, "detail.jobRunId", str),
        "reason": field(event, "detail.message", str, default=""),
        "time": field(event, "time", str, default=""),
        "region": field(event, "region", str, default=""),
    }


def notification(change: dict, stack: str) -> tuple[str, str]:
    subject = f"[{stack}] Glue job {change['job']} {change['state']}"
    console = (f"https://{change['region']}.console.aws.amazon.com/gluestudio/home?region={change['region']}"
               f"#/job/{change['job']}/run/{change['run_id']}")
    body = "\n".join([
        f"Glue job {change['job']} ended {change['state']} at {change['time']}.",
        f"Run: {change['run_id']}",
        f"Reason: {change['reason'] or 'none given'}",
        f"Run details: {console}",
    ])
    return subject[:100], body  # SNS subjects are limited to 100 characters


@metrics.log_metrics
@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict, context) -> dict:
    change = parse(event)
    if change["job"] not in env_json("JOB_NAMES"):
        logger.info("ignored: not a job of this stack", extra={"job": change["job"]})
        return {"action": "ignored", **change}
    if change["state"] not in FINAL_STATES:
        return {"action": "ignored", **change}
    metrics.add_dimension(name="job", value=change["job"])
    metrics.add_metric(name=METRIC_NAMES[change["state"]], unit=MetricUnit.Count, value=1)
    if change["state"] not in ALERT_STATES:
        return {"action": "counted", **change}
    subject, body = notification(change, env("STACK"))
    boto3.client("sns").publish(TopicArn=env("TOPIC_ARN"), Subject=subject, Message=body)
    logger.warning("job run ended badly", extra=change)
    return {"action": "notified", **change}
