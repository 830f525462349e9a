"""Turns EventBridge "Glue Job State Change" events of this stack's jobs into metrics and notifications.

Each run of one of the stack's jobs that ends in a final state (contract.FINAL_STATES) is counted once, as
contract.METRIC_NAMES says: SUCCEEDED as `GlueJobRunsSucceeded`, FAILED, TIMEOUT, STOPPED and ERROR (the
ALERT_STATES) as `GlueJobRunFailures`, with dimensions `service` (`job_monitor`) and `job` (the Glue job's name).
An alert-state run is also published to the alert topic as a readable message. Other jobs' events and other
states are ignored; an event of another shape raises MalformedEvent.
"""

from __future__ import annotations

from typing import Literal

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import BaseModel, Field
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Json

from functions.job_monitor.contract import ALERT_STATES, FINAL_STATES, METRIC_NAMES
from functions.shared.clients import client
from functions.shared.events import FunctionSettings, parse_event, read_settings

logger = Logger()
tracer = Tracer()
metrics = Metrics()


class GlueJobStateChange(BaseModel):
    """The `detail` of a Glue Job State Change event."""

    job_name: str = Field(alias="jobName")
    state: str
    job_run_id: str = Field(alias="jobRunId")
    message: str = ""


class GlueJobStateChangeEvent(EventBridgeModel):
    source: Literal["aws.glue"]
    detail_type: Literal["Glue Job State Change"] = Field(alias="detail-type")
    detail: GlueJobStateChange


class Settings(FunctionSettings):
    stack: str  # the stack's name prefix, in each message's subject
    topic_arn: str
    # The Glue job names of this stack's jobs: the only ones counted.
    job_names: Json[list[str]]


def summary(event: GlueJobStateChangeEvent) -> dict[str, str]:
    """What the handler logs and returns about the run."""
    return {"job": event.detail.job_name, "state": event.detail.state, "run_id": event.detail.job_run_id,
            "reason": event.detail.message, "time": event.time.isoformat(), "region": event.region}


def notification(change: dict[str, str], stack: str) -> tuple[str, str]:
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


@tracer.capture_method
def publish(topic_arn: str, subject: str, body: str) -> None:
    client("sns").publish(TopicArn=topic_arn, Subject=subject, Message=body)


@metrics.log_metrics
@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    settings = read_settings(Settings)
    change = summary(parse_event(event, GlueJobStateChangeEvent, "a 'Glue Job State Change' event from aws.glue"))
    if change["job"] not in settings.job_names:
        logger.info("ignored: not a job of this stack", extra={"job": change["job"]})
        return {"action": "ignored", **change}
    if change["state"] not in FINAL_STATES:
        return {"action": "ignored", **change}
    metrics.add_dimension(name="job", value=change["job"])
    metrics.add_metric(name=METRIC_NAMES[change["state"]], unit=MetricUnit.Count, value=1)
    if change["state"] not in ALERT_STATES:
        return {"action": "counted", **change}
    subject, body = notification(change, settings.stack)
    publish(settings.topic_arn, subject, body)
    logger.warning("job run ended badly", extra=change)
    return {"action": "notified", **change}
