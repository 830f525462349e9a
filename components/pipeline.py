"""One Glue job's pipeline: the Step Functions state machine, its log group and role, an optional schedule."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from . import naming
from .asl import PipelineTargets, pipeline_definition
from .aws_context import AwsContext
from .common_resources import encrypted_log_group, service_role
from .config import GlueJobSettings, StackSettings
from .iam.state_machine_policy import state_machine_policy
from .schedule import Schedule, ScheduleArgs

# Long enough for Glue's own retries of a run that hits its timeout.
GLUE_STATE_MARGIN_SECONDS = 15 * 60


@dataclass(frozen=True)
class PipelineArgs:
    job: GlueJobSettings
    settings: StackSettings
    aws: AwsContext
    key_arn: pulumi.Input[str]
    glue_job_name: pulumi.Input[str]
    glue_job_arn: pulumi.Input[str]
    validate_function_arn: pulumi.Input[str]
    quality_gate_function_arn: pulumi.Input[str]
    topic_arn: pulumi.Input[str]
    # Execution input of scheduled runs (the job's defaults apply to what it leaves out).
    scheduled_input: str = "{}"


class Pipeline(pulumi.ComponentResource):
    state_machine_arn: pulumi.Output[str]
    state_machine_name: pulumi.Output[str]

    def __init__(self, name: str, args: PipelineArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("data-pipeline:orchestration:Pipeline", name, None, opts)
        settings, ctx, job = args.settings, args.aws, args.job
        child = pulumi.ResourceOptions(parent=self)

        log_group = encrypted_log_group(f"{name}-logs", settings=settings,
                                        name=naming.state_machine_log_group(settings, job.name),
                                        key_arn=args.key_arn, opts=child)
        role = service_role(f"{name}-role", settings=settings, aws_context=ctx,
                            purpose=naming.state_machine_role_purpose(job.name), service="states.amazonaws.com",
                            description=f"Runs the {job.name} pipeline state machine", opts=child)
        role_policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.json_dumps(pulumi.Output.all(
                args.glue_job_arn, args.validate_function_arn, args.quality_gate_function_arn, args.topic_arn,
                args.key_arn,
            ).apply(lambda v: state_machine_policy(glue_job_arn=v[0], function_arns=[v[1], v[2]], topic_arn=v[3],
                                                   key_arn=v[4]))),
            opts=child,
        )
        definition = pulumi.Output.all(args.glue_job_name, args.validate_function_arn,
                                       args.quality_gate_function_arn, args.topic_arn).apply(
            lambda v: json.dumps(pipeline_definition(PipelineTargets(
                job=job.name, glue_job_name=v[0], validate_function_arn=v[1], quality_gate_function_arn=v[2],
                topic_arn=v[3], stack=settings.name_prefix,
                glue_timeout_seconds=job.timeout_minutes * 60 * (job.max_retries + 1) + GLUE_STATE_MARGIN_SECONDS,
            )), indent=2))
        state_machine = aws.sfn.StateMachine(
            f"{name}-state-machine",
            name=naming.state_machine_name(settings, job.name),
            type="STANDARD",
            role_arn=role.arn,
            definition=definition,
            logging_configuration={
                "level": settings.orchestration.state_machine_log_level,
                "include_execution_data": False,
                "log_destination": pulumi.Output.concat(log_group.arn, ":*"),
            },
            tracing_configuration={"enabled": True},
            encryption_configuration={"type": "CUSTOMER_MANAGED_KMS_KEY", "kms_key_id": args.key_arn,
                                      "kms_data_key_reuse_period_seconds": 300},
            tags=settings.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
        )

        if settings.orchestration.schedule:
            Schedule(f"{name}-schedule", ScheduleArgs(
                settings=settings, aws=ctx, purpose=naming.pipeline_schedule(job.name),
                expression=settings.orchestration.schedule, target_arn=state_machine.arn,
                action="states:StartExecution", input=args.scheduled_input, target_key_arn=args.key_arn,
            ), opts=child)

        self.state_machine_arn = state_machine.arn
        self.state_machine_name = state_machine.name
        self.register_outputs({"state_machine_arn": self.state_machine_arn})
