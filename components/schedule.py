"""An EventBridge Scheduler schedule that starts one target with its own minimal role."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from settings import naming

from .common_resources import service_role_with_policy
from .iam.state_machine_policy import scheduler_policy
from .outputs import expose
from .stack_context import StackContext


@dataclass(frozen=True, kw_only=True)
class ScheduleArgs:
    context: StackContext
    purpose: str  # e.g. "orders-pipeline": names the schedule and its role
    expression: str
    target_arn: pulumi.Input[str]
    # The one action the schedule's role may take on the target, e.g. states:StartExecution.
    action: str
    # The stack key: EventBridge Scheduler keeps the schedule's input encrypted with it.
    key_arn: pulumi.Input[str]
    input: str = "{}"
    # The key the target encrypts its data with (a state machine with a customer-managed key), if any.
    target_key_arn: pulumi.Input[str] | None = None


class Schedule(pulumi.ComponentResource):
    schedule_name: pulumi.Output[str]

    def __init__(self, name: str, args: ScheduleArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("data-pipeline:orchestration:Schedule", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role, policy = service_role_with_policy(
            name, args.context, purpose=naming.schedule_role_purpose(args.purpose), service="scheduler.amazonaws.com",
            description=f"Lets EventBridge Scheduler start {args.purpose}",
            policy=pulumi.Output.all(
                target_arn=args.target_arn, key_arn=args.key_arn, target_key_arn=args.target_key_arn,
            ).apply(lambda v: scheduler_policy(action=args.action, **v)), opts=child)
        schedule = aws.scheduler.Schedule(
            f"{name}-schedule",
            name=naming.schedule_name(args.context.names, args.purpose),
            schedule_expression=args.expression,
            schedule_expression_timezone="UTC",
            flexible_time_window={"mode": "OFF"},
            target={"arn": args.target_arn, "role_arn": role.arn, "input": args.input},
            kms_key_arn=args.key_arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        expose(self, schedule_name=schedule.name)
