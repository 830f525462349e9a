"""Each Lambda handler against a real moto server: the happy path, malformed events, missing objects."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from functions.cleanup import handler as cleanup
from functions.job_monitor import contract
from functions.job_monitor import handler as job_monitor
from functions.quality_gate import handler as quality_gate
from functions.shared import clients
from functions.shared.events import ConfigurationError, MalformedEvent
from functions.validate_input import handler as validate_input
from jobs.common.outputs import OutputPaths
from tests.aws_server import REGION

pytestmark = pytest.mark.tier("aws")


@pytest.fixture(autouse=True)
def new_container():
    """Each test is a fresh Lambda container: no client of an earlier test's environment is reused."""
    clients.client.cache_clear()


def new_bucket(s3) -> str:
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


# --- validate_input -----------------------------------------------------------------------------------------

@pytest.fixture
def raw(aws, monkeypatch):
    s3 = aws("s3")
    raw_bucket, curated_bucket = new_bucket(s3), new_bucket(s3)
    # As the stack sets it: every job it deploys, each with its own prefixes.
    monkeypatch.setenv("JOBS", json.dumps({job: {"source": f"s3://{raw_bucket}/{job}/",
                                                 "target": f"s3://{curated_bucket}/{job}/",
                                                 "health_source": f"s3://{raw_bucket}/_health/{job}/",
                                                 "health_target": f"s3://{curated_bucket}/_health/{job}/"}
                                           for job in ("customers", "orders")}))
    monkeypatch.setenv("MAX_OBJECT_BYTES", "1000")
    return s3, raw_bucket, curated_bucket


def test_validate_input_returns_the_run_and_its_manifest(raw, lambda_context):
    s3, raw_bucket, curated_bucket = raw
    s3.put_object(Bucket=raw_bucket, Key="orders/2026-11-23/a.jsonl", Body=b'{"a": 1}\n')
    s3.put_object(Bucket=raw_bucket, Key="orders/2026-11-23/b.jsonl", Body=b'{"b": 2}\n')
    s3.put_object(Bucket=raw_bucket, Key="orders/other/c.jsonl", Body=b"{}\n")
    run = validate_input.handler({"job": "orders", "input": {
        "source_path": f"s3://{raw_bucket}/orders/2026-11-23/"}}, lambda_context)
    assert run == {
        "job": "orders", "source_path": f"s3://{raw_bucket}/orders/2026-11-23/",
        "target_path": f"s3://{curated_bucket}/orders/", "health_check": "false",
        "bookmark_option": "job-bookmark-enable",
        "manifest": {"object_count": 2, "total_bytes": 18,
                     "keys": ["orders/2026-11-23/a.jsonl", "orders/2026-11-23/b.jsonl"]},
    }


def test_validate_input_defaults_to_the_jobs_whole_prefix(raw, lambda_context):
    s3, raw_bucket, _ = raw
    s3.put_object(Bucket=raw_bucket, Key="orders/x.jsonl", Body=b"{}\n")
    run = validate_input.handler({"job": "orders"}, lambda_context)
    assert run["source_path"] == f"s3://{raw_bucket}/orders/" and run["health_check"] == "false"


def test_a_health_check_runs_in_the_health_folders_with_bookmarks_disabled(raw, lambda_context):
    s3, raw_bucket, curated_bucket = raw
    s3.put_object(Bucket=raw_bucket, Key="orders/x.jsonl", Body=b"{}\n")  # production input: not the check's
    s3.put_object(Bucket=raw_bucket, Key="_health/orders/run1/sample.jsonl", Body=b"{}\n")
    run = validate_input.handler({"job": "orders", "input": {
        "source_path": f"s3://{raw_bucket}/_health/orders/run1/",
        "target_path": f"s3://{curated_bucket}/_health/orders/run1/", "health_check": True}}, lambda_context)
    assert (run["health_check"], run["bookmark_option"]) == ("true", "job-bookmark-disable")
    assert run["manifest"]["keys"] == ["_health/orders/run1/sample.jsonl"]
    defaulted = validate_input.handler({"job": "orders", "input": {"health_check": True}}, lambda_context)
    assert (defaulted["source_path"], defaulted["target_path"]) == (
        f"s3://{raw_bucket}/_health/orders/", f"s3://{curated_bucket}/_health/orders/")


@pytest.mark.parametrize(("paths", "message"), [
    ({"source_path": "s3://{raw}/orders/"}, "source_path 's3://{raw}/orders/' is outside the job's health-check "
                                           "prefix 's3://{raw}/_health/orders/'"),
    ({"target_path": "s3://{curated}/orders/"}, "target_path 's3://{curated}/orders/' is outside the job's "
                                                "health-check prefix 's3://{curated}/_health/orders/'"),
    ({"source_path": "s3://{raw}/_health/customers/"}, "is outside the job's health-check prefix"),
])
def test_a_health_check_pointed_at_production_data_is_refused(raw, lambda_context, paths, message):
    s3, raw_bucket, curated_bucket = raw
    s3.put_object(Bucket=raw_bucket, Key="orders/x.jsonl", Body=b"{}\n")
    run_input = {key: value.format(raw=raw_bucket, curated=curated_bucket) for key, value in paths.items()}
    with pytest.raises(validate_input.InputValidationFailed) as refused:
        validate_input.handler({"job": "orders", "input": {**run_input, "health_check": True}}, lambda_context)
    assert message.format(raw=raw_bucket, curated=curated_bucket) in str(refused.value)


@pytest.mark.parametrize(("objects", "message"), [
    ({}, "no input objects under"),
    ({"orders/empty.jsonl": b""}, "1 empty input object(s), e.g. s3://"),
    ({"orders/big.jsonl": b"x" * 1001}, "1 input object(s) larger than 1000 bytes"),
])
def test_validate_input_rejects_missing_empty_and_oversized_input(raw, lambda_context, objects, message):
    s3, raw_bucket, _ = raw
    for key, body in objects.items():
        s3.put_object(Bucket=raw_bucket, Key=key, Body=body)
    with pytest.raises(validate_input.InputValidationFailed, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate_input.handler({"job": "orders"}, lambda_context)


@pytest.mark.parametrize(("event", "error", "message"), [
    ({}, MalformedEvent, "event field 'job' is missing; expected a string"),
    ({"job": 7}, MalformedEvent, "event field 'job' = 7: expected a string"),
    ({"job": "returns"}, validate_input.InputValidationFailed, "job 'returns' is not deployed in this stack"),
    ({"job": "orders", "input": "s3://x"}, MalformedEvent, "event field 'input' = 's3://x': expected an object"),
    ({"job": "orders", "input": {"health_check": "yes"}}, MalformedEvent,
     "event field 'input.health_check' = 'yes': expected true or false"),
    ({"job": "orders", "input": {"source_path": "s3://elsewhere/orders/"}}, validate_input.InputValidationFailed,
     "outside the job's prefix"),
    ({"job": "orders", "input": {"target_path": "s3://elsewhere/x/"}}, validate_input.InputValidationFailed,
     "target_path 's3://elsewhere/x/' is outside"),
])
def test_validate_input_rejects_malformed_events(raw, lambda_context, event, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(")):
        validate_input.handler(event, lambda_context)


@pytest.mark.parametrize("other", ["customers/", "_health/orders/"])
def test_a_job_may_not_read_or_write_another_jobs_prefix(raw, lambda_context, other):
    """Nor may a scheduled run read its own health-check folder."""
    s3, raw_bucket, curated_bucket = raw
    for prefix in ("customers/", other):
        s3.put_object(Bucket=raw_bucket, Key=f"{prefix}2026-11-23/a.jsonl", Body=b"{}\n")
    with pytest.raises(validate_input.InputValidationFailed, match="outside the job's prefix"):
        validate_input.handler({"job": "orders", "input": {"source_path": f"s3://{raw_bucket}/{other}"}},
                               lambda_context)
    with pytest.raises(validate_input.InputValidationFailed, match="is outside"):
        validate_input.handler({"job": "customers", "input": {"target_path": f"s3://{curated_bucket}/orders/"}},
                               lambda_context)
    assert validate_input.handler({"job": "customers"}, lambda_context)["target_path"] == (
        f"s3://{curated_bucket}/customers/")


def test_a_missing_setting_is_a_configuration_error(raw, lambda_context, monkeypatch):
    monkeypatch.delenv("JOBS")
    with pytest.raises(ConfigurationError, match="environment variable JOBS is not set"):
        validate_input.handler({"job": "orders"}, lambda_context)


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("MAX_OBJECT_BYTES", "1 GB", "environment variable MAX_OBJECT_BYTES = '1 GB': expected an integer"),
    ("MAX_OBJECT_BYTES", "0", "environment variable MAX_OBJECT_BYTES = '0': expected a number greater than 0"),
    ("JOBS", "orders", "environment variable JOBS = 'orders': expected valid JSON"),
    ("JOBS", '{"orders": {"source": "s3://raw/orders/"}}',
     r"environment variable JOBS\['orders'\]\['target'\] is missing; expected a string"),
    ("JOBS", '{"orders": {"source": "s3://r/orders/", "target": "s3://c/orders/", "health_target": "s3://c/_h/"}}',
     r"environment variable JOBS\['orders'\]\['health_source'\] is missing; expected a string"),
])
def test_every_bad_setting_is_a_configuration_error_naming_it(raw, lambda_context, monkeypatch, variable, value,
                                                              message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=message):
        validate_input.handler({"job": "orders"}, lambda_context)


def test_a_container_creates_each_client_once(raw, lambda_context, monkeypatch):
    s3, raw_bucket, _ = raw
    s3.put_object(Bucket=raw_bucket, Key="orders/x.jsonl", Body=b"{}\n")
    created, create = [], clients.boto3.client
    monkeypatch.setattr(clients.boto3, "client", lambda service, **options: created.append(service) or create(
        service, **options))
    for _ in range(3):
        validate_input.handler({"job": "orders"}, lambda_context)
    assert created == ["s3"]


# --- quality_gate --------------------------------------------------------------------------------------------

@pytest.fixture
def curated(aws, monkeypatch):
    s3 = aws("s3")
    bucket = new_bucket(s3)
    monkeypatch.setenv("CURATED_BUCKET", bucket)
    return s3, bucket


def put_result(s3, bucket: str, run_id: str, body) -> None:
    path = OutputPaths.of(f"s3://{bucket}/orders/", run_id).quality_result
    s3.put_object(Bucket=bucket, Key=path.removeprefix(f"s3://{bucket}/"),
                  Body=body if isinstance(body, bytes) else json.dumps(body).encode())


def test_quality_gate_reads_where_the_runner_writes(curated):
    _, bucket = curated
    expected = OutputPaths.of(f"s3://{bucket}/orders/", "jr_1").quality_result
    assert "s3://{}/{}".format(*quality_gate.result_location(f"s3://{bucket}/orders/", "jr_1")) == expected


def test_quality_gate_passes_a_passing_result(curated, lambda_context):
    s3, bucket = curated
    put_result(s3, bucket, "jr_1", {"passed": True, "curated_rows": 128, "quarantined_rows": 10,
                                    "checks": [{"name": "row_count", "passed": True}]})
    summary = quality_gate.handler({"target_path": f"s3://{bucket}/orders/", "job_run_id": "jr_1"}, lambda_context)
    assert summary == {"passed": True, "curated_rows": 128, "quarantined_rows": 10, "checks": 1}


def test_quality_gate_fails_with_every_failed_check(curated, lambda_context):
    s3, bucket = curated
    put_result(s3, bucket, "jr_2", {"checks": [
        {"name": "row_count", "passed": True},
        {"name": "quarantine_ratio", "passed": False, "observed": 0.3, "expected": "<= 0.1"},
        {"name": "unique_key", "passed": False, "observed": 2, "expected": "0 duplicate keys"}]})
    with pytest.raises(quality_gate.QualityGateFailed,
                       match=r"2 data-quality check\(s\) failed: quarantine_ratio: observed 0.3, expected <= 0.1; "
                             r"unique_key: observed 2"):
        quality_gate.handler({"target_path": f"s3://{bucket}/orders/", "job_run_id": "jr_2"}, lambda_context)


def test_quality_gate_reports_a_missing_or_broken_result(curated, lambda_context):
    s3, bucket = curated
    event = {"target_path": f"s3://{bucket}/orders/", "job_run_id": "jr_none"}
    with pytest.raises(quality_gate.QualityResultMissing, match="no data-quality result at s3://.*jr_none"):
        quality_gate.handler(event, lambda_context)
    put_result(s3, bucket, "jr_bad", b"{not json")
    with pytest.raises(quality_gate.QualityGateFailed, match="is not JSON"):
        quality_gate.handler({**event, "job_run_id": "jr_bad"}, lambda_context)


@pytest.mark.parametrize(("event", "message"), [
    ({"job_run_id": "jr_1"}, "event field 'target_path' is missing"),
    ({"target_path": "bucket/orders/", "job_run_id": "jr_1"}, "target_path = 'bucket/orders/': expected s3://"),
    ({"target_path": "s3://someone-elses/orders/", "job_run_id": "jr_1"}, "is not this stack's curated bucket"),
])
def test_quality_gate_rejects_malformed_events(curated, lambda_context, event, message):
    with pytest.raises(MalformedEvent, match=message):
        quality_gate.handler(event, lambda_context)


# --- job_monitor ---------------------------------------------------------------------------------------------

def glue_event(state: str, job: str = "data-pipeline-dev-orders") -> dict:
    return {"version": "0", "id": "e1", "detail-type": "Glue Job State Change", "source": "aws.glue",
            "account": "000000000000", "time": "2026-11-23T03:00:00Z", "region": REGION, "resources": [],
            "detail": {"jobName": job, "severity": "ERROR", "state": state, "jobRunId": "jr_42",
                       "message": "Command failed with exit code 1"}}


@pytest.fixture
def topic(aws, monkeypatch):
    sns, sqs = aws("sns"), aws("sqs")
    topic_arn = sns.create_topic(Name=f"alerts-{uuid.uuid4().hex[:8]}")["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"inbox-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setenv("TOPIC_ARN", topic_arn)
    monkeypatch.setenv("STACK", "data-pipeline-dev")
    monkeypatch.setenv("JOB_NAMES", json.dumps(["data-pipeline-dev-orders"]))

    def received() -> list[dict]:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]
    return received


@pytest.mark.parametrize("state", ["FAILED", "TIMEOUT", "STOPPED"])
def test_job_monitor_notifies_bad_endings_and_counts_them(topic, lambda_context, capsys, state):
    result = job_monitor.handler(glue_event(state), lambda_context)
    assert result["action"] == "notified"
    (message,) = topic()
    assert message["Subject"] == f"[data-pipeline-dev] Glue job data-pipeline-dev-orders {state}"
    assert "Run: jr_42" in message["Message"] and "Command failed with exit code 1" in message["Message"]
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert emf and emf[-1][job_monitor.METRIC_NAMES[state]] == [1.0]
    assert emf[-1]["job"] == "data-pipeline-dev-orders"


def test_job_monitor_docstring_states_the_metric_contract():
    """The handler's docstring is what an operator reads: it names each metric and the states counted under it."""
    doc = " ".join(job_monitor.__doc__.split())
    for state, metric in contract.METRIC_NAMES.items():
        assert state in doc and f"`{metric}`" in doc, (state, metric)
    assert f"`service` (`{contract.SERVICE}`)" in doc and "`job`" in doc


def test_job_monitor_counts_success_without_notifying(topic, lambda_context):
    assert job_monitor.handler(glue_event("SUCCEEDED"), lambda_context)["action"] == "counted"
    assert topic() == []


def test_job_monitor_ignores_other_stacks_jobs(topic, lambda_context):
    assert job_monitor.handler(glue_event("FAILED", job="someone-else"), lambda_context)["action"] == "ignored"
    assert topic() == []


@pytest.mark.parametrize(("event", "message"), [
    ({}, "expected a 'Glue Job State Change' event from aws.glue"),
    ({**glue_event("FAILED"), "source": "aws.s3"}, "event field 'source' = 'aws.s3': expected 'aws.glue'"),
    ({**glue_event("FAILED"), "detail": {"state": "FAILED"}}, "event field 'detail.jobName' is missing"),
    ({**glue_event("FAILED"), "detail": "oops"}, "event field 'detail' = 'oops': expected an object"),
])
def test_job_monitor_rejects_malformed_events(topic, lambda_context, event, message):
    with pytest.raises(MalformedEvent, match=message):
        job_monitor.handler(event, lambda_context)
    assert topic() == []


# --- cleanup -------------------------------------------------------------------------------------------------

@pytest.fixture
def lake(aws, monkeypatch):
    s3 = aws("s3")
    temp, curated = new_bucket(s3), new_bucket(s3)
    for bucket, key in [(temp, "orders/glue-temp/a"), (temp, "orders/glue-temp/b"), (curated, "_health/orders/x"),
                        (curated, "orders/data/order_date=2026-11-01/part.parquet"), (temp, "other/keep")]:
        s3.put_object(Bucket=bucket, Key=key, Body=b"1")
    monkeypatch.setenv("CLEANUP_LOCATIONS", json.dumps([f"{temp}/orders/", f"{curated}/_health/orders/"]))
    monkeypatch.setenv("TTL_DAYS", "7")
    return s3, temp, curated


def keys(s3, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def test_cleanup_deletes_only_expired_objects_under_its_prefixes(lake, lambda_context):
    s3, temp, curated = lake
    assert cleanup.handler({}, lambda_context)["deleted"] == {f"{temp}/orders/": 0, f"{curated}/_health/orders/": 0}
    later = (datetime.now(UTC) + timedelta(days=8)).isoformat()
    result = cleanup.handler({"now": later}, lambda_context)
    assert result["deleted"] == {f"{temp}/orders/": 2, f"{curated}/_health/orders/": 1}
    assert keys(s3, temp) == ["other/keep"]
    assert keys(s3, curated) == ["orders/data/order_date=2026-11-01/part.parquet"]
    again = cleanup.handler({"now": later}, lambda_context)
    assert again["deleted"] == {f"{temp}/orders/": 0, f"{curated}/_health/orders/": 0}, "idempotent"


@pytest.mark.parametrize("location", ["bucket-only", "bucket/", "bucket/no-trailing-slash"])
def test_cleanup_refuses_locations_that_could_reach_too_far(lake, lambda_context, monkeypatch, location):
    monkeypatch.setenv("CLEANUP_LOCATIONS", json.dumps([location]))
    with pytest.raises(ConfigurationError, match="expected <bucket>/<prefix>/"):
        cleanup.handler({}, lambda_context)


@pytest.mark.parametrize(("now", "message"), [
    (5, "event field 'now' = 5: expected an ISO 8601 date and time"),
    ("2026-11-23T03:00:00", "event field 'now' = '2026-11-23T03:00:00': expected a date and time with a UTC offset"),
])
def test_cleanup_rejects_a_malformed_now(lake, lambda_context, now, message):
    with pytest.raises(MalformedEvent, match=message):
        cleanup.handler({"now": now}, lambda_context)


def test_cleanup_refuses_a_ttl_that_is_not_a_number_of_days(lake, lambda_context, monkeypatch):
    monkeypatch.setenv("TTL_DAYS", "a week")
    with pytest.raises(ConfigurationError, match="environment variable TTL_DAYS = 'a week': expected an integer"):
        cleanup.handler({}, lambda_context)
