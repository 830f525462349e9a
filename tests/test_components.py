"""Each component, checked through Pulumi's public testing API only: `pulumi.runtime.set_mocks` and
`@pulumi.runtime.test`, no harness and no SDK internals. Should an SDK upgrade break the harness's adapter
(policies/guardrails/pulumi_internals.py), these still say whether the components are right.

The program is evaluated once, for prod (every feature on), and a public stack transformation keeps each
resource with its parent; each test then reads one component's resources as Outputs, as a Pulumi unit test does.
Components are found by their type tokens and resources by type, not by name. Under mocks, nested values come
back as dicts with snake_case keys.
"""

from __future__ import annotations

import json
import runpy
from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pytest

from harness.program import PROJECT, AwsMocks
from stack_files import ROOT, as_engine_config, stack_config

# Slow: a second evaluation of prod, through the public API (the fast loop checks the program through the harness).
pytestmark = [pytest.mark.tier("program"), pytest.mark.slow]

STACK = "prod"
DATA_LAKE = "data-pipeline:storage:DataLake"
SECURE_BUCKET = "data-pipeline:storage:SecureBucket"
GLUE_JOB = "data-pipeline:glue:GlueJob"
LAMBDA_FUNCTION = "data-pipeline:compute:LambdaFunction"
PIPELINE_FUNCTIONS = "data-pipeline:compute:PipelineFunctions"
PIPELINE = "data-pipeline:orchestration:Pipeline"
SCHEDULE = "data-pipeline:orchestration:Schedule"
NOTIFICATIONS = "data-pipeline:monitoring:Notifications"
MONITORING = "data-pipeline:monitoring:Monitoring"
OBJECT_ACCESS_AUDIT = "data-pipeline:storage:ObjectAccessAudit"


@dataclass(frozen=True)
class Registered:
    type: str
    name: str
    resource: pulumi.Resource
    parent: pulumi.Resource | None


class Graph:
    """Every resource the program created, with its parent, as a stack transformation saw them."""

    def __init__(self, registered: list[Registered]):
        self.registered = registered

    def of(self, type_: str) -> list[pulumi.Resource]:
        return [r.resource for r in self.registered if r.type == type_]

    def one(self, type_: str) -> pulumi.Resource:
        (resource,) = self.of(type_)
        return resource

    def children(self, parent: pulumi.Resource, type_: str) -> list[pulumi.Resource]:
        return [r.resource for r in self.registered if r.parent is parent and r.type == type_]

    def child(self, parent: pulumi.Resource, type_: str) -> pulumi.Resource:
        (resource,) = self.children(parent, type_)
        return resource


@pytest.fixture(scope="module")
def prod() -> Graph:
    config = stack_config(STACK)
    registered: list[Registered] = []

    def keep(args: pulumi.ResourceTransformationArgs) -> None:
        registered.append(Registered(args.type_, args.name, args.resource, args.opts.parent))

    pulumi.runtime.reset_options(project=PROJECT, stack=STACK, preview=False)
    pulumi.runtime.set_all_config(as_engine_config(config))
    pulumi.runtime.set_mocks(AwsMocks(region=config["aws:region"]), project=PROJECT, stack=STACK, preview=False)

    @pulumi.runtime.test
    def evaluate():
        pulumi.runtime.register_stack_transformation(keep)
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    evaluate()
    return Graph(registered)


# Checks made and checks run in the current test: an apply never runs on an unknown value, and a check that did
# not run must not pass.
CHECKS = {"made": 0, "ran": 0}


@pytest.fixture(autouse=True)
def every_check_runs():
    CHECKS.update(made=0, ran=0)
    yield
    assert CHECKS["made"] > 0 and CHECKS["ran"] == CHECKS["made"], f"checks made and run: {CHECKS}"


def checked(check: Callable[..., None], **outputs) -> pulumi.Output:
    """The Output a `@pulumi.runtime.test` returns: `check(**values)` once every Output has its value."""
    def run(values):
        CHECKS["ran"] += 1
        check(**values)

    CHECKS["made"] += 1
    return pulumi.Output.all(**outputs).apply(run)


@pulumi.runtime.test
def test_data_lake_key_rotates_and_encrypts_every_lake_bucket(prod):
    lake = prod.one(DATA_LAKE)
    key = prod.child(lake, "aws:kms/key:Key")
    buckets = prod.children(lake, SECURE_BUCKET)
    encryption = [prod.child(b, "aws:s3/bucketServerSideEncryptionConfiguration:"
                                "BucketServerSideEncryptionConfiguration") for b in buckets]

    def check(key_arn, rotation, rules):
        assert rotation is True
        for (rule,) in rules:
            assert rule["apply_server_side_encryption_by_default"] == {"sse_algorithm": "aws:kms",
                                                                       "kms_master_key_id": key_arn}
            assert rule["bucket_key_enabled"] is True

    assert len(buckets) == 4
    return checked(check, key_arn=key.arn, rotation=key.enable_key_rotation, rules=[e.rules for e in encryption])


@pulumi.runtime.test
def test_secure_bucket_blocks_public_access_and_insecure_transport(prod):
    def check(bucket_arn, flags, policy):
        assert flags == [True, True, True, True]
        deny = json.loads(policy)["Statement"][0]
        assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert deny["Resource"] == [bucket_arn, f"{bucket_arn}/*"]

    outputs = []
    for component in prod.of(SECURE_BUCKET):
        bucket = prod.child(component, "aws:s3/bucket:Bucket")
        block = prod.child(component, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
        policy = prod.child(component, "aws:s3/bucketPolicy:BucketPolicy")
        outputs.append(checked(check, bucket_arn=bucket.arn, policy=policy.policy, flags=[
            block.block_public_acls, block.block_public_policy, block.ignore_public_acls,
            block.restrict_public_buckets]))
    assert len(outputs) == 5, "the lake's four zones and the object-access log bucket"
    return pulumi.Output.all(*outputs)


@pulumi.runtime.test
def test_glue_job_runs_with_its_own_role_and_security_configuration(prod):
    def check(role_arn, job_role, security, job_security, script):
        assert job_role == role_arn and job_security == security
        assert script.startswith("s3://") and script.endswith(".py")

    jobs = prod.of(GLUE_JOB)
    assert len(jobs) == len(stack_config(STACK)["data-pipeline:glueJobs"])
    return pulumi.Output.all(*[checked(
        check, role_arn=prod.child(job, "aws:iam/role:Role").arn,
        job_role=prod.child(job, "aws:glue/job:Job").role_arn,
        security=prod.child(job, "aws:glue/securityConfiguration:SecurityConfiguration").name,
        job_security=prod.child(job, "aws:glue/job:Job").security_configuration,
        script=prod.child(job, "aws:glue/job:Job").command.apply(lambda command: command["script_location"]))
        for job in jobs])


@pulumi.runtime.test
def test_lambda_function_is_traced_encrypted_logged_and_aliased(prod):
    key_arn = prod.child(prod.one(DATA_LAKE), "aws:kms/key:Key").arn

    def check(key_arn, tracing, kms, log_group, logging, version, alias_name, alias_version):
        assert tracing == {"mode": "Active"} and kms == key_arn
        assert logging["log_group"] == log_group
        assert (alias_name, alias_version) == ("live", version)

    outputs = []
    for component in prod.of(LAMBDA_FUNCTION):
        function = prod.child(component, "aws:lambda/function:Function")
        alias = prod.child(component, "aws:lambda/alias:Alias")
        outputs.append(checked(
            check, key_arn=key_arn, tracing=function.tracing_config, kms=function.kms_key_arn,
            log_group=prod.child(component, "aws:cloudwatch/logGroup:LogGroup").name,
            logging=function.logging_config, version=function.version, alias_name=alias.name,
            alias_version=alias.function_version))
    return pulumi.Output.all(*outputs)


@pulumi.runtime.test
def test_lambda_function_invoked_asynchronously_keeps_failed_events_in_its_own_encrypted_queue(prod):
    key_arn = prod.child(prod.one(DATA_LAKE), "aws:kms/key:Key").arn

    def check(key_arn, function_name, queue_arn, queue_key, invoked, destination):
        assert invoked == function_name and queue_key == key_arn
        assert destination == {"on_failure": {"destination": queue_arn}}

    with_queue = [c for c in prod.of(LAMBDA_FUNCTION) if prod.children(c, "aws:sqs/queue:Queue")]
    assert with_queue, "the event- and schedule-driven functions"
    outputs = []
    for component in with_queue:
        queue = prod.child(component, "aws:sqs/queue:Queue")
        invoke = prod.child(component, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
        outputs.append(checked(
            check, key_arn=key_arn, function_name=prod.child(component, "aws:lambda/function:Function").name,
            queue_arn=queue.arn, queue_key=queue.kms_master_key_id, invoked=invoke.function_name,
            destination=invoke.destination_config))
    return pulumi.Output.all(*outputs)


@pulumi.runtime.test
def test_pipeline_functions_are_the_four_handlers(prod):
    functions = prod.one(PIPELINE_FUNCTIONS)
    handlers = [prod.child(c, "aws:lambda/function:Function").handler
                for c in prod.children(functions, LAMBDA_FUNCTION)]

    def check(handlers):
        assert sorted(handlers) == [f"functions.{name}.handler.handler"
                                    for name in ("cleanup", "job_monitor", "quality_gate", "validate_input")]

    return checked(check, handlers=handlers)


@pulumi.runtime.test
def test_pipeline_publishes_versions_logs_to_its_own_group_and_deploys_live_to_its_version(prod):
    def check(publish, logging, log_group_arn, tracing, version_arn, preference):
        assert publish is True and tracing == {"enabled": True}
        assert logging["log_destination"] == f"{log_group_arn}:*"
        # A first deploy (no alias in AWS yet): the alias is declared on the version this deploy published.
        assert preference["state_machine_version_arn"] == version_arn

    pipelines = prod.of(PIPELINE)
    assert len(pipelines) == len(stack_config(STACK)["data-pipeline:glueJobs"])
    outputs = []
    for pipeline in pipelines:
        machine = prod.child(pipeline, "aws:sfn/stateMachine:StateMachine")
        outputs.append(checked(
            check, publish=machine.publish, logging=machine.logging_configuration,
            tracing=machine.tracing_configuration,
            log_group_arn=prod.child(pipeline, "aws:cloudwatch/logGroup:LogGroup").arn,
            version_arn=machine.state_machine_version_arn,
            preference=prod.child(pipeline, "aws-native:stepfunctions:StateMachineAlias").deployment_preference))
    return pulumi.Output.all(*outputs)


@pulumi.runtime.test
def test_notifications_topic_is_encrypted_with_the_lake_key_and_every_alarm_notifies_it(prod):
    key = prod.child(prod.one(DATA_LAKE), "aws:kms/key:Key")
    topic = prod.child(prod.one(NOTIFICATIONS), "aws:sns/topic:Topic")
    alarms = prod.children(prod.one(MONITORING), "aws:cloudwatch/metricAlarm:MetricAlarm")

    def check(key_arn, topic_key, topic_arn, actions):
        assert topic_key == key_arn
        assert actions and all(alarm_actions == [topic_arn] for alarm_actions in actions)

    return checked(check, key_arn=key.arn, topic_key=topic.kms_master_key_id, topic_arn=topic.arn,
                   actions=[a.alarm_actions for a in alarms])


@pulumi.runtime.test
def test_schedules_start_live_aliases_and_encrypt_their_input_with_the_lake_key(prod):
    key = prod.child(prod.one(DATA_LAKE), "aws:kms/key:Key")
    schedules = [prod.child(s, "aws:scheduler/schedule:Schedule") for s in prod.of(SCHEDULE)]

    def check(key_arn, keys, targets):
        assert set(keys) == {key_arn}
        assert all(target["arn"].endswith(":live") for target in targets)

    assert len(schedules) == len(prod.of(PIPELINE)) + 1, "each pipeline's and the cleanup function's"
    return checked(check, key_arn=key.arn, keys=[s.kms_key_arn for s in schedules],
                   targets=[s.target for s in schedules])


@pulumi.runtime.test
def test_object_access_trail_records_the_lake_buckets_objects_under_the_lake_key(prod):
    lake = prod.one(DATA_LAKE)
    key = prod.child(lake, "aws:kms/key:Key")
    zones = [prod.child(b, "aws:s3/bucket:Bucket") for b in prod.children(lake, SECURE_BUCKET)]
    trail = prod.child(prod.one(OBJECT_ACCESS_AUDIT), "aws:cloudtrail/trail:Trail")

    def check(key_arn, trail_key, selectors, bucket_arns):
        assert trail_key == key_arn
        (selector,) = selectors
        prefixes = {tuple(f["starts_withs"]) for f in selector["field_selectors"] if f["field"] == "resources.ARN"}
        assert prefixes == {tuple(sorted(f"{arn}/" for arn in bucket_arns))}

    return checked(check, key_arn=key.arn, trail_key=trail.kms_key_id, selectors=trail.advanced_event_selectors,
                   bucket_arns=[b.arn for b in zones])
