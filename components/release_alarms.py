"""The alarms a pipeline's managed deployment watches: they look at the version the `live` alias is moving to
(Step Functions emits execution metrics per version ARN), so AWS rolls the alias back on the new version's own
evidence, whatever the old one does."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from settings import naming

from .common_resources import alert_alarm
from .stack_context import StackContext

# Executions of the new version that ended badly: any one of them fails the deployment.
BAD_ENDINGS = ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted")
# Step Functions publishes execution metrics each minute.
FAILURE_PERIOD_SECONDS = 60
# CloudWatch evaluates at most a day of data per alarm: two windows of half a day at most.
MAX_WINDOW_SECONDS = 12 * 3600


@dataclass(frozen=True)
class ReleaseAlarmArgs:
    context: StackContext
    job: str
    topic_arn: pulumi.Input[str]
    # The version the alias moves to (or stays on), whose executions the alarms count.
    version_arn: pulumi.Input[str]
    # Whether runs are scheduled: only then can successes be missing.
    scheduled: bool
    # The longest a run can take (its Glue retries and margin included).
    longest_run_seconds: int


def failed_executions_name(names: naming.StackNames, job: str) -> str:
    return f"{naming.name_prefix(names)}-{naming.hyphenated(job)}-new-version-failed"


def missing_successes_name(names: naming.StackNames, job: str) -> str:
    return f"{naming.name_prefix(names)}-{naming.hyphenated(job)}-new-version-missing-successes"


def _metric(query_id: str, metric_name: str, version_arn: pulumi.Input[str], period: int) -> dict:
    return {"id": query_id, "return_data": False,
            "metric": {"namespace": "AWS/States", "metric_name": metric_name, "period": period, "stat": "Sum",
                       "dimensions": {"StateMachineArn": version_arn}}}


def release_alarms(name: str, args: ReleaseAlarmArgs, opts: pulumi.ResourceOptions
                   ) -> list[aws.cloudwatch.MetricAlarm]:
    """`<name>-new-version-failed` always, `<name>-new-version-missing-successes` where runs are scheduled."""
    def alarm(logical: str, alarm_name: str, description: str, expression: str, metrics: list[dict],
              evaluation_periods: int) -> aws.cloudwatch.MetricAlarm:
        # No execution of the new version yet is no evidence against it (alert_alarm: notBreaching).
        return alert_alarm(
            f"{name}-{logical}", args.context, name=alarm_name, description=description, topic_arn=args.topic_arn,
            opts=opts, threshold=1, evaluation_periods=evaluation_periods,
            datapoints_to_alarm=evaluation_periods,
            metric_queries=[*metrics, {"id": "evidence", "expression": expression, "label": description,
                                       "return_data": True}])

    failed = [_metric(f"m{index}", metric, args.version_arn, FAILURE_PERIOD_SECONDS)
              for index, metric in enumerate(BAD_ENDINGS)]
    alarms = [alarm("new-version-failed", failed_executions_name(args.context.names, args.job),
                    f"Executions of the {args.job} pipeline version being released that failed, timed out or were "
                    f"aborted", "+".join(f"FILL({query['id']}, 0)" for query in failed), failed, 1)]
    if args.scheduled:
        # A window as long as the longest run (half a day at most): one window alone would count a run still going
        # at its end, two in a row with starts and no success are not that one run.
        window = min(60 * math.ceil(args.longest_run_seconds / 60), MAX_WINDOW_SECONDS)
        counts = [_metric("started", "ExecutionsStarted", args.version_arn, window),
                  _metric("succeeded", "ExecutionsSucceeded", args.version_arn, window)]
        alarms.append(alarm(
            "new-version-missing-successes", missing_successes_name(args.context.names, args.job),
            f"Scheduled runs of the {args.job} pipeline version being released started without a success, two "
            f"{window // 60}-minute windows in a row",
            "IF(FILL(started, 0) > 0 AND FILL(succeeded, 0) == 0, 1, 0)", counts, 2))
    return alarms
