"""The stack's alert topic: encrypted with the stack key, an e-mail subscription per alert address."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from settings import naming

from .iam.documents import document, statement
from .outputs import expose
from .stack_context import StackContext


@dataclass(frozen=True)
class NotificationsArgs:
    # Only the stack's account's alarms may publish as CloudWatch.
    context: StackContext
    key_arn: pulumi.Input[str]
    # Each gets an e-mail subscription (confirmed by its owner).
    alert_emails: tuple[str, ...]


class Notifications(pulumi.ComponentResource):
    topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: NotificationsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("data-pipeline:monitoring:Notifications", name, None, opts)
        context, child = args.context, pulumi.ResourceOptions(parent=self)
        topic = aws.sns.Topic(
            f"{name}-topic",
            name=naming.topic_name(context.names),
            kms_master_key_id=args.key_arn,
            tags=context.tags,
            opts=child,
        )
        # Only this account's alarms may publish as the CloudWatch service; everything else goes through IAM.
        aws.sns.TopicPolicy(
            f"{name}-topic-policy",
            arn=topic.arn,
            policy=pulumi.Output.json_dumps(pulumi.Output.all(topic_arn=topic.arn, account_id=context.account_id).apply(
                lambda v: document(statement(
                    "AlarmsOfThisAccount", ["sns:Publish"], [v["topic_arn"]],
                    principal={"Service": "cloudwatch.amazonaws.com"},
                    condition={"StringEquals": {"aws:SourceAccount": v["account_id"]}})))),
            opts=child,
        )
        for index, email in enumerate(args.alert_emails):
            aws.sns.TopicSubscription(
                f"{name}-email-{index}",
                topic=topic.arn,
                protocol="email",
                endpoint=email,
                opts=child,
            )
        expose(self, topic_arn=topic.arn)
