"""Object-level access audit: a KMS-encrypted CloudTrail trail of S3 data events for the lake's buckets, where a
stack's config asks for it (required in prod), delivering to its own bucket that only this trail may write to."""

from __future__ import annotations

import json

import pytest

from automation.profile import pull_request
from automation.profile import stack_config as pr_stack_config
from components.config import ConfigError, parse_settings
from components.data_lake import ZONES
from harness.program import ACCOUNT_ID
from stack_files import ROOT, project_defaults, stack_config
from tests.test_config import JOBS_DIR, raw_config

pytestmark = pytest.mark.tier("program")

P = "data-pipeline:"
TRAIL = "aws:cloudtrail/trail:Trail"
BUCKET = "aws:s3/bucket:Bucket"
CLOUDTRAIL = {"Service": "cloudtrail.amazonaws.com"}


def statements(resource) -> dict[str, dict]:
    return {s["Sid"]: s for s in json.loads(resource.inputs["policy"])["Statement"]}


def test_trail_records_every_object_access_in_the_lake_encrypted_and_validated(shipped):
    stack, config, run = shipped
    trails = run.of_type(TRAIL)
    (key,) = run.of_type("aws:kms/key:Key")
    key_statements = statements(key)
    if not config[P + "objectAccessAudit"]:
        assert trails == [] and "UseByThisStacksTrail" not in key_statements
        assert {b.name for b in run.of_type(BUCKET)} == {f"lake-{zone}" for zone in ZONES}
        return
    (trail,) = trails
    lake = {b.outputs["arn"] for b in run.of_type(BUCKET) if b.name in {f"lake-{zone}" for zone in ZONES}}
    (log_bucket,) = [b for b in run.of_type(BUCKET) if b.name == "lake-object-access-logs"]
    assert trail.inputs["name"] == f"data-pipeline-{stack}-object-access"
    assert trail.inputs["kmsKeyId"] == key.outputs["arn"] and trail.inputs["enableLogFileValidation"] is True
    assert trail.inputs["s3BucketName"] == log_bucket.outputs["bucket"]
    (selector,) = trail.inputs["advancedEventSelectors"]
    fields = {f["field"]: f for f in selector["fieldSelectors"]}
    assert fields["eventCategory"]["equals"] == ["Data"] and fields["resources.type"]["equals"] == ["AWS::S3::Object"]
    # Every read, write and delete (no readOnly filter) of every lake bucket, and never the log bucket itself.
    assert set(fields) == {"eventCategory", "resources.type", "resources.ARN"}
    assert fields["resources.ARN"]["startsWiths"] == sorted(f"{arn}/" for arn in lake)

    trail_arn = trail.outputs["arn"]
    assert key_statements["UseByThisStacksTrail"]["Principal"] == CLOUDTRAIL
    assert key_statements["UseByThisStacksTrail"]["Condition"] == {"StringEquals": {"aws:SourceArn": trail_arn}}
    (policy,) = [p for p in run.of_type("aws:s3/bucketPolicy:BucketPolicy") if p.inputs["bucket"] ==
                 log_bucket.outputs["bucket"]]
    bucket_statements = statements(policy)
    write = bucket_statements["TrailWritesLogFiles"]
    assert write["Principal"] == CLOUDTRAIL and write["Action"] == ["s3:PutObject"]
    assert write["Resource"] == [f"{log_bucket.outputs['arn']}/AWSLogs/{ACCOUNT_ID}/*"]
    assert write["Condition"]["StringEquals"]["aws:SourceArn"] == trail_arn
    assert bucket_statements["TrailChecksBucketAcl"]["Condition"] == {"StringEquals": {"aws:SourceArn": trail_arn}}
    assert log_bucket.protect == config[P + "protectData"]


def test_the_trail_waits_for_the_bucket_policy_it_is_checked_against(shipped):
    _, config, run = shipped
    assert len(run.of_type(TRAIL)) == config[P + "objectAccessAudit"]
    for trail in run.of_type(TRAIL):
        (policy,) = [p for p in run.of_type("aws:s3/bucketPolicy:BucketPolicy")
                     if p.name == "lake-object-access-logs-tls-only"]
        assert policy.urn in trail.dependencies


def test_audit_log_expires_with_the_stacks_logs(shipped):
    _, config, run = shipped
    rule_sets = [r for r in run.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
                 if r.name == "lake-object-access-logs-lifecycle"]
    assert len(rule_sets) == config[P + "objectAccessAudit"]
    for rule_set in rule_sets:
        (rule,) = rule_set.inputs["rules"]
        assert rule["expiration"]["days"] == config[P + "logRetentionDays"]


@pytest.mark.tier("unit")
def test_prod_must_audit_object_access():
    with pytest.raises(ConfigError, match="objectAccessAudit = false: must be true on stack 'prod'"):
        parse_settings("prod", raw_config("prod", objectAccessAudit=False), JOBS_DIR)
    with pytest.raises(ConfigError, match="objectAccessAudit = 'sometimes': must be true or false"):
        parse_settings("dev", raw_config("dev", objectAccessAudit="sometimes"), JOBS_DIR)
    assert parse_settings("qa", raw_config("qa", objectAccessAudit="false"), JOBS_DIR).object_access_audit is False


@pytest.mark.tier("unit")
def test_pr_stacks_and_dev_do_not_audit_and_the_project_default_does():
    pr = {**project_defaults(), **pr_stack_config(pull_request(7, "0123abc", "octocat"))}
    assert pr[P + "objectAccessAudit"] == "false"  # as the Automation API sets it
    assert stack_config("dev")[P + "objectAccessAudit"] is False
    assert project_defaults(ROOT)[P + "objectAccessAudit"] is True
