"""One Lambda function: deterministic package, own role and log group, encrypted settings, `live` alias.

The `live` alias (what events and schedules invoke) follows the pipelines' target version rule
(components/release_target.py): it moves to a newly published version with a release, stays put under a hold or a
rollback's pin, so changed code is not live before the release that verifies it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws

from settings import naming
from settings.schema import LambdaSettings

from . import artifacts
from .common_resources import encrypted_log_group, service_role_with_policy
from .iam.documents import document
from .iam.function_policies import function_base_statements
from .outputs import expose
from .release_target import alias_description, decide, declared_version, function_alias
from .stack_context import StackContext

RUNTIME = "python3.11"
ALIAS = "live"
ALIAS_DESCRIPTION = "Released function version: moved by pulumi up with the release, pinned by a rollback"
# Powertools for AWS Lambda (logger, metrics, tracer, and the parser with its pydantic) from AWS's public layer; keep
# its version in step with aws-lambda-powertools in requirements-dev.txt, which the handler tests run against.
POWERTOOLS_LAYER = "arn:{partition}:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python311-x86_64:27"
# An event that still fails after Lambda's own retries goes to the function's dead-letter queue.
ASYNC_RETRIES = 2
DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600


@dataclass(frozen=True)
class LambdaFunctionArgs:
    context: StackContext
    function: str  # folder under functions/, e.g. "validate_input"
    description: str
    # The stack key: the function's settings, logs and dead letters are encrypted with it.
    key_arn: pulumi.Input[str]
    # The function's own permissions: a list of IAM statements (an Output when it names other resources).
    statements: pulumi.Input[list]
    # Memory, timeout and reserved concurrency (-1: none, the account's pool).
    sizing: LambdaSettings
    functions_dir: Path
    build_dir: Path
    environment: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    # Keep an existing `live` alias on the version it routes to now (the stack's holdAliases).
    hold_alias: bool = False
    # Invoked asynchronously (events, schedules): failures are retried, then kept in a dead-letter queue.
    asynchronous: bool = False


@dataclass(frozen=True)
class FunctionRef:
    """A function as other components take it: its name, its unqualified ARN (what a role may invoke, any version),
    the version this deploy published (qualified ARN) and its `live` alias."""

    name: pulumi.Input[str]
    arn: pulumi.Input[str]
    version_arn: pulumi.Input[str]
    alias_arn: pulumi.Input[str]

    @classmethod
    def of(cls, function: LambdaFunction) -> FunctionRef:
        return cls(name=function.function_name, arn=function.arn, version_arn=function.version_arn,
                   alias_arn=function.alias_arn)


class LambdaFunction(pulumi.ComponentResource):
    function_name: pulumi.Output[str]
    arn: pulumi.Output[str]
    # The version this deploy published (qualified ARN): what a pipeline version pins.
    version_arn: pulumi.Output[str]
    alias_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: LambdaFunctionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("data-pipeline:compute:LambdaFunction", name, None, opts)
        context, sizing = args.context, args.sizing
        names = context.names
        child = pulumi.ResourceOptions(parent=self)
        function_name = naming.function_name(names, args.function)
        package = artifacts.function_package(args.functions_dir, args.function, args.build_dir)

        log_group = encrypted_log_group(f"{name}-logs", context, name=naming.function_log_group(names, args.function),
                                        key_arn=args.key_arn, opts=child)
        dead_letters = aws.sqs.Queue(
            f"{name}-dead-letters",
            name=naming.dead_letter_queue_name(names, args.function),
            kms_master_key_id=args.key_arn,
            message_retention_seconds=DEAD_LETTER_RETENTION_SECONDS,
            tags=context.tags,
            opts=child,
        ) if args.asynchronous else None

        base = pulumi.Output.all(
            log_group_arn=log_group.arn, key_arn=args.key_arn,
            dead_letter_queue_arn=dead_letters.arn if dead_letters else None,
        ).apply(lambda arns: function_base_statements(**arns))
        role, role_policy = service_role_with_policy(
            name, context, purpose=naming.function_role_purpose(args.function), service="lambda.amazonaws.com",
            description=f"Runs Lambda function {function_name}",
            policy=pulumi.Output.all(base=base, own=args.statements).apply(
                lambda statements: document(*statements["base"], *statements["own"])), opts=child)

        function = aws.lambda_.Function(
            f"{name}-function",
            name=function_name,
            description=args.description,
            role=role.arn,
            runtime=RUNTIME,
            architectures=["x86_64"],
            handler=f"{args.functions_dir.name}.{args.function}.handler.handler",
            code=pulumi.FileArchive(str(package.path)),
            source_code_hash=package.sha256_base64,
            memory_size=sizing.memory_mb,
            timeout=sizing.timeout_seconds,
            reserved_concurrent_executions=sizing.reserved_concurrency,
            layers=[pulumi.Output.all(partition=context.partition, region=context.region).apply(
                lambda account: POWERTOOLS_LAYER.format(**account))],
            kms_key_arn=args.key_arn,
            environment={"variables": {
                "STACK": naming.name_prefix(names),
                "POWERTOOLS_SERVICE_NAME": args.function,
                "POWERTOOLS_METRICS_NAMESPACE": naming.metric_namespace(names),
                **args.environment,
            }},
            tracing_config={"mode": "Active"},
            logging_config={"log_format": "JSON", "log_group": log_group.name},
            publish=True,
            tags=context.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy, log_group]),
        )
        target = decide(function_alias(function_name, ALIAS), function.version, args.hold_alias,
                        lambda decided: f"function {args.function}: {decided.describe('all at once')}")
        alias = aws.lambda_.Alias(
            f"{name}-alias",
            name=ALIAS,
            function_name=function.name,
            function_version=declared_version(target, function.version, str),
            description=alias_description(target, ALIAS_DESCRIPTION),
            opts=child,
        )
        if dead_letters:
            aws.lambda_.FunctionEventInvokeConfig(
                f"{name}-async",
                function_name=function.name,
                qualifier=alias.name,
                maximum_retry_attempts=ASYNC_RETRIES,
                destination_config={"on_failure": {"destination": dead_letters.arn}},
                opts=child,
            )

        expose(self, function_name=function.name, arn=function.arn, version_arn=function.qualified_arn,
               alias_arn=alias.arn, role_arn=role.arn)
