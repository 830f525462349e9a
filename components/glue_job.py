"""One Glue PySpark job with its code, encryption, role, log groups and default arguments."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from settings import naming
from settings.job_catalogue import JOB_ENTRYPOINT
from settings.schema import GlueJobSettings

from . import artifacts
from .common_resources import encrypted_log_group, service_role_with_policy
from .iam.glue_job_policy import GlueJobPolicyInputs, glue_job_policy
from .outputs import expose
from .secure_bucket import BucketRef
from .stack_context import StackContext

GLUE_VERSION = "5.0"


@dataclass(frozen=True)
class GlueJobArgs:
    context: StackContext
    # The job's name (its folder under jobs_dir) and sizing.
    job: GlueJobSettings
    # The stack key: the job's code, output, logs and bookmarks are encrypted with it.
    key_arn: pulumi.Input[str]
    # Where the job's code is uploaded.
    artifacts_bucket: BucketRef
    # The job reads the raw bucket, writes the curated one and spills to the temp one, under its own prefix.
    raw_bucket: BucketRef
    curated_bucket: BucketRef
    temp_bucket: BucketRef
    # The job's curated Iceberg table (components/curated_table.py) and the database holding it.
    database_name: pulumi.Input[str]
    table_name: pulumi.Input[str]
    # The fast PR check's stack: the job reads and writes only its health-check folders (and its table's branches).
    health_check_only: bool
    # Refuses `pulumi destroy` of the job (prod): its definition is what scheduled runs and rollbacks start.
    protect: bool
    jobs_dir: Path
    build_dir: Path


class GlueJob(pulumi.ComponentResource):
    job_name: pulumi.Output[str]
    job_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    script_location: pulumi.Output[str]
    # This deploy's library (s3:// URI): with script_location, what a pipeline version passes to each run.
    library_location: pulumi.Output[str]

    def __init__(self, name: str, args: GlueJobArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("data-pipeline:glue:GlueJob", name, None, opts)
        context, job = args.context, args.job
        names = context.names
        child = pulumi.ResourceOptions(parent=self)
        code_folder = f"glue/{job.name}"

        script = artifacts.job_script(args.jobs_dir, job.name, JOB_ENTRYPOINT, args.build_dir)
        library = artifacts.job_library(args.jobs_dir, job.name, args.build_dir)
        uploaded = {
            kind: aws.s3.BucketObjectv2(
                f"{name}-{kind}",
                bucket=args.artifacts_bucket.name,
                key=artifact.key(f"{code_folder}/{kind}"),
                source=pulumi.FileAsset(str(artifact.path)),
                server_side_encryption="aws:kms",
                kms_key_id=args.key_arn,
                tags=context.tags,
                # A replaced artifact stays: older pipeline versions still run it. The release controller
                # retires what no retained version uses, and the bucket's lifecycle expires it.
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
            )
            for kind, artifact in (("script", script), ("library", library))
        }
        locations = {kind: s3_uri(args.artifacts_bucket.name, obj.key) for kind, obj in uploaded.items()}

        security = aws.glue.SecurityConfiguration(
            f"{name}-security",
            name=naming.glue_security_configuration_name(names, job.name),
            encryption_configuration={
                "cloudwatch_encryption": {"cloudwatch_encryption_mode": "SSE-KMS", "kms_key_arn": args.key_arn},
                "job_bookmarks_encryption": {"job_bookmarks_encryption_mode": "CSE-KMS",
                                             "kms_key_arn": args.key_arn},
                "s3_encryption": {"s3_encryption_mode": "SSE-KMS", "kms_key_arn": args.key_arn},
            },
            opts=child,
        )

        log_prefix = naming.glue_log_group_prefix(names, job.name)
        log_groups = [
            encrypted_log_group(f"{name}-{stream}-logs", context, name=f"{log_prefix}/{stream}", key_arn=args.key_arn,
                                opts=child)
            for stream in ("output", "error")
        ]

        policy_inputs = pulumi.Output.all(
            partition=context.partition, region=context.region, account_id=context.account_id, key_arn=args.key_arn,
            artifacts_bucket_arn=args.artifacts_bucket.arn, raw_bucket_arn=args.raw_bucket.arn,
            curated_bucket_arn=args.curated_bucket.arn, temp_bucket_arn=args.temp_bucket.arn,
            database=args.database_name, table=args.table_name, log_group_arns=[group.arn for group in log_groups],
        ).apply(lambda arns: GlueJobPolicyInputs(job=job.name, health_check_only=args.health_check_only, **arns))
        data_prefix = naming.job_data_prefix(job.name, args.health_check_only)
        role, role_policy = service_role_with_policy(
            name, context, purpose=naming.glue_job_role_purpose(job.name), service="glue.amazonaws.com",
            description=f"Runs Glue job {naming.glue_job_name(names, job.name)}",
            policy=policy_inputs.apply(glue_job_policy), opts=child)

        glue_job = aws.glue.Job(
            f"{name}-job",
            name=naming.glue_job_name(names, job.name),
            description=f"Glue job '{job.name}' of stack {naming.name_prefix(names)}",
            role_arn=role.arn,
            glue_version=GLUE_VERSION,
            command={
                "name": "glueetl",
                "python_version": "3",
                "script_location": locations["script"],
            },
            worker_type=job.worker_type,
            number_of_workers=job.number_of_workers,
            timeout=job.timeout_minutes,
            max_retries=job.max_retries,
            execution_class=job.execution_class,
            execution_property={"max_concurrent_runs": job.max_concurrent_runs},
            security_configuration=security.name,
            default_arguments={
                "--job-language": "python",
                "--TempDir": s3_uri(args.temp_bucket.name, f"{data_prefix}glue-temp/"),
                "--extra-py-files": locations["library"],
                "--enable-metrics": "true",
                "--enable-observability-metrics": "true",
                "--enable-continuous-cloudwatch-log": "true",
                "--custom-logGroup-prefix": log_prefix,
                "--enable-job-insights": "true",
                "--job-bookmark-option": "job-bookmark-enable",
                "--enable-glue-datacatalog": "true",
                # Glue's own Iceberg libraries (jobs/common/iceberg.py configures the catalog), writing the
                # table's files encrypted with the stack key.
                "--datalake-formats": "iceberg",
                "--kms_key_arn": args.key_arn,
                "--source_path": s3_uri(args.raw_bucket.name, data_prefix),
                "--target_path": s3_uri(args.curated_bucket.name, data_prefix),
                "--database": args.database_name,
                "--table": args.table_name,
                "--health_check": str(args.health_check_only).lower(),
            },
            tags=context.tags,
            # The role must hold its permissions before the first run can start.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy, *log_groups], protect=args.protect),
        )

        expose(self, job_name=glue_job.name, job_arn=glue_job.arn, role_arn=role.arn,
               script_location=glue_job.command.script_location, library_location=locations["library"])


def s3_uri(bucket: pulumi.Input[str], path: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.concat("s3://", bucket, "/", path)
