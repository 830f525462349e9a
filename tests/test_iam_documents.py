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
from components.iam.table_maintenance_policy import TableMaintenancePolicyInputs, table_maintenance_policy
from tests.conftest import STACK_JOB_IDS, STACK_JOBS
from tests.iam_access import allows

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


GLUE = "arn:aws:glue:eu-west-1:123456789012"
OWN_TABLE = [f"{GLUE}:catalog", f"{GLUE}:database/data_pipeline_dev", f"{GLUE}:table/data_pipeline_dev/orders"]
MAINTENANCE = TableMaintenancePolicyInputs(
    partition="aws", region="eu-west-1", account_id="123456789012", job="orders", database="data_pipeline_dev",
    table="orders", curated_bucket_arn="arn:aws:s3:::dp-curated", key_arn=INPUTS.key_arn)


@pytest.mark.parametrize("health_check_only", [False, True], ids=["stack", "check-stack"])
def test_glue_job_may_commit_to_its_own_table_and_create_or_drop_none(health_check_only):
    """Iceberg's Glue catalog loads the table and swaps its metadata location: exactly these three actions, on the
    job's own table (health checks branch from it on the check stack too); `default` is only looked up."""
    document = glue_job_policy(dataclasses.replace(INPUTS, health_check_only=health_check_only))
    glue = {s["Sid"]: (s["Action"], s["Resource"]) for s in document["Statement"]
            if any(a.startswith("glue:") for a in s["Action"])}
    assert glue == {
        "CommitToOwnTable": (["glue:GetDatabase", "glue:GetTable", "glue:UpdateTable"], OWN_TABLE),
        "LookUpDefaultDatabase": (["glue:GetDatabase"], [f"{GLUE}:catalog", f"{GLUE}:database/default"]),
    }
    assert not allows([document], "glue:UpdateTable", f"{GLUE}:table/data_pipeline_dev/customers")
    assert not allows([document], "glue:CreateTable", OWN_TABLE[2])
    assert not allows([document], "glue:DeleteTable", OWN_TABLE[2])


def test_glue_job_reaches_its_prefix_and_health_folder_and_nothing_else():
    """A stack's job reads its input and health checks' input, writes its table, output and health checks'
    output; never another job's."""
    document = glue_job_policy(INPUTS)
    for path in ("orders/2026/11/01/batch.jsonl", "_health/orders/r1/orders.jsonl"):
        assert allows([document], "s3:GetObject", f"{INPUTS.raw_bucket_arn}/{path}"), path
        assert not allows([document], "s3:PutObject", f"{INPUTS.raw_bucket_arn}/{path}"), path
    for path in ("orders/table/data/order_date=2026-11-01/00000-1.parquet", "orders/table/metadata/v2.metadata.json",
                 "orders/_dq/run_id=jr_1/result.json", "_health/orders/r1/_dq/run_id=jr_2/result.json"):
        for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
            assert allows([document], action, f"{INPUTS.curated_bucket_arn}/{path}"), (action, path)
    for prefix in ("orders/table/metadata/", "_health/orders/r1/"):
        assert allows([document], "s3:ListBucket", INPUTS.curated_bucket_arn, {"s3:prefix": prefix}), prefix
    for other in ("customers/table/metadata/v1.metadata.json", "_health/customers/r1/x", "_health/x"):
        for bucket in (INPUTS.raw_bucket_arn, INPUTS.curated_bucket_arn):
            assert not allows([document], "s3:GetObject", f"{bucket}/{other}"), other
        assert not allows([document], "s3:ListBucket", INPUTS.curated_bucket_arn, {"s3:prefix": other})


def test_check_stack_job_reaches_its_health_folder_and_table_only():
    """On the fast PR check's stack the job reads only health-check input; it writes its health-check output and
    the table's files (health checks commit to a branch that is dropped), never the job's scheduled data."""
    document = glue_job_policy(dataclasses.replace(INPUTS, health_check_only=True))
    assert allows([document], "s3:GetObject", f"{INPUTS.raw_bucket_arn}/_health/orders/pr7-1/orders.jsonl")
    assert not allows([document], "s3:GetObject", f"{INPUTS.raw_bucket_arn}/orders/2026/batch.jsonl")
    assert not allows([document], "s3:GetObject", f"{INPUTS.raw_bucket_arn}/orders/table/x")
    for path in ("orders/table/data/00000-1.parquet", "_health/orders/pr7-1/_dq/run_id=jr_1/result.json"):
        assert allows([document], "s3:PutObject", f"{INPUTS.curated_bucket_arn}/{path}"), path
    for path in ("orders/_dq/run_id=jr_1/result.json", "orders/quarantine/run_id=jr_1/part-0.parquet"):
        assert not allows([document], "s3:PutObject", f"{INPUTS.curated_bucket_arn}/{path}"), path
    assert allows([document], "s3:ListBucket", INPUTS.curated_bucket_arn, {"s3:prefix": "orders/table/metadata/"})
    assert not allows([document], "s3:ListBucket", INPUTS.raw_bucket_arn, {"s3:prefix": "orders/"})


def test_table_maintenance_role_rewrites_its_table_only():
    """What AWS documents for the table optimizers, each resource narrowed to the one table, its prefix and key."""
    document = table_maintenance_policy(MAINTENANCE)
    assert findings(document) == []
    assert [(s["Sid"], s["Action"], s["Resource"]) for s in document["Statement"]] == [
        ("ListTableFiles", ["s3:ListBucket"], ["arn:aws:s3:::dp-curated"]),
        ("RewriteTableFiles", ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
         ["arn:aws:s3:::dp-curated/orders/table/*"]),
        ("UseStackKey", ["kms:Decrypt", "kms:GenerateDataKey"], [INPUTS.key_arn]),
        ("CommitTableMetadata", ["glue:GetTable", "glue:UpdateTable"], OWN_TABLE),
        ("WriteOptimizerLogs", ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
         [f"arn:aws:logs:eu-west-1:123456789012:log-group:/aws-glue/iceberg-{kind}/logs:*"
          for kind in ("compaction", "retention", "orphan-file-deletion")]),
    ]
    assert allows([document], "s3:ListBucket", MAINTENANCE.curated_bucket_arn, {"s3:prefix": "orders/table/data/"})
    assert not allows([document], "s3:ListBucket", MAINTENANCE.curated_bucket_arn, {"s3:prefix": "orders/_dq/"})
    assert not allows([document], "s3:DeleteObject", "arn:aws:s3:::dp-curated/orders/_dq/run_id=jr_1/result.json")


@pytest.mark.tier("program")
@pytest.mark.parametrize(("stack", "job"), STACK_JOBS, ids=STACK_JOB_IDS)
def test_every_deployed_table_maintenance_policy_has_no_parliament_findings(evaluations, stack, job):
    policy = evaluations.stack(stack).one("aws:iam/rolePolicy:RolePolicy", f"{job}-maintenance-policy")
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
