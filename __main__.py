"""The data pipeline's Pulumi program: settings in, components out, outputs exported."""

from pathlib import Path

import pulumi

from components.aws_context import AwsContext
from components.config import ConfigError, load_settings
from components.data_lake import DataLake, DataLakeArgs
from components.glue_job import GlueJob, GlueJobArgs

ROOT = Path(__file__).resolve().parent
JOBS_DIR = ROOT / "jobs"
BUILD_DIR = ROOT / ".build" / "glue"

try:
    settings = load_settings(JOBS_DIR)
except ConfigError as error:
    # A clean message naming every bad key, instead of a stack trace.
    raise pulumi.RunError(str(error)) from None

aws_context = AwsContext.current()
lake = DataLake("lake", DataLakeArgs(settings=settings, aws=aws_context))
glue_jobs = {
    job.name: GlueJob(job.name, GlueJobArgs(job=job, settings=settings, aws=aws_context, lake=lake,
                                            jobs_dir=JOBS_DIR, build_dir=BUILD_DIR))
    for job in settings.glue_jobs
}

pulumi.export("kms_key_arn", lake.key_arn)
pulumi.export("buckets", {zone: bucket.bucket for zone, bucket in lake.buckets.items()})
pulumi.export("glue_database", lake.database_name)
pulumi.export("glue_jobs", {name: job.job_name for name, job in glue_jobs.items()})
pulumi.export("glue_job_roles", {name: job.role_arn for name, job in glue_jobs.items()})
