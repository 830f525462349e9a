"""Object-level access audit: a KMS-encrypted CloudTrail trail of S3 data events for the lake's buckets, where a
stack's config asks for it (required in prod), delivering to its own bucket that only this trail may write to."""

from __future__ import annotations

import json

import pytest

from automation.profile import pull_request
from automation.profile import stack_config as pr_stack_config
from harness.program import ACCOUNT_ID
from settings.naming import ZONES
from settings.parse import parse_settings
from settings.validation import ConfigError
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
    trails = run.of_type(TRAIL, allow_empty=not config[P + "objectAccessAudit"])
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
    assert len(run.of_type(TRAIL, allow_empty=True)) == config[P + "objectAccessAudit"]
    for trail in run.of_type(TRAIL, allow_empty=True):
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


LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
METRIC_FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def audit_log_group(run, stack):
    return [g for g in run.of_type(LOG_GROUP) if g.inputs["name"] == f"/data-pipeline/{stack}/cloudtrail/object-access"]


def test_trail_feeds_an_encrypted_log_group_kept_as_long_as_the_stacks_logs(shipped):
    """CKV2_AWS_10: the trail is integrated with CloudWatch Logs, through a role only CloudTrail of this account
    assumes, that may only write this group's streams, capped by the stack's boundary."""
    stack, config, run = shipped
    groups = audit_log_group(run, stack)
    if not config[P + "objectAccessAudit"]:
        assert groups == [] and run.of_type(METRIC_FILTER, allow_empty=True) == []
        return
    (group,), (trail,), (key,) = groups, run.of_type(TRAIL), run.of_type("aws:kms/key:Key")
    assert group.inputs["kmsKeyId"] == key.outputs["arn"]
    assert group.inputs["retentionInDays"] == config[P + "logRetentionDays"]
    (role,) = [r for r in run.of_type("aws:iam/role:Role") if r.name == "lake-object-access-log-delivery-role"]
    assert trail.inputs["cloudWatchLogsGroupArn"] == f"{group.outputs['arn']}:*"
    assert trail.inputs["cloudWatchLogsRoleArn"] == role.outputs["arn"]
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == CLOUDTRAIL
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}}
    # The boundary every role of the stack carries (the bootstrap lets its deployer create no other).
    boundary = role.inputs["permissionsBoundary"]
    assert boundary and {r.inputs["permissionsBoundary"] for r in run.of_type("aws:iam/role:Role")} == {boundary}
    (policy,) = [p for p in run.of_type("aws:iam/rolePolicy:RolePolicy")
                 if p.name == "lake-object-access-log-delivery-policy"]
    (deliver,) = json.loads(policy.inputs["policy"])["Statement"]
    assert deliver["Effect"] == "Allow" and deliver["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert deliver["Resource"] == [f"{group.outputs['arn']}:log-stream:*"]
    # CloudTrail checks that the role may write to the group when the trail is created.
    assert policy.urn in trail.dependencies


def test_unexpected_curated_deletes_and_bursts_of_denials_alarm_to_the_alert_topic(shipped):
    stack, config, run = shipped
    alarms = {a.inputs["name"]: a for a in run.of_type(ALARM) if "-object-access-" in a.inputs["name"]}
    if not config[P + "objectAccessAudit"]:
        assert alarms == {}
        return
    (group,) = audit_log_group(run, stack)
    filters = {f.inputs["name"]: f for f in run.of_type(METRIC_FILTER)}
    prefix = f"data-pipeline-{stack}"
    assert set(filters) == {f"{prefix}-curated-deletes", f"{prefix}-access-denied"}
    assert set(alarms) == {f"{prefix}-object-access-curated-deletes", f"{prefix}-object-access-access-denied"}
    (topic,) = run.of_type("aws:sns/topic:Topic")
    curated = run.one(BUCKET, "lake-curated").outputs["bucket"]
    deletes = filters[f"{prefix}-curated-deletes"].inputs["pattern"]
    assert f'$.requestParameters.bucketName = "{curated}"' in deletes
    assert '$.eventName = "DeleteObject" || $.eventName = "DeleteObjects"' in deletes
    # The pipeline's own roles delete there by design: every other identity raises the alarm.
    roles = f"arn:aws:iam::{ACCOUNT_ID}:role/data-pipeline/{stack}/*"
    assert f'($.userIdentity.type != "AssumedRole" || $.userIdentity.sessionContext.sessionIssuer.arn != "{roles}")' \
        in deletes
    assert '$.errorCode = "AccessDenied"' in filters[f"{prefix}-access-denied"].inputs["pattern"]
    for logical, threshold in (("curated-deletes", 1), ("access-denied", 10)):
        metric_filter, alarm = filters[f"{prefix}-{logical}"], alarms[f"{prefix}-object-access-{logical}"]
        assert metric_filter.inputs["logGroupName"] == group.outputs["name"]
        transformation = metric_filter.inputs["metricTransformation"]
        assert (alarm.inputs["namespace"], alarm.inputs["metricName"]) == (transformation["namespace"],
                                                                             transformation["name"])
        assert alarm.inputs["statistic"] == "Sum" and alarm.inputs["threshold"] == threshold
        assert alarm.inputs["period"] == config[P + "alarmPeriodSeconds"]
        assert alarm.inputs["evaluationPeriods"] == config[P + "alarmEvaluationPeriods"]
        assert alarm.inputs["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm.inputs["alarmActions"] == [topic.outputs["arn"]] == alarm.inputs["okActions"]
