"""The pipeline's four Lambda functions, each with exactly the permissions and settings its handler reads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pulumi

from settings import naming
from settings.naming import CLEANUP_SCHEDULE_NAME, FUNCTIONS
from settings.schema import LambdaSettings

from .iam import function_policies
from .lambda_function import FunctionRef, LambdaFunction, LambdaFunctionArgs
from .outputs import expose
from .schedule import Schedule, ScheduleArgs
from .secure_bucket import BucketRef
from .stack_context import StackContext

CLEANUP_SCHEDULE = "rate(1 day)"


@dataclass(frozen=True)
class PipelineFunctionsArgs:
    context: StackContext
    key_arn: pulumi.Input[str]
    # The alert topic the job monitor publishes bad run endings to.
    topic_arn: pulumi.Input[str]
    raw_bucket: BucketRef
    curated_bucket: BucketRef
    temp_bucket: BucketRef
    # The stack's Glue jobs (keys under jobs/): the prefixes the functions may touch, the runs the monitor counts.
    jobs: list[str]
    # Every function's memory, timeout and reserved concurrency.
    sizing: LambdaSettings
    # validate_input refuses larger input objects; cleanup deletes temp data and health-check leftovers this old.
    max_input_object_mb: int
    cleanup_ttl_days: int
    functions_dir: Path
    build_dir: Path
    # Keep the existing `live` aliases where they are (the stack's holdAliases).
    hold_aliases: bool = False


class PipelineFunctions(pulumi.ComponentResource):
    # Function key (FUNCTIONS) -> the function.
    functions: dict[str, FunctionRef]

    def __init__(self, name: str, args: PipelineFunctionsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("data-pipeline:compute:PipelineFunctions", name, None, opts)
        context, jobs = args.context, args.jobs
        raw, curated, temp = args.raw_bucket, args.curated_bucket, args.temp_bucket

        def function(key: str, description: str, statements, environment) -> LambdaFunction:
            short = naming.hyphenated(key)
            # Named `<key>` until names were derived from this component's: the alias keeps the function (and, by
            # the same prefix, its children) in place.
            return LambdaFunction(f"{name}-{short}", LambdaFunctionArgs(
                context=context, function=key, description=description, key_arn=args.key_arn,
                statements=statements, sizing=args.sizing, environment=environment, asynchronous=FUNCTIONS[key],
                functions_dir=args.functions_dir, build_dir=args.build_dir, hold_alias=args.hold_aliases,
            ), opts=pulumi.ResourceOptions(parent=self, aliases=[pulumi.Alias(name=short)]))

        job_paths = pulumi.Output.all(raw=raw.name, curated=curated.name).apply(
            lambda buckets: json.dumps({job: job_locations(buckets["raw"], buckets["curated"], job) for job in jobs}))

        def cleanup_locations_in(temp: str, raw: str, curated: str) -> list[tuple[str, str]]:
            """All of each job's temp data; in the raw and curated buckets, only its health-check leftovers."""
            return ([(temp, naming.job_prefix(job)) for job in jobs]
                    + [(arn, naming.health_check_prefix(job)) for job in jobs for arn in (raw, curated)])

        cleanup_locations = pulumi.Output.all(
            temp=temp.arn, raw=raw.arn, curated=curated.arn,
        ).apply(lambda arns: cleanup_locations_in(**arns))

        functions = {
            "validate_input": function(
                "validate_input", "Resolves a pipeline run's paths and checks its input objects",
                pulumi.Output.from_input(raw.arn).apply(
                    lambda arn: function_policies.validate_input_statements(raw_bucket_arn=arn, jobs=jobs)),
                {"JOBS": job_paths, "MAX_OBJECT_BYTES": str(args.max_input_object_mb * 1024 * 1024)}),
            "quality_gate": function(
                "quality_gate", "Passes or fails a pipeline run on its data-quality result",
                pulumi.Output.all(curated_bucket_arn=curated.arn, key_arn=args.key_arn).apply(
                    lambda arns: function_policies.quality_gate_statements(**arns, jobs=jobs)),
                {"CURATED_BUCKET": curated.name}),
            "job_monitor": function(
                "job_monitor", "Counts Glue job run endings and alerts on the bad ones",
                pulumi.Output.all(topic_arn=args.topic_arn, key_arn=args.key_arn).apply(
                    lambda arns: function_policies.job_monitor_statements(**arns)),
                {"TOPIC_ARN": args.topic_arn,
                 "JOB_NAMES": json.dumps([naming.glue_job_name(context.names, job) for job in jobs])}),
            "cleanup": function(
                "cleanup", "Deletes expired temp objects and health-check leftovers",
                cleanup_locations.apply(lambda locations: function_policies.cleanup_statements(locations=locations)),
                {"CLEANUP_LOCATIONS": cleanup_locations.apply(lambda locations: json.dumps(
                    [f"{arn.split(':::', 1)[1]}/{prefix}" for arn, prefix in locations])),
                 "TTL_DAYS": str(args.cleanup_ttl_days)}),
        }
        # Named `cleanup-schedule` until names were derived from this component's (the alias keeps it in place).
        Schedule(f"{name}-cleanup-schedule", ScheduleArgs(
            context=context, purpose=CLEANUP_SCHEDULE_NAME, expression=CLEANUP_SCHEDULE,
            target_arn=functions["cleanup"].alias_arn, action="lambda:InvokeFunction", key_arn=args.key_arn,
        ), opts=pulumi.ResourceOptions(parent=self, aliases=[pulumi.Alias(name="cleanup-schedule")]))

        expose(self, functions={key: FunctionRef.of(function) for key, function in functions.items()})


def job_locations(raw_bucket: str, curated_bucket: str, job: str) -> dict[str, str]:
    """Where validate_input points a job's runs: scheduled runs at the job's own prefixes, health checks at its
    health-check folders (one run folder below them)."""
    return {"source": f"s3://{raw_bucket}/{naming.job_prefix(job)}",
            "target": f"s3://{curated_bucket}/{naming.job_prefix(job)}",
            "health_source": f"s3://{raw_bucket}/{naming.health_check_prefix(job)}",
            "health_target": f"s3://{curated_bucket}/{naming.health_check_prefix(job)}"}
