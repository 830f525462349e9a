"""Encryption at rest and in transit: every store and channel of the pipeline uses the stack's own KMS key."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource, Severity

from . import iam_documents
from .framework import UNKNOWN, Rule, get, known, linked, resource_policy, stack_policy
from .pulumi_internals import UnknownValueError
from .resource_access import stack_accounts

BUCKET = "aws:s3/bucket:Bucket"
BUCKET_TYPES = (BUCKET, "aws:s3/bucketV2:BucketV2")
SSE_TYPES = ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
             "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def _aws_managed(key: Any) -> bool:
    """An AWS managed key (`alias/aws/...`) cannot be restricted by our key policy."""
    return isinstance(key, str) and "alias/aws/" in key


def _bucket_label(bucket: PolicyResource) -> str:
    return f"bucket '{bucket.name}'"


def check_bucket_encryption(resources: list[PolicyResource], _config) -> Iterable[tuple[PolicyResource, str]]:
    for bucket in (r for r in resources if r.resource_type in BUCKET_TYPES):
        configurations = linked(resources, bucket, SSE_TYPES)
        if not configurations:
            yield bucket, f"{_bucket_label(bucket)} has no server-side encryption configuration"
            continue
        for configuration in configurations:
            rules = get(configuration.props, "rules", [])
            if not known(rules):
                continue
            for rule in rules:
                algorithm = get(rule, "applyServerSideEncryptionByDefault.sseAlgorithm")
                key = get(rule, "applyServerSideEncryptionByDefault.kmsMasterKeyId")
                if known(algorithm) and algorithm not in ("aws:kms", "aws:kms:dsse"):
                    yield bucket, f"{_bucket_label(bucket)} uses {algorithm!r}; expected SSE-KMS ('aws:kms')"
                elif key is None or _aws_managed(key):
                    yield bucket, (f"{_bucket_label(bucket)} encrypts with {'the AWS managed key' if key else 'no key'}"
                                   "; expected a customer-managed KMS key (kmsMasterKeyId)")
                if get(rule, "bucketKeyEnabled") is not True and known(get(rule, "bucketKeyEnabled")):
                    yield bucket, f"{_bucket_label(bucket)} does not enable the S3 bucket key (bucketKeyEnabled)"


def _denies_insecure_transport(statement: iam_documents.Statement, bucket_arn: Any) -> bool:
    if statement.effect != "Deny" or statement.principal not in ("*", {"AWS": "*"}, {"AWS": ["*"]}):
        return False
    if not any(iam_documents.matches(a, "s3:GetObject") for a in statement.actions):
        return False
    secure = {k.lower(): v for k, v in (statement.condition.get("Bool") or {}).items()}
    if str(secure.get("aws:securetransport", "")).lower() != "false":
        return False
    return not known(bucket_arn) or bucket_arn is None or {bucket_arn, f"{bucket_arn}/*"} <= set(statement.resources)


def check_tls_only(resources: list[PolicyResource], _config) -> Iterable[tuple[PolicyResource, str]]:
    for bucket in (r for r in resources if r.resource_type in BUCKET_TYPES):
        policies = linked(resources, bucket, [BUCKET_POLICY])
        documents = []
        for policy in policies:
            try:
                documents.append(iam_documents.parse(get(policy.props, "policy")))
            except iam_documents.MalformedDocument as error:
                yield bucket, f"the policy of {_bucket_label(bucket)} {error}"
        if any(d is UNKNOWN for d in documents):
            continue
        arn = get(bucket.props, "arn")
        if not any(_denies_insecure_transport(s, arn) for statements in documents for s in statements):
            yield bucket, (f"{_bucket_label(bucket)} has no bucket policy statement denying requests without "
                           "TLS (Deny, Principal *, Condition Bool aws:SecureTransport false, on the bucket and "
                           "its objects)")


def check_key_rotation(_type, props: Mapping, _config) -> Iterable[str]:
    spec = get(props, "customerMasterKeySpec", "SYMMETRIC_DEFAULT")
    if spec == "SYMMETRIC_DEFAULT" and get(props, "enableKeyRotation") is not True and \
            known(get(props, "enableKeyRotation")):
        yield "KMS key does not rotate (enableKeyRotation is not true)"


def _key_problems(props: Mapping, prop: str, what: str) -> Iterable[str]:
    key = get(props, prop)
    if key is None:
        yield f"{what} is not encrypted with a customer-managed KMS key ({prop} is not set)"
    elif _aws_managed(key):
        yield f"{what} uses the AWS managed key {key}; expected the stack's customer-managed key"


def _requires_key(prop: str, what: str) -> Callable:
    def check(_type, props: Mapping, _config) -> Iterable[str]:
        yield from _key_problems(props, prop, what)
    return check


def check_glue_security_configuration(_type, props: Mapping, _config) -> Iterable[str]:
    encryption = get(props, "encryptionConfiguration", {})
    if not known(encryption):
        return
    expected = (("s3Encryption", "s3EncryptionMode", "SSE-KMS", "S3 data"),
                ("cloudwatchEncryption", "cloudwatchEncryptionMode", "SSE-KMS", "CloudWatch logs"),
                ("jobBookmarksEncryption", "jobBookmarksEncryptionMode", "CSE-KMS", "job bookmarks"))
    for block, mode_key, mode, what in expected:
        actual = get(encryption, f"{block}.{mode_key}", "DISABLED")
        if known(actual) and actual != mode:
            yield f"security configuration does not encrypt {what}: {block}.{mode_key} is {actual!r}, expected {mode!r}"
        elif get(encryption, f"{block}.kmsKeyArn") is None:
            yield f"security configuration encrypts {what} without a KMS key ({block}.kmsKeyArn)"


# Glue resources that run code or read data, each encrypting what it writes by its security configuration.
GLUE_COMPUTE = {"aws:glue/job:Job": "Glue job", "aws:glue/crawler:Crawler": "Glue crawler",
                "aws:glue/devEndpoint:DevEndpoint": "Glue development endpoint"}


def check_glue_jobs_use_security_configuration(resources: list[PolicyResource], _config):
    configurations = {get(r.props, "name") for r in resources
                      if r.resource_type == "aws:glue/securityConfiguration:SecurityConfiguration"}
    for job in (r for r in resources if r.resource_type in GLUE_COMPUTE):
        what = f"{GLUE_COMPUTE[job.resource_type]} '{job.name}'"
        name = get(job.props, "securityConfiguration")
        if name is None:
            yield job, f"{what} runs without a security configuration"
        elif known(name) and name not in configurations:
            yield job, f"{what} uses security configuration {name!r}, which this stack does not define"


def check_lambda_environment(_type, props: Mapping, _config) -> Iterable[str]:
    variables = get(props, "environment.variables", {})
    if variables and get(props, "kmsKeyArn") is None:
        yield "function has environment variables but no kmsKeyArn: they are encrypted with the AWS managed key"


def check_trail(_type, props: Mapping, _config) -> Iterable[str]:
    yield from _key_problems(props, "kmsKeyId", "trail")
    validation = get(props, "enableLogFileValidation")
    if validation is not True and known(validation):
        yield "trail does not validate its log files (enableLogFileValidation is not true): edits go unnoticed"


def check_glue_connection_ssl(_type, props: Mapping, _config) -> Iterable[str]:
    kind = get(props, "connectionType", "JDBC")
    enforced = get(props, ("connectionProperties", "JDBC_ENFORCE_SSL"), "false")
    if kind == "JDBC" and known(enforced) and str(enforced).lower() != "true":
        yield f"JDBC connection does not enforce SSL (connectionProperties.JDBC_ENFORCE_SSL is {enforced!r})"


CATALOG_ENCRYPTION_MODES = ("SSE-KMS", "SSE-KMS-WITH-SERVICE-ROLE")


def check_data_catalog_encryption(_type, props: Mapping, _config) -> Iterable[str]:
    settings = get(props, "dataCatalogEncryptionSettings", {})
    if not known(settings):
        return
    mode = get(settings, "encryptionAtRest.catalogEncryptionMode", "DISABLED")
    if known(mode) and mode not in CATALOG_ENCRYPTION_MODES:
        yield f"Data Catalog metadata is not encrypted: catalogEncryptionMode is {mode!r}, expected 'SSE-KMS'"
    else:
        yield from _key_problems(settings, "encryptionAtRest.sseAwsKmsKeyId", "Data Catalog")
    returned_encrypted = get(settings, "connectionPasswordEncryption.returnConnectionPasswordEncrypted")
    if returned_encrypted is not True and known(returned_encrypted):
        yield "Glue returns connection passwords in plaintext (returnConnectionPasswordEncrypted is not true)"
    else:
        yield from _key_problems(settings, "connectionPasswordEncryption.awsKmsKeyId", "connection passwords")


def check_state_machine_logging(resources: list[PolicyResource], _config):
    groups = {r.urn: r for r in resources if r.resource_type == LOG_GROUP}
    for machine in (r for r in resources if r.resource_type == "aws:sfn/stateMachine:StateMachine"):
        logging = get(machine.props, "loggingConfiguration")
        if logging is None or get(logging, "level", "OFF") == "OFF":
            yield machine, f"state machine '{machine.name}' does not log its executions"
            continue
        destination = get(logging, "logDestination")
        linked_groups = [groups[d.urn] for d in machine.property_dependencies.get("loggingConfiguration", [])
                         if d.urn in groups]
        if not linked_groups and known(destination):
            linked_groups = [g for g in groups.values() if known(get(g.props, "name")) and destination and
                             f":log-group:{get(g.props, 'name')}:" in f"{destination}:"]
        if not linked_groups:
            yield machine, f"state machine '{machine.name}' logs to a log group this stack does not manage"
        for group in linked_groups:
            if get(group.props, "kmsKeyId") is None:
                yield machine, f"state machine '{machine.name}' logs to unencrypted log group '{group.name}'"


def check_subscription_transport(_type, props: Mapping, _config) -> Iterable[str]:
    protocol, endpoint = get(props, "protocol"), get(props, "endpoint")
    if protocol == "http":
        yield "subscription delivers messages over plain HTTP (protocol 'http'); use 'https'"
    elif isinstance(endpoint, str) and endpoint.lower().startswith("http://"):
        yield f"subscription endpoint {endpoint!r} is plain HTTP; use an https:// endpoint"


KMS_ARN = re.compile(r"^arn:aws[\w-]*:kms:[^:]*:(?P<account>\d{12}):(key|alias)/")
# A property that names a key: kmsKeyId, kmsMasterKeyId, kmsKeyArn, sseAwsKmsKeyId, keyId, awsKmsKeyId …
KEY_PROPERTY = re.compile(r"(?i)(kms|key)")


def _key_arns(props: Any, path: str = "") -> Iterable[tuple[str, str]]:
    """(property path, KMS ARN) of every key a resource's properties name."""
    if isinstance(props, Mapping):
        for name in props:
            yield from _key_arns(get(props, (name,)), f"{path}.{name}" if path else str(name))
    elif isinstance(props, Sequence) and not isinstance(props, str):
        for index in range(len(props)):
            try:
                item = props[index]
            except UnknownValueError:
                continue  # a preview: the key it names is checked at update time
            yield from _key_arns(item, f"{path}[{index}]")
    elif isinstance(props, str) and KMS_ARN.match(props) and KEY_PROPERTY.search(path.rsplit(".", 1)[-1]):
        yield path, props


def check_keys_of_own_account(resources: list[PolicyResource], _config) -> Iterable[tuple[PolicyResource, str]]:
    own = stack_accounts(resources)
    # A preview of new roles and keys waits for the update, when their ARNs are known; a stack without roles or
    # keys has no account of its own to compare with.
    if own is UNKNOWN or not own:
        return
    uses = [(resource, path, arn) for resource in resources if resource.resource_type != "aws:kms/key:Key"
            for path, arn in _key_arns(resource.props)]
    for resource, path, arn in uses:
        account = KMS_ARN.match(arn)["account"]
        if account not in own:
            yield resource, (f"'{resource.name}' {path} is key {arn} of AWS account {account}; the stack's own "
                             f"account is {', '.join(sorted(own))}: that account controls the data")


def _rule(name: str, description: str, remediation: str, severity: Severity = Severity.HIGH) -> Rule:
    return Rule(name=name, description=description, severity=severity, remediation=remediation)


POLICIES = [
    stack_policy(_rule(
        "s3-bucket-sse-kms", "S3 buckets are encrypted with SSE-KMS, a customer-managed key and the bucket key.",
        "Add an aws.s3.BucketServerSideEncryptionConfiguration for the bucket with sse_algorithm 'aws:kms', "
        "kms_master_key_id set to the stack's key ARN and bucket_key_enabled=True (components/secure_bucket.py).",
        Severity.CRITICAL), check_bucket_encryption),
    stack_policy(_rule(
        "s3-bucket-tls-only", "S3 buckets deny every request that does not use TLS.",
        "Attach a bucket policy with a Deny statement for s3:* on the bucket and bucket/* when "
        "aws:SecureTransport is false (components/iam/bucket_policy.py)."), check_tls_only),
    resource_policy(_rule(
        "kms-key-rotation", "Customer-managed KMS keys rotate automatically.",
        "Set enable_key_rotation=True on the aws.kms.Key."), ["aws:kms/key:Key"], check_key_rotation),
    resource_policy(_rule(
        "cloudwatch-log-group-kms", "CloudWatch log groups are encrypted with a customer-managed KMS key.",
        "Set kms_key_id on the aws.cloudwatch.LogGroup to the stack's key ARN, and allow the logs service to use "
        "the key for the group (components/iam/kms_key_policy.py)."), [LOG_GROUP],
        _requires_key("kmsKeyId", "log group")),
    resource_policy(_rule(
        "glue-security-configuration-encryption",
        "Glue security configurations encrypt S3 data (SSE-KMS), CloudWatch logs (SSE-KMS) and job bookmarks "
        "(CSE-KMS) with a KMS key.",
        "Set s3_encryption_mode 'SSE-KMS', cloudwatch_encryption_mode 'SSE-KMS' and job_bookmarks_encryption_mode "
        "'CSE-KMS', each with kms_key_arn, on the aws.glue.SecurityConfiguration."),
        ["aws:glue/securityConfiguration:SecurityConfiguration"], check_glue_security_configuration),
    stack_policy(_rule(
        "glue-job-security-configuration", "Every Glue job, crawler and development endpoint runs with one of the "
        "stack's security configurations.",
        "Set security_configuration on the aws.glue.Job (Crawler, DevEndpoint) to the name of an "
        "aws.glue.SecurityConfiguration of the stack (components/glue_job.py does)."),
        check_glue_jobs_use_security_configuration),
    resource_policy(_rule(
        "secretsmanager-secret-kms", "Secrets Manager secrets are encrypted with a customer-managed KMS key.",
        "Set kms_key_id on the aws.secretsmanager.Secret to the stack's key ARN (not aws/secretsmanager)."),
        ["aws:secretsmanager/secret:Secret"], _requires_key("kmsKeyId", "secret")),
    resource_policy(_rule(
        "sns-subscription-https", "SNS subscriptions deliver over HTTPS, never plain HTTP.",
        "Set protocol 'https' and an https:// endpoint on the aws.sns.TopicSubscription."),
        ["aws:sns/topicSubscription:TopicSubscription"], check_subscription_transport),
    stack_policy(_rule(
        "kms-key-same-account",
        "Every KMS key a resource encrypts with belongs to the stack's own account (read from its roles' and keys' "
        "ARNs): a key of another account puts the data under that account's control.",
        "Use the stack's own key (lake.key_arn); a key of another account is never 'our CMK'.", Severity.CRITICAL),
        check_keys_of_own_account),
    resource_policy(_rule(
        "sns-topic-kms", "SNS topics are encrypted with a customer-managed KMS key.",
        "Set kms_master_key_id on the aws.sns.Topic to the stack's key ARN."), ["aws:sns/topic:Topic"],
        _requires_key("kmsMasterKeyId", "topic")),
    resource_policy(_rule(
        "sqs-queue-kms", "SQS queues (dead-letter queues included) are encrypted with a customer-managed KMS key.",
        "Set kms_master_key_id on the aws.sqs.Queue to the stack's key ARN."), ["aws:sqs/queue:Queue"],
        _requires_key("kmsMasterKeyId", "queue")),
    resource_policy(_rule(
        "lambda-environment-kms", "Lambda environment variables are encrypted with the stack's KMS key.",
        "Set kms_key_arn on the aws.lambda_.Function to the stack's key ARN."), ["aws:lambda/function:Function"],
        check_lambda_environment),
    resource_policy(_rule(
        "scheduler-schedule-kms", "EventBridge Scheduler schedules encrypt their target input with the stack's key.",
        "Set kms_key_arn on the aws.scheduler.Schedule to the stack's key ARN and let the schedule's role "
        "kms:Decrypt with it (components/schedule.py)."), ["aws:scheduler/schedule:Schedule"],
        _requires_key("kmsKeyArn", "schedule")),
    resource_policy(_rule(
        "cloudtrail-encrypted", "CloudTrail trails encrypt their log files with a customer-managed KMS key and "
        "validate them (digest files).",
        "Set kms_key_id to the stack's key ARN (its key policy lets cloudtrail.amazonaws.com GenerateDataKey, "
        "DescribeKey and, for a log bucket with an S3 Bucket Key, Decrypt, for this trail's aws:SourceArn only) and "
        "enable_log_file_validation=True "
        "(components/object_access_audit.py)."), ["aws:cloudtrail/trail:Trail"], check_trail),
    resource_policy(_rule(
        "glue-connection-ssl", "Glue JDBC connections require SSL to the database.",
        "Set connection_properties JDBC_ENFORCE_SSL to 'true' on the aws.glue.Connection (and, for a custom "
        "certificate, CUSTOM_JDBC_CERT)."), ["aws:glue/connection:Connection"], check_glue_connection_ssl),
    resource_policy(_rule(
        "glue-data-catalog-encryption",
        "Where a stack declares the account's Glue Data Catalog encryption settings, metadata is encrypted with "
        "SSE-KMS and a customer-managed key, and connection passwords are returned encrypted with one.",
        "On the aws.glue.DataCatalogEncryptionSettings set encryption_at_rest catalog_encryption_mode 'SSE-KMS' "
        "with sse_aws_kms_key_id, and connection_password_encryption return_connection_password_encrypted=True "
        "with aws_kms_key_id, each a customer-managed key ARN."),
        ["aws:glue/dataCatalogEncryptionSettings:DataCatalogEncryptionSettings"], check_data_catalog_encryption),
    stack_policy(_rule(
        "step-functions-encrypted-logging", "State machines log executions to an encrypted log group of the stack.",
        "Set logging_configuration (level ALL, ERROR or FATAL) with log_destination '<log group ARN>:*' of an "
        "aws.cloudwatch.LogGroup with kms_key_id (components/pipeline.py)."), check_state_machine_logging),
]
