"""One Glue job's pipeline: the Step Functions state machine, its log group and role, an optional schedule.

Every deploy that changes the definition publishes a new, immutable version; the `live` alias is what
schedules start. The alias is declared with Step Functions' managed gradual deployment (the aws-native provider's
StateMachineAlias with a deploymentPreference), so AWS shifts the traffic, watches the release alarms and rolls
back on its own, with no client running. Which version it is declared on follows the target version rule
(components/release_target.py): a hold or a rollback's pin keeps it, a newer release moves it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_aws_native as aws_native

from settings import naming
from settings.schema import GRADUAL_STRATEGIES, GlueJobSettings, OrchestrationSettings, ReleaseSettings

from .asl import PipelineTargets, pipeline_definition
from .common_resources import encrypted_log_group, service_role_with_policy
from .glue_job import GlueJob
from .iam.state_machine_policy import state_machine_policy
from .lambda_function import FunctionRef
from .outputs import expose
from .release_alarms import ReleaseAlarmArgs, release_alarms
from .release_target import Target, alias_description, decide, declared_version, state_machine_alias
from .schedule import Schedule, ScheduleArgs
from .stack_context import StackContext

LIVE_ALIAS = "live"
# The type the `live` alias had before it was declared with aws-native (components/pipeline.py's history).
PULUMI_AWS_ALIAS = "aws:sfn/alias:Alias"
ALIAS_DESCRIPTION = "Released pipeline version: moved by pulumi up (managed deployment), pinned by a rollback"
# Release strategy -> the managed deployment's type. verify-then-switch has checked the new version before the
# update that moves the alias, so that update moves it at once (AWS still watches the alarms and rolls back).
DEPLOYMENT_TYPES = {"all-at-once": "ALL_AT_ONCE", "verify-then-switch": "ALL_AT_ONCE", "canary": "CANARY",
                    "linear": "LINEAR"}
# Long enough for Glue's own retries of a run that hits its timeout.
GLUE_STATE_MARGIN_SECONDS = 15 * 60


@dataclass(frozen=True)
class Deployment:
    """How AWS moves the `live` alias to a new version."""

    type: str  # ALL_AT_ONCE, CANARY or LINEAR
    percentage: int | None = None  # CANARY: the share of runs the new version gets first; LINEAR: each step's
    interval_minutes: int | None = None  # how long, under the alarms, before the rest (CANARY) or the next step

    @classmethod
    def of(cls, release: ReleaseSettings) -> Deployment:
        kind = DEPLOYMENT_TYPES[release.strategy]
        if release.strategy in GRADUAL_STRATEGIES:
            return cls(kind, release.canary_percent, release.canary_bake_minutes)
        return cls(kind)

    def describe(self) -> str:
        if self.type == "CANARY":
            return f"canary {self.percentage} % for {self.interval_minutes} min"
        if self.type == "LINEAR":
            return f"linear: {self.percentage} % more every {self.interval_minutes} min"
        return "all at once"


@dataclass(frozen=True)
class PipelineArgs:
    context: StackContext
    # The Glue job's key (its folder under jobs/), timeout and retries: the Glue state waits for all of them.
    job: GlueJobSettings
    # The job the pipeline runs, with this deploy's code (s3:// URIs), passed to every run of the version.
    glue_job: GlueJob
    # The role may invoke any version of the functions; the version pins the ones this deploy published.
    validate: FunctionRef
    quality_gate: FunctionRef
    # The stack key: execution data, logs and the schedule's input are encrypted with it.
    key_arn: pulumi.Input[str]
    topic_arn: pulumi.Input[str]
    # The state machine's log level and the schedule starting the `live` alias ("" = none).
    orchestration: OrchestrationSettings
    # How AWS moves the `live` alias to a new version (Deployment.of), and whether an existing alias is held where
    # it is (holdAliases).
    release: ReleaseSettings
    release_commit: str
    # Execution input of scheduled runs (the job's defaults apply to what it leaves out).
    scheduled_input: str = "{}"


class Pipeline(pulumi.ComponentResource):
    state_machine_arn: pulumi.Output[str]
    state_machine_name: pulumi.Output[str]
    # The version this deploy published, and the alias that schedules start.
    version_arn: pulumi.Output[str]
    alias_arn: pulumi.Output[str]
    # What this update does to the alias (components/release_target.py): Target.export.
    release: pulumi.Output[dict[str, Any]]
    # The alarms the managed deployment watches.
    alarm_names: list[pulumi.Output[str]]

    def __init__(self, name: str, args: PipelineArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("data-pipeline:orchestration:Pipeline", name, None, opts)
        context, job, glue_job = args.context, args.job.name, args.glue_job
        names, schedule = context.names, args.orchestration.schedule
        child = pulumi.ResourceOptions(parent=self)

        log_group = encrypted_log_group(f"{name}-logs", context, name=naming.state_machine_log_group(names, job),
                                        key_arn=args.key_arn, opts=child)
        role, role_policy = service_role_with_policy(
            name, context, purpose=naming.state_machine_role_purpose(job), service="states.amazonaws.com",
            description=f"Runs the {job} pipeline state machine",
            policy=pulumi.Output.all(
                glue_job_arn=glue_job.job_arn, validate=args.validate.arn,
                quality_gate=args.quality_gate.arn, topic_arn=args.topic_arn, key_arn=args.key_arn,
            ).apply(lambda v: state_machine_policy(glue_job_arn=v["glue_job_arn"],
                                                   function_arns=[v["validate"], v["quality_gate"]],
                                                   topic_arn=v["topic_arn"], key_arn=v["key_arn"])),
            opts=child)
        glue_timeout_seconds = (args.job.timeout_minutes * 60 * (args.job.max_retries + 1)
                                + GLUE_STATE_MARGIN_SECONDS)
        definition = pulumi.Output.all(
            glue_job_name=glue_job.job_name, script=glue_job.script_location, library=glue_job.library_location,
            validate=args.validate.version_arn, quality_gate=args.quality_gate.version_arn,
            topic_arn=args.topic_arn,
        ).apply(lambda v: json.dumps(pipeline_definition(PipelineTargets(
            job=job, glue_job_name=v["glue_job_name"], validate_function_version_arn=v["validate"],
            quality_gate_function_version_arn=v["quality_gate"], glue_script_location=v["script"],
            glue_library_location=v["library"], topic_arn=v["topic_arn"], stack=naming.name_prefix(names),
            glue_timeout_seconds=glue_timeout_seconds,
            release_commit=args.release_commit,
        )), indent=2))
        state_machine = aws.sfn.StateMachine(
            f"{name}-state-machine",
            name=naming.state_machine_name(names, job),
            type="STANDARD",
            role_arn=role.arn,
            definition=definition,
            logging_configuration={
                "level": args.orchestration.state_machine_log_level,
                "include_execution_data": False,
                "log_destination": pulumi.Output.concat(log_group.arn, ":*"),
            },
            tracing_configuration={"enabled": True},
            encryption_configuration={"type": "CUSTOMER_MANAGED_KMS_KEY", "kms_key_id": args.key_arn,
                                      "kms_data_key_reuse_period_seconds": 300},
            publish=True,
            tags=context.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
        )
        # The ARN the machine has or will have, known before it exists (a first deploy reads the alias before).
        machine_arn = pulumi.Output.all(partition=context.partition, region=context.region,
                                        account=context.account_id).apply(
            lambda a: naming.state_machine_arn(a["partition"], a["region"], a["account"], names, job))
        deployment = Deployment.of(args.release)
        target = decide(state_machine_alias(machine_arn, LIVE_ALIAS), state_machine.state_machine_version_arn,
                        args.release.hold_aliases, lambda decided: f"{job}: {decided.describe(deployment.describe())}")
        target_arn = declared_version(target, state_machine.state_machine_version_arn,
                                      lambda version: pulumi.Output.concat(machine_arn, f":{version}"))
        alarms = release_alarms(name, ReleaseAlarmArgs(
            context=context, job=job, topic_arn=args.topic_arn, version_arn=target_arn, scheduled=bool(schedule),
            longest_run_seconds=glue_timeout_seconds), opts=child)
        alias = aws_native.stepfunctions.StateMachineAlias(
            f"{name}-live",
            name=LIVE_ALIAS,
            description=alias_description(target, ALIAS_DESCRIPTION),
            deployment_preference={
                "state_machine_version_arn": target_arn,
                "type": deployment.type,
                "percentage": deployment.percentage,
                "interval": deployment.interval_minutes,
                "alarms": [alarm.name for alarm in alarms],
            },
            # Stacks deployed before the managed deployment have the same `live` alias as pulumi-aws's sfn.Alias:
            # the engine takes it for this resource and, its provider having changed, replaces it, removing the old
            # one before creating this one (AWS refuses a second alias of the same name). One-time; harmless after.
            opts=pulumi.ResourceOptions(parent=self, aliases=[pulumi.Alias(type_=PULUMI_AWS_ALIAS)],
                                        delete_before_replace=True),
        )

        if schedule:
            Schedule(f"{name}-schedule", ScheduleArgs(
                context=context, purpose=naming.pipeline_schedule(job), expression=schedule,
                target_arn=alias.arn,
                action="states:StartExecution", input=args.scheduled_input, key_arn=args.key_arn,
                target_key_arn=args.key_arn,
            ), opts=child)

        expose(self, state_machine_arn=state_machine.arn, state_machine_name=state_machine.name,
               version_arn=state_machine.state_machine_version_arn, alias_arn=alias.arn,
               release=target.apply(Target.export), alarm_names=[alarm.name for alarm in alarms])
