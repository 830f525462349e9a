"""The pipeline's four Lambda functions, each with exactly the permissions and settings its handler reads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pulumi

from . import naming
from .aws_context import AwsContext
from .config import StackSettings
from .data_lake import DataLake
from .iam import function_policies
from .lambda_function import LambdaFunction, LambdaFunctionArgs
from .schedule import Schedule, ScheduleArgs

CLEANUP_SCHEDULE = "rate(1 day)"
# The pipeline's functions (folders under functions/) -> whether they are invoked asynchronously (by events and
# schedules), which keeps the events that still fail after retries in a dead-letter queue.
FUNCTIONS = {"validate_input": False, "quality_gate": False, "job_monitor": True, "cleanup": True}
# The cleanup function's schedule, named `<stack prefix>-cleanup`.
CLEANUP_SCHEDULE_NAME = "cleanup"


@dataclass(frozen=True)
class PipelineFunctionsArgs:
    settings: StackSettings
    aws: AwsContext
    lake: DataLake
    topic_arn: pulumi.Input[str]
    functions_dir: Path
    build_dir: Path


class PipelineFunctions(pulumi.ComponentResource):
    functions: dict[str, LambdaFunction]

    def __init__(self, name: str, args: PipelineFunctionsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("data-pipeline:compute:PipelineFunctions", name, None, opts)
        settings, lake = args.settings, args.lake
        buckets = lake.buckets
        jobs = [job.name for job in settings.glue_jobs]
        prefixes = [naming.job_prefix(job) for job in jobs]

        def function(key: str, description: str, statements, environment) -> LambdaFunction:
            return LambdaFunction(naming.hyphenated(key), LambdaFunctionArgs(
                function=key, description=description, settings=settings, aws=args.aws, key_arn=lake.key_arn,
                statements=statements, environment=environment, asynchronous=FUNCTIONS[key],
                functions_dir=args.functions_dir, build_dir=args.build_dir,
            ), opts=pulumi.ResourceOptions(parent=self))

        job_paths = pulumi.Output.all(buckets["raw"].bucket, buckets["curated"].bucket).apply(
            lambda b: json.dumps({job: {"source": f"s3://{b[0]}/{naming.job_prefix(job)}",
                                        "target": f"s3://{b[1]}/{naming.job_prefix(job)}"} for job in jobs}))

        def cleanup_locations_in(temp_arn: str, *data_arns: str) -> list[tuple[str, str]]:
            """All of each job's temp data; in the raw and curated buckets, only its health-check leftovers."""
            return ([(temp_arn, naming.job_prefix(job)) for job in jobs]
                    + [(arn, naming.health_check_prefix(job)) for job in jobs for arn in data_arns])

        cleanup_locations = pulumi.Output.all(buckets["temp"].arn, buckets["raw"].arn, buckets["curated"].arn).apply(
            lambda arns: cleanup_locations_in(*arns))

        self.functions = {
            "validate_input": function(
                "validate_input", "Resolves a pipeline run's paths and checks its input objects",
                buckets["raw"].arn.apply(lambda arn: function_policies.validate_input_statements(
                    raw_bucket_arn=arn, job_prefixes=prefixes)),
                {"JOBS": job_paths,
                 "MAX_OBJECT_BYTES": str(settings.orchestration.max_input_object_mb * 1024 * 1024)}),
            "quality_gate": function(
                "quality_gate", "Passes or fails a pipeline run on its data-quality result",
                pulumi.Output.all(buckets["curated"].arn, lake.key_arn).apply(
                    lambda v: function_policies.quality_gate_statements(curated_bucket_arn=v[0], jobs=jobs,
                                                                        key_arn=v[1])),
                {"CURATED_BUCKET": buckets["curated"].bucket}),
            "job_monitor": function(
                "job_monitor", "Counts Glue job run endings and alerts on the bad ones",
                pulumi.Output.all(args.topic_arn, lake.key_arn).apply(
                    lambda v: function_policies.job_monitor_statements(topic_arn=v[0], key_arn=v[1])),
                {"TOPIC_ARN": args.topic_arn,
                 "JOB_NAMES": json.dumps([naming.glue_job_name(settings, job) for job in jobs])}),
            "cleanup": function(
                "cleanup", "Deletes expired temp objects and health-check leftovers",
                cleanup_locations.apply(lambda locations: function_policies.cleanup_statements(locations=locations)),
                {"CLEANUP_LOCATIONS": cleanup_locations.apply(lambda locations: json.dumps(
                    [f"{arn.split(':::', 1)[1]}/{prefix}" for arn, prefix in locations])),
                 "TTL_DAYS": str(settings.orchestration.cleanup_ttl_days)}),
        }
        Schedule("cleanup-schedule", ScheduleArgs(
            settings=settings, aws=args.aws, purpose=CLEANUP_SCHEDULE_NAME, expression=CLEANUP_SCHEDULE,
            target_arn=self.functions["cleanup"].alias_arn, action="lambda:InvokeFunction", key_arn=lake.key_arn,
        ), opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({key: fn.function_name for key, fn in self.functions.items()})
