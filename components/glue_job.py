"""One Glue PySpark job with its code, encryption, role, log groups and default arguments."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from . import artifacts, naming
from .aws_context import AwsContext
from .common_resources import encrypted_log_group, service_role
from .config import JOB_ENTRYPOINT, GlueJobSettings, StackSettings
from .data_lake import DataLake
from .iam.glue_job_policy import GlueJobPolicyInputs, glue_job_policy
from .secure_bucket import SecureBucket

GLUE_VERSION = "5.0"


@dataclass(frozen=True)
class GlueJobArgs:
    job: GlueJobSettings
    settings: StackSettings
    aws: AwsContext
    lake: DataLake
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
        job, settings, ctx, lake = args.job, args.settings, args.aws, args.lake
        child = pulumi.ResourceOptions(parent=self)
        artifacts_bucket = lake.buckets["artifacts"]
        code_folder = f"glue/{job.name}"

        script = artifacts.job_script(args.jobs_dir, job.name, JOB_ENTRYPOINT, args.build_dir)
        library = artifacts.job_library(args.jobs_dir, job.name, args.build_dir)
        uploaded = {
            kind: aws.s3.BucketObjectv2(
                f"{name}-{kind}",
                bucket=artifacts_bucket.bucket,
                key=artifact.key(f"{code_folder}/{kind}"),
                source=pulumi.FileAsset(str(artifact.path)),
                server_side_encryption="aws:kms",
                kms_key_id=lake.key_arn,
                tags=settings.tags,
                # A replaced artifact stays: older pipeline versions still run it. The release controller
                # retires what no retained version uses, and the bucket's lifecycle expires it.
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
            )
            for kind, artifact in (("script", script), ("library", library))
        }
        locations = {kind: s3_uri(artifacts_bucket, obj.key) for kind, obj in uploaded.items()}

        security = aws.glue.SecurityConfiguration(
            f"{name}-security",
            name=naming.glue_security_configuration_name(settings, job.name),
            encryption_configuration={
                "cloudwatch_encryption": {"cloudwatch_encryption_mode": "SSE-KMS", "kms_key_arn": lake.key_arn},
                "job_bookmarks_encryption": {"job_bookmarks_encryption_mode": "CSE-KMS",
                                             "kms_key_arn": lake.key_arn},
                "s3_encryption": {"s3_encryption_mode": "SSE-KMS", "kms_key_arn": lake.key_arn},
            },
            opts=child,
        )

        log_prefix = naming.glue_log_group_prefix(settings, job.name)
        log_groups = [
            encrypted_log_group(f"{name}-{stream}-logs", settings=settings, name=f"{log_prefix}/{stream}",
                                key_arn=lake.key_arn, opts=child)
            for stream in ("output", "error")
        ]

        role = service_role(f"{name}-role", settings=settings, aws_context=ctx,
                            purpose=naming.glue_job_role_purpose(job.name), service="glue.amazonaws.com",
                            description=f"Runs Glue job {naming.glue_job_name(settings, job.name)}", opts=child)
        buckets = lake.buckets
        data_prefix = naming.job_data_prefix(job.name, settings.health_check_only)
        policy_inputs = pulumi.Output.all(
            ctx.partition, ctx.region, ctx.account_id, lake.key_arn, artifacts_bucket.arn, buckets["raw"].arn,
            buckets["curated"].arn, buckets["temp"].arn, lake.database_name, *(g.arn for g in log_groups),
        ).apply(lambda v: GlueJobPolicyInputs(
            partition=v[0], region=v[1], account_id=v[2], job=job.name, key_arn=v[3], artifacts_bucket_arn=v[4],
            raw_bucket_arn=v[5], curated_bucket_arn=v[6], temp_bucket_arn=v[7], database=v[8],
            table=job.name, log_group_arns=tuple(v[9:]), health_check_only=settings.health_check_only,
        ))
        role_policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.json_dumps(policy_inputs.apply(glue_job_policy)),
            opts=child,
        )

        glue_job = aws.glue.Job(
            f"{name}-job",
            name=naming.glue_job_name(settings, job.name),
            description=f"Glue job '{job.name}' of stack {settings.name_prefix}",
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
                "--TempDir": s3_uri(buckets["temp"], f"{data_prefix}glue-temp/"),
                "--extra-py-files": locations["library"],
                "--enable-metrics": "true",
                "--enable-observability-metrics": "true",
                "--enable-continuous-cloudwatch-log": "true",
                "--custom-logGroup-prefix": log_prefix,
                "--enable-job-insights": "true",
                "--job-bookmark-option": "job-bookmark-enable",
                "--enable-glue-datacatalog": "true",
                "--source_path": s3_uri(buckets["raw"], data_prefix),
                "--target_path": s3_uri(buckets["curated"], data_prefix),
                "--database": lake.database_name,
                "--table": job.name,
                "--health_check": str(settings.health_check_only).lower(),
            },
            tags=settings.tags,
            # The role must hold its permissions before the first run can start.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy, *log_groups]),
        )

        self.job_name = glue_job.name
        self.job_arn = glue_job.arn
        self.role_arn = role.arn
        self.script_location = glue_job.command.script_location
        self.library_location = locations["library"]
        self.register_outputs({"job_name": self.job_name, "role_arn": self.role_arn,
                               "script_location": self.script_location, "library_location": self.library_location})


def s3_uri(bucket: SecureBucket, path: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.concat("s3://", bucket.bucket, "/", path)
