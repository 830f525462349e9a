"""Operations view of a stack: Glue job events to the job monitor, alarms on every moving part, one dashboard."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from functions.job_monitor.contract import FAILURE_METRIC, FINAL_STATES, SUCCEEDED_METRIC
from functions.job_monitor.contract import SERVICE as JOB_MONITOR_SERVICE
from settings import naming
from settings.schema import AlarmSettings

from .common_resources import alert_alarm
from .lambda_function import ALIAS, FunctionRef
from .outputs import expose
from .stack_context import StackContext


@dataclass(frozen=True)
class MonitoredPipeline:
    job: str
    glue_job_name: pulumi.Input[str]
    state_machine_arn: pulumi.Input[str]


@dataclass(frozen=True)
class MonitoringArgs:
    context: StackContext
    thresholds: AlarmSettings
    # Where alarms send their state changes.
    topic_arn: pulumi.Input[str]
    # Function key -> function, each alarmed on and charted; all share one timeout. Glue job state changes go to
    # `job_monitor`'s `live` alias.
    functions: dict[str, FunctionRef]
    function_timeout_seconds: int
    pipelines: list[MonitoredPipeline]


class Monitoring(pulumi.ComponentResource):
    alarm_names: pulumi.Output[list[str]]
    dashboard_name: pulumi.Output[str]

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("data-pipeline:monitoring:Monitoring", name, None, opts)
        context, thresholds = args.context, args.thresholds
        names = context.names
        child = pulumi.ResourceOptions(parent=self)

        rule = aws.cloudwatch.EventRule(
            f"{name}-glue-state-changes",
            name=naming.glue_events_rule_name(names),
            description="Final states of this stack's Glue job runs, for the job monitor",
            event_pattern=pulumi.Output.json_dumps({
                "source": ["aws.glue"],
                "detail-type": ["Glue Job State Change"],
                "detail": {"jobName": [p.glue_job_name for p in args.pipelines], "state": list(FINAL_STATES)},
            }),
            tags=context.tags,
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-glue-state-changes-target",
            rule=rule.name,
            arn=args.functions["job_monitor"].alias_arn,
            retry_policy={"maximum_event_age_in_seconds": 3600, "maximum_retry_attempts": 10},
            opts=child,
        )
        aws.lambda_.Permission(
            f"{name}-glue-state-changes-invoke",
            action="lambda:InvokeFunction",
            function=args.functions["job_monitor"].name,
            qualifier=ALIAS,
            principal="events.amazonaws.com",
            source_arn=rule.arn,
            opts=child,
        )

        def alarm(logical: str, alarm_name: str, description: str, **metric) -> aws.cloudwatch.MetricAlarm:
            return alert_alarm(f"{name}-{logical}", context, name=alarm_name, description=description,
                               topic_arn=args.topic_arn, opts=child,
                               period=thresholds.period_seconds, evaluation_periods=thresholds.evaluation_periods,
                               **metric)

        prefix, namespace = naming.name_prefix(names), naming.metric_namespace(names)
        alarms = []
        for pipeline in args.pipelines:
            alarms.append(alarm(
                f"{pipeline.job}-glue-failures", f"{prefix}-{pipeline.job}-glue-job-failures",
                f"Glue job runs of {pipeline.job} ending FAILED, TIMEOUT, STOPPED or ERROR",
                namespace=namespace, metric_name=FAILURE_METRIC, statistic="Sum",
                dimensions={"service": JOB_MONITOR_SERVICE, "job": pipeline.glue_job_name},
                threshold=thresholds.glue_job_failures))
            for metric_name, label in (("ExecutionsFailed", "failed"), ("ExecutionsTimedOut", "timed-out")):
                alarms.append(alarm(
                    f"{pipeline.job}-executions-{label}", f"{prefix}-{pipeline.job}-pipeline-{label}",
                    f"Pipeline executions of {pipeline.job} that {label.replace('-', ' ')}",
                    namespace="AWS/States", metric_name=metric_name, statistic="Sum",
                    dimensions={"StateMachineArn": pipeline.state_machine_arn},
                    threshold=thresholds.state_machine_failures))
        limit_ms = args.function_timeout_seconds * 1000 * thresholds.lambda_duration_percent_of_timeout // 100
        function_names = {key: function.name for key, function in sorted(args.functions.items())}
        for function_key, function_name in function_names.items():
            short = naming.hyphenated(function_key)
            dimensions = {"FunctionName": function_name}
            alarms.append(alarm(f"{short}-errors", f"{prefix}-{short}-errors", f"Errors of function {short}",
                                namespace="AWS/Lambda", metric_name="Errors", statistic="Sum", dimensions=dimensions,
                                threshold=thresholds.lambda_errors))
            alarms.append(alarm(f"{short}-throttles", f"{prefix}-{short}-throttles", f"Throttles of function {short}",
                                namespace="AWS/Lambda", metric_name="Throttles", statistic="Sum",
                                dimensions=dimensions, threshold=thresholds.lambda_throttles))
            alarms.append(alarm(
                f"{short}-duration", f"{prefix}-{short}-duration-near-timeout",
                f"p99 duration of function {short} above {thresholds.lambda_duration_percent_of_timeout}% of its "
                f"timeout", namespace="AWS/Lambda", metric_name="Duration", extended_statistic="p99",
                dimensions=dimensions, threshold=limit_ms))

        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=naming.dashboard_name(names),
            dashboard_body=pulumi.Output.all(
                region=context.region,
                glue_jobs=[p.glue_job_name for p in args.pipelines],
                state_machines=[p.state_machine_arn for p in args.pipelines],
                functions=list(function_names.values()),
            ).apply(lambda charted: json.dumps(dashboard_body(namespace, **charted))),
            opts=child,
        )

        expose(self, alarm_names=pulumi.Output.from_input([a.name for a in alarms]),
               dashboard_name=dashboard.dashboard_name)


def _metric_widget(title: str, region: str, metrics: list[list], x: int, y: int, stat: str = "Sum") -> dict:
    return {"type": "metric", "x": x, "y": y, "width": 12, "height": 6,
            "properties": {"title": title, "region": region, "stat": stat, "period": 300, "view": "timeSeries",
                           "metrics": metrics}}


def dashboard_body(namespace: str, *, region: str, glue_jobs: list[str], state_machines: list[str],
                   functions: list[str]) -> dict:
    """`namespace`: the stack's own metrics (the job monitor's)."""
    glue_runs = [[namespace, metric, "service", JOB_MONITOR_SERVICE, "job", job]
                 for job in glue_jobs for metric in (FAILURE_METRIC, SUCCEEDED_METRIC)]
    glue_time = [["Glue", "glue.driver.aggregate.elapsedTime", "JobName", job, "JobRunId", "ALL", "Type", "count"]
                 for job in glue_jobs]
    executions = [["AWS/States", metric, "StateMachineArn", arn]
                  for arn in state_machines for metric in ("ExecutionsStarted", "ExecutionsSucceeded",
                                                           "ExecutionsFailed", "ExecutionsTimedOut")]
    invocations = [["AWS/Lambda", metric, "FunctionName", fn]
                   for fn in functions for metric in ("Invocations", "Errors", "Throttles")]
    durations = [["AWS/Lambda", "Duration", "FunctionName", fn] for fn in functions]
    return {"widgets": [
        _metric_widget("Glue job runs by outcome", region, glue_runs, 0, 0),
        _metric_widget("Glue job elapsed time (ms)", region, glue_time, 12, 0, stat="Maximum"),
        _metric_widget("Pipeline executions", region, executions, 0, 6),
        _metric_widget("Lambda invocations, errors, throttles", region, invocations, 12, 6),
        _metric_widget("Lambda duration p99 (ms)", region, durations, 0, 12, stat="p99"),
    ]}
