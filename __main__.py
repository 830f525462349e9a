"""The data pipeline's Pulumi program: settings in, components out, outputs exported."""

from pathlib import Path

import pulumi
import pulumi_aws_native as aws_native

from components.curated_table import CuratedTable, CuratedTableArgs
from components.data_lake import DataLake, DataLakeArgs
from components.glue_job import GlueJob, GlueJobArgs
from components.iceberg_schema import UnsupportedColumn, iceberg_schema
from components.monitoring import MonitoredPipeline, Monitoring, MonitoringArgs
from components.notifications import Notifications, NotificationsArgs
from components.object_access_audit import ObjectAccessAlarms, ObjectAccessAlarmsArgs
from components.pipeline import Pipeline, PipelineArgs
from components.pipeline_functions import PipelineFunctions, PipelineFunctionsArgs
from components.release_info import InvalidReleaseInfo, release_commit
from components.stack_context import StackContext
from jobs.common.catalog import load_job
from policies.guardrails.pulumi_internals import engine_config
from settings.parse import parse_stack_config
from settings.validation import ConfigError

ROOT = Path(__file__).resolve().parent
JOBS_DIR = ROOT / "jobs"
FUNCTIONS_DIR = ROOT / "functions"
BUILD_DIR = ROOT / ".build"

try:
    # The stack's config is read once, here, and validated whole; components receive the settings.
    settings = parse_stack_config(pulumi.get_stack(), engine_config(), JOBS_DIR)
    commit = release_commit(ROOT)
except (ConfigError, InvalidReleaseInfo) as error:
    # A clean message naming every bad key, instead of a stack trace.
    raise pulumi.RunError(str(error)) from None

context = StackContext.current(settings.names, settings.tags, settings.log_retention_days)
lake = DataLake("lake", DataLakeArgs(
    context=context, kms_deletion_window_days=settings.kms_deletion_window_days,
    bucket_versioning=settings.bucket_versioning, protect_data=settings.protect_data,
    data_retention_days=settings.data_retention_days, lifecycle=settings.lifecycle,
    object_access_audit=settings.object_access_audit, health_check_only=settings.health_check_only,
    jobs=tuple(job.name for job in settings.glue_jobs)))
buckets = lake.buckets
alerts = Notifications("alerts", NotificationsArgs(
    context=context, key_arn=lake.key_arn, alert_emails=settings.orchestration.alert_emails))
if lake.object_access_log_group is not None:
    ObjectAccessAlarms("object-access-alarms", ObjectAccessAlarmsArgs(
        context=context, log_group_name=lake.object_access_log_group, curated_bucket=buckets["curated"],
        topic_arn=alerts.topic_arn, thresholds=settings.alarms))
functions = PipelineFunctions("functions", PipelineFunctionsArgs(
    context=context, key_arn=lake.key_arn, topic_arn=alerts.topic_arn, raw_bucket=buckets["raw"],
    curated_bucket=buckets["curated"], temp_bucket=buckets["temp"], jobs=[job.name for job in settings.glue_jobs],
    sizing=settings.functions, max_input_object_mb=settings.orchestration.max_input_object_mb,
    cleanup_ttl_days=settings.orchestration.cleanup_ttl_days, functions_dir=FUNCTIONS_DIR,
    build_dir=BUILD_DIR / "functions", hold_aliases=settings.release.hold_aliases)).functions


def curated_table(job: str) -> CuratedTable:
    definition = load_job(job)  # the job's contract: Spark types only, no Spark session
    try:
        schema = iceberg_schema(definition.curated_schema)
    except UnsupportedColumn as error:
        raise pulumi.RunError(f"jobs/{job}/schema.py: {error}") from None
    return CuratedTable(job, CuratedTableArgs(
        context=context, job=job, schema=schema, partition_column=definition.partition_column,
        database_name=lake.database_name, curated_bucket=buckets["curated"], key_arn=lake.key_arn,
        maintenance=settings.table_maintenance, protect=settings.protect_data))


tables = {job.name: curated_table(job.name) for job in settings.glue_jobs}
glue_jobs = {
    job.name: GlueJob(job.name, GlueJobArgs(
        context=context, job=job, key_arn=lake.key_arn, artifacts_bucket=buckets["artifacts"],
        raw_bucket=buckets["raw"], curated_bucket=buckets["curated"], temp_bucket=buckets["temp"],
        database_name=lake.database_name, table_name=tables[job.name].table_name,
        health_check_only=settings.health_check_only, protect=settings.protect_data, jobs_dir=JOBS_DIR,
        build_dir=BUILD_DIR / "glue"))
    for job in settings.glue_jobs
}
# The pipelines' `live` aliases are aws-native resources (Step Functions' managed deployment), in the stack's region.
native = aws_native.Provider("aws-native", region=context.region)
pipelines = {
    job.name: Pipeline(f"{job.name}-pipeline", PipelineArgs(
        context=context, job=job, glue_job=glue_jobs[job.name], validate=functions["validate_input"],
        quality_gate=functions["quality_gate"], key_arn=lake.key_arn, topic_arn=alerts.topic_arn,
        orchestration=settings.orchestration, release=settings.release, release_commit=commit),
        opts=pulumi.ResourceOptions(providers=[native]))
    for job in settings.glue_jobs
}
monitoring = Monitoring("monitoring", MonitoringArgs(
    context=context, thresholds=settings.alarms, topic_arn=alerts.topic_arn,
    functions=functions, function_timeout_seconds=settings.functions.timeout_seconds,
    pipelines=[MonitoredPipeline(job=name, glue_job_name=glue_jobs[name].job_name,
                                 state_machine_arn=pipeline.state_machine_arn) for name, pipeline in pipelines.items()],
))

pulumi.export("kms_key_arn", lake.key_arn)
pulumi.export("buckets", {zone: bucket.name for zone, bucket in buckets.items()})
pulumi.export("glue_database", lake.database_name)
# What automation's data rollback and health checks work on: each job's table as `<database>.<table>`.
pulumi.export("tables", {name: table.identifier for name, table in tables.items()})
pulumi.export("glue_jobs", {name: job.job_name for name, job in glue_jobs.items()})
pulumi.export("glue_job_roles", {name: job.role_arn for name, job in glue_jobs.items()})
pulumi.export("state_machines", {name: pipeline.state_machine_arn for name, pipeline in pipelines.items()})
# What the release controller works on: each pipeline's new version and its live alias, the stack's alarms and
# the release settings.
pulumi.export("pipeline_versions", {name: pipeline.version_arn for name, pipeline in pipelines.items()})
pulumi.export("pipeline_aliases", {name: pipeline.alias_arn for name, pipeline in pipelines.items()})
# Per pipeline: the version live before this update, the one it moves the alias to (None in a preview where that
# version is not published yet) and why (components/release_target.py); each is also logged.
pulumi.export("releases", {name: pipeline.release for name, pipeline in pipelines.items()})
pulumi.export("alarm_names", pulumi.Output.all(
    monitoring.alarm_names, *(name for pipeline in pipelines.values() for name in pipeline.alarm_names)).apply(
    lambda names: [*names[0], *names[1:]]))
pulumi.export("release", {"strategy": settings.release.strategy, "canary_percent": settings.release.canary_percent,
                          "canary_bake_minutes": settings.release.canary_bake_minutes,
                          "retained_releases": settings.release.retained_releases,
                          "artifacts_bucket": buckets["artifacts"].name})
pulumi.export("functions", {key: function.name for key, function in functions.items()})
pulumi.export("alert_topic_arn", alerts.topic_arn)
pulumi.export("dashboard", monitoring.dashboard_name)
