"""The stack's alert topic: encrypted with the stack key, e-mail subscriptions from settings."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from . import naming
from .aws_context import AwsContext
from .config import StackSettings
from .iam.documents import document, statement


@dataclass(frozen=True)
class NotificationsArgs:
    settings: StackSettings
    aws: AwsContext
    key_arn: pulumi.Input[str]


class Notifications(pulumi.ComponentResource):
    topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: NotificationsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("data-pipeline:monitoring:Notifications", name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        topic = aws.sns.Topic(
            f"{name}-topic",
            name=naming.topic_name(settings),
            kms_master_key_id=args.key_arn,
            tags=settings.tags,
            opts=child,
        )
        # Only this account's alarms may publish as the CloudWatch service; everything else goes through IAM.
        aws.sns.TopicPolicy(
            f"{name}-topic-policy",
            arn=topic.arn,
            policy=pulumi.Output.json_dumps(pulumi.Output.all(topic.arn, args.aws.account_id).apply(
                lambda v: document(statement(
                    "AlarmsOfThisAccount", ["sns:Publish"], [v[0]], principal={"Service": "cloudwatch.amazonaws.com"},
                    condition={"StringEquals": {"aws:SourceAccount": v[1]}})))),
            opts=child,
        )
        for index, email in enumerate(settings.orchestration.alert_emails):
            aws.sns.TopicSubscription(
                f"{name}-email-{index}",
                topic=topic.arn,
                protocol="email",
                endpoint=email,
                opts=child,
            )
        self.topic_arn = topic.arn
        self.register_outputs({"topic_arn": self.topic_arn})
