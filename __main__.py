"""The data pipeline's Pulumi program: settings in, components out, outputs exported."""

from pathlib import Path

import pulumi

from components.aws_context import AwsContext
from components.config import ConfigError, load_settings
from components.data_lake import DataLake, DataLakeArgs
from components.glue_job import GlueJob, GlueJobArgs
from components.monitoring import MonitoredPipeline, Monitoring, MonitoringArgs
from components.notifications import Notifications, NotificationsArgs
from components.pipeline import Pipeline, PipelineArgs
from components.pipeline_functions import PipelineFunctions, PipelineFunctionsArgs
from components.release_info import InvalidReleaseInfo, release_commit

ROOT = Path(__file__).resolve().parent
JOBS_DIR = ROOT / "jobs"
FUNCTIONS_DIR = ROOT / "functions"
BUILD_DIR = ROOT / ".build"

try:
    settings = load_settings(JOBS_DIR)
    commit = release_commit(ROOT)
except (ConfigError, InvalidReleaseInfo) as error:
    # A clean message naming every bad key, instead of a stack trace.
    raise pulumi.RunError(str(error)) from None

aws_context = AwsContext.current()
lake = DataLake("lake", DataLakeArgs(settings=settings, aws=aws_context))
alerts = Notifications("alerts", NotificationsArgs(settings=settings, aws=aws_context, key_arn=lake.key_arn))
functions = PipelineFunctions("functions", PipelineFunctionsArgs(
    settings=settings, aws=aws_context, lake=lake, topic_arn=alerts.topic_arn, functions_dir=FUNCTIONS_DIR,
    build_dir=BUILD_DIR / "functions"))
glue_jobs = {
    job.name: GlueJob(job.name, GlueJobArgs(job=job, settings=settings, aws=aws_context, lake=lake,
                                            jobs_dir=JOBS_DIR, build_dir=BUILD_DIR / "glue"))
    for job in settings.glue_jobs
}
validate, quality_gate = functions.functions["validate_input"], functions.functions["quality_gate"]
pipelines = {
    job.name: Pipeline(f"{job.name}-pipeline", PipelineArgs(
        job=job, settings=settings, aws=aws_context, key_arn=lake.key_arn,
        glue_job_name=glue_jobs[job.name].job_name, glue_job_arn=glue_jobs[job.name].job_arn,
        glue_script_location=glue_jobs[job.name].script_location,
        glue_library_location=glue_jobs[job.name].library_location,
        validate_function_arn=validate.arn, validate_function_version_arn=validate.version_arn,
        quality_gate_function_arn=quality_gate.arn, quality_gate_function_version_arn=quality_gate.version_arn,
        topic_arn=alerts.topic_arn, release_commit=commit))
    for job in settings.glue_jobs
}
monitoring = Monitoring("monitoring", MonitoringArgs(
    settings=settings, topic_arn=alerts.topic_arn, job_monitor=functions.functions["job_monitor"],
    functions=functions.functions, region=aws_context.region,
    pipelines=[MonitoredPipeline(job=name, glue_job_name=glue_jobs[name].job_name,
                                 state_machine_arn=pipeline.state_machine_arn) for name, pipeline in pipelines.items()],
))

pulumi.export("kms_key_arn", lake.key_arn)
pulumi.export("buckets", {zone: bucket.bucket for zone, bucket in lake.buckets.items()})
pulumi.export("glue_database", lake.database_name)
pulumi.export("glue_jobs", {name: job.job_name for name, job in glue_jobs.items()})
pulumi.export("glue_job_roles", {name: job.role_arn for name, job in glue_jobs.items()})
pulumi.export("state_machines", {name: pipeline.state_machine_arn for name, pipeline in pipelines.items()})
# What the release controller works on: each pipeline's new version and its live alias, the stack's alarms and
# the release settings.
pulumi.export("pipeline_versions", {name: pipeline.version_arn for name, pipeline in pipelines.items()})
pulumi.export("pipeline_aliases", {name: pipeline.alias_arn for name, pipeline in pipelines.items()})
pulumi.export("alarm_names", monitoring.alarm_names)
pulumi.export("release", {"strategy": settings.release.strategy, "canary_percent": settings.release.canary_percent,
                          "canary_bake_minutes": settings.release.canary_bake_minutes,
                          "retained_releases": settings.release.retained_releases,
                          "artifacts_bucket": lake.buckets["artifacts"].bucket})
pulumi.export("functions", {key: fn.function_name for key, fn in functions.functions.items()})
pulumi.export("alert_topic_arn", alerts.topic_arn)
pulumi.export("dashboard", monitoring.dashboard_name)
