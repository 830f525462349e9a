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

ROOT = Path(__file__).resolve().parent
JOBS_DIR = ROOT / "jobs"
FUNCTIONS_DIR = ROOT / "functions"
BUILD_DIR = ROOT / ".build"

try:
    settings = load_settings(JOBS_DIR)
except ConfigError as error:
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
pipelines = {
    job.name: Pipeline(f"{job.name}-pipeline", PipelineArgs(
        job=job, settings=settings, aws=aws_context, key_arn=lake.key_arn,
        glue_job_name=glue_jobs[job.name].job_name, glue_job_arn=glue_jobs[job.name].job_arn,
        validate_function_arn=functions.functions["validate_input"].alias_arn,
        quality_gate_function_arn=functions.functions["quality_gate"].alias_arn, topic_arn=alerts.topic_arn))
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
pulumi.export("functions", {key: fn.function_name for key, fn in functions.functions.items()})
pulumi.export("alert_topic_arn", alerts.topic_arn)
pulumi.export("dashboard", monitoring.dashboard_name)
