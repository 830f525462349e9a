"""IAM documents as data: valid to parliament (real IAM actions and resource types) and scoped as intended."""

from __future__ import annotations

import dataclasses
import json

import pytest
from parliament import analyze_policy_string

from components.iam.bucket_policy import cloudtrail_delivery_statements, tls_only_bucket_policy
from components.iam.documents import service_trust_policy
from components.iam.glue_job_policy import GlueJobPolicyInputs, glue_job_policy
from components.iam.kms_key_policy import KEY_ADMIN_ACTIONS, KEY_USE_ACTIONS, kms_key_policy
from tests.conftest import STACK_JOB_IDS, STACK_JOBS

pytestmark = pytest.mark.tier("unit")

INPUTS = GlueJobPolicyInputs(
    partition="aws", region="eu-west-1", account_id="123456789012", job="orders",
    key_arn="arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    artifacts_bucket_arn="arn:aws:s3:::dp-artifacts", raw_bucket_arn="arn:aws:s3:::dp-raw",
    curated_bucket_arn="arn:aws:s3:::dp-curated", temp_bucket_arn="arn:aws:s3:::dp-temp",
    log_group_arns=("arn:aws:logs:eu-west-1:123456789012:log-group:/data-pipeline/dev/glue/orders/output",),
    database="data_pipeline_dev", table="orders", health_check_only=False,
)

TRAIL_ARN = "arn:aws:cloudtrail:eu-west-1:123456789012:trail/data-pipeline-dev-object-access"


def findings(document: dict) -> list[str]:
    return [f"{f.issue}: {f.detail}" for f in analyze_policy_string(json.dumps(document)).findings]


@pytest.mark.parametrize("health_check_only", [False, True], ids=["stack", "check-stack"])
def test_glue_job_policy_has_no_parliament_findings(health_check_only):
    assert findings(glue_job_policy(dataclasses.replace(INPUTS, health_check_only=health_check_only))) == []


@pytest.mark.tier("program")
@pytest.mark.parametrize(("stack", "job"), STACK_JOBS, ids=STACK_JOB_IDS)
def test_every_deployed_glue_job_policy_has_no_parliament_findings(evaluations, stack, job):
    policy = evaluations.stack(stack).one("aws:iam/rolePolicy:RolePolicy", f"{job}-policy")
    assert findings(json.loads(policy.inputs["policy"])) == []


def test_parliament_does_flag_a_broad_policy():
    """The validator is live: the same check fails on an over-broad document."""
    broad = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    assert findings(broad)


def test_kms_actions_are_real_and_administration_cannot_read_data():
    assert (set(KEY_ADMIN_ACTIONS) & set(KEY_USE_ACTIONS)) == {"kms:DescribeKey"}
    # In a key policy "*" means this key (and its aliases), so parliament sees the actions as they are used.
    document = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": sorted(set(KEY_ADMIN_ACTIONS) | set(KEY_USE_ACTIONS)), "Resource": "*"}]}
    assert [f for f in findings(document) if not f.startswith("RESOURCE_STAR")] == []


def test_key_policy_never_grants_use_without_a_condition():
    policy = kms_key_policy(partition="aws", region="eu-west-1", account_id="123456789012",
                            role_arn_pattern="arn:aws:iam::123456789012:role/data-pipeline/dev/*",
                            log_group_arn_pattern="arn:aws:logs:eu-west-1:123456789012:log-group:/data-pipeline/dev/*",
                            trail_arn=TRAIL_ARN)
    assert "UseByThisStacksTrail" in {s["Sid"] for s in policy["Statement"]}
    for statement in policy["Statement"]:
        if set(statement["Action"]) & {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"}:
            assert statement.get("Condition"), statement["Sid"]


@pytest.mark.parametrize("document", [
    tls_only_bucket_policy("arn:aws:s3:::dp-raw"),
    tls_only_bucket_policy("arn:aws:s3:::dp-audit", cloudtrail_delivery_statements(
        bucket_arn="arn:aws:s3:::dp-audit", trail_arn=TRAIL_ARN, account_id="123456789012")),
    service_trust_policy("glue.amazonaws.com", "123456789012"),
])
def test_documents_are_well_formed(document):
    assert document["Version"] == "2012-10-17"
    assert all({"Effect", "Action"} <= set(s) for s in document["Statement"])
