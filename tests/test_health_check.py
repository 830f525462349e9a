"""The PR health check against moto server: success, a failed execution, a data-quality failure, a timeout,
missing outputs. moto runs the state machine (its interpreter); what the Glue job would write is put in S3
by the test, since moto runs no Glue code."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import requests

from automation.health_check import Expected, HealthCheck, HealthCheckFailed
from components.asl import PipelineTargets, pipeline_definition
from components.naming import HEALTH_CHECK_FOLDER
from tests.aws_server import REGION
from tests.test_state_machine import substitute_tasks_moto_cannot_run

ACCOUNT = "123456789012"


@pytest.fixture
def deployed(aws, moto_endpoint, monkeypatch):
    """A stand-in for a deployed stack in moto: buckets, a Glue job with one run, and its outputs."""
    monkeypatch.setenv("MOTO_PORT", moto_endpoint.rsplit(":", 1)[1])
    requests.post(f"{moto_endpoint}/moto-api/config", json={"stepfunctions": {"execute_state_machine": True}},
                  timeout=10).raise_for_status()
    s3, glue, sfn, sns = aws("s3"), aws("glue"), aws("stepfunctions"), aws("sns")
    suffix = uuid.uuid4().hex[:8]
    raw, curated = f"raw-{suffix}", f"curated-{suffix}"
    for bucket in (raw, curated):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    job = f"data-pipeline-pr-1-orders-{suffix}"
    glue.create_job(Name=job, Role=f"arn:aws:iam::{ACCOUNT}:role/glue", GlueVersion="5.0", WorkerType="G.1X",
                    NumberOfWorkers=2, ExecutionClass="STANDARD",
                    Command={"Name": "glueetl", "ScriptLocation": "s3://x/glue_main.py"})
    run_id = glue.start_job_run(JobName=job)["JobRunId"]
    topic = sns.create_topic(Name=f"alerts-{suffix}")["TopicArn"]

    def stack(definition: dict) -> dict:
        machine = sfn.create_state_machine(name=f"pipeline-{suffix}-{uuid.uuid4().hex[:4]}",
                                           definition=json.dumps(definition),
                                           roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn")["stateMachineArn"]
        # moto cannot start a version ARN (it has no executions per version), so the unqualified machine stands
        # in for the version the stack's outputs name.
        return {"buckets": {"raw": raw, "curated": curated}, "pipeline_versions": {"orders": machine},
                "glue_jobs": {"orders": job}}

    def generated(glue_succeeds: bool = True) -> dict:
        # A failing run uses a job moto does not know, so the real .sync task fails the way AWS fails a bad run.
        asl = pipeline_definition(PipelineTargets(
            job="orders", glue_job_name=job if glue_succeeds else f"{job}-missing", topic_arn=topic,
            stack="data-pipeline-pr-1", glue_timeout_seconds=900,
            validate_function_version_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:v:1",
            quality_gate_function_version_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:q:1",
            glue_script_location="s3://artifacts/glue/orders/script/glue_main-0123.py",
            glue_library_location="s3://artifacts/glue/orders/library/orders-0123.zip", release_commit="0123abcd"))
        asl = substitute_tasks_moto_cannot_run(asl, glue=glue_succeeds, lambdas=True)
        if glue_succeeds:
            asl["States"]["RunGlueJob"]["Result"]["Id"] = run_id
        return asl

    def job_output(health_run: str, *, passed: bool = True, counts: Expected | None = None, parquet: bool = True):
        """What the Glue job writes for a run: curated Parquet and its quality result."""
        counts = counts or Expected.of_sample()
        prefix = f"orders/{HEALTH_CHECK_FOLDER}/{health_run}/"
        if parquet:
            s3.put_object(Bucket=curated, Key=f"{prefix}data/order_date=2026-11-01/part-0.parquet", Body=b"PAR1")
        result = {"passed": passed, "input_rows": counts.input_lines, "curated_rows": counts.curated_rows,
                  "quarantined_rows": counts.quarantined_rows,
                  "checks": [{"name": "row_count", "passed": True},
                             {"name": "quarantine_ratio", "passed": passed, "observed": 0.3, "expected": "<= 0.1"}]}
        s3.put_object(Bucket=curated, Key=f"{prefix}_dq/run_id={run_id}/result.json", Body=json.dumps(result))

    return {"stack": stack, "generated": generated, "job_output": job_output, "s3": s3, "sfn": sfn,
            "raw": raw, "run_id": run_id}


def quick(outputs, **options) -> HealthCheck:
    return HealthCheck(outputs, sleep=lambda _s: time.sleep(0.05), **options)


def test_success_uploads_the_sample_runs_the_pipeline_and_checks_the_output(deployed):
    outputs = deployed["stack"](deployed["generated"]())
    deployed["job_output"]("run1")
    result = quick(outputs).run(run_id="run1")
    assert result.execution_status == "SUCCEEDED"
    assert result.glue_run_id == deployed["run_id"] and result.glue_run_state == "SUCCEEDED"
    assert (result.worker_type, result.number_of_workers, result.execution_class) == ("G.1X", 2, "STANDARD")
    assert result.quality["curated_rows"] == Expected.of_sample().curated_rows and result.curated_objects == 1
    (uploaded,) = deployed["s3"].list_objects_v2(Bucket=deployed["raw"], Prefix="orders/_health/run1/")["Contents"]
    assert uploaded["Key"] == "orders/_health/run1/orders.jsonl" and uploaded["Size"] > 0


def test_failed_execution_reports_the_failed_states_error_and_cause(deployed):
    outputs = deployed["stack"](deployed["generated"](glue_succeeds=False))
    with pytest.raises(HealthCheckFailed) as failure:
        quick(outputs).run(run_id="run2")
    # The Glue task's own error, from the execution history (the execution's error is PipelineFailed).
    assert failure.value.reason.startswith("pipeline FAILED: Glue.EntityNotFoundException: ")
    assert failure.value.where.startswith("execution arn:aws:states:")
    assert failure.value.result.execution_status == "FAILED"


def test_data_quality_failure_names_the_failed_checks(deployed):
    outputs = deployed["stack"](deployed["generated"]())
    deployed["job_output"]("run3", passed=False)
    with pytest.raises(HealthCheckFailed, match="data-quality checks failed: quarantine_ratio") as failure:
        quick(outputs).run(run_id="run3")
    assert failure.value.where.endswith(f"/_dq/run_id={deployed['run_id']}/result.json")


def test_wrong_counts_and_missing_parquet_fail_the_check(deployed):
    outputs = deployed["stack"](deployed["generated"]())
    deployed["job_output"]("run4", counts=Expected(input_lines=150, curated_rows=1, quarantined_rows=10))
    with pytest.raises(HealthCheckFailed, match=r"row counts \(input, curated, quarantined\) are \(150, 1, 10\)"):
        quick(outputs).run(run_id="run4")
    deployed["job_output"]("run5", parquet=False)
    with pytest.raises(HealthCheckFailed, match="wrote no curated Parquet objects"):
        quick(outputs).run(run_id="run5")


def test_missing_quality_result_is_reported(deployed):
    outputs = deployed["stack"](deployed["generated"]())
    deployed["s3"].put_object(Bucket=outputs["buckets"]["curated"],
                              Key="orders/_health/run6/data/x/part-0.parquet", Body=b"PAR1")
    with pytest.raises(HealthCheckFailed, match="wrote no data-quality result"):
        quick(outputs).run(run_id="run6")


def test_deadline_stops_the_execution_and_fails(deployed):
    slow = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 300, "End": True}}}
    outputs = deployed["stack"](slow)
    started = time.monotonic()
    with pytest.raises(HealthCheckFailed, match="still RUNNING after 1 s; the execution was stopped") as failure:
        quick(outputs, deadline_seconds=1).run(run_id="run7")
    assert time.monotonic() - started < 20
    deadline = time.monotonic() + 10
    while (status := deployed["sfn"].describe_execution(
            executionArn=failure.value.result.execution_arn)["status"]) == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert status == "ABORTED"


@pytest.mark.parametrize(("outputs", "message"), [
    ({}, "stack outputs lack buckets, pipeline_versions, glue_jobs; has none"),
    ({"buckets": {"raw": "r"}, "pipeline_versions": {}, "glue_jobs": {}}, "stack output buckets.curated is missing"),
    ({"buckets": {"raw": "r", "curated": "c"}, "pipeline_versions": {"returns": "x"}, "glue_jobs": {"orders": "j"}},
     "stack output pipeline_versions.orders is missing"),
])
def test_missing_outputs_are_named(aws, outputs, message):
    with pytest.raises(HealthCheckFailed, match=message):
        HealthCheck(outputs)


def test_the_glue_runs_own_error_is_part_of_the_failure(deployed, monkeypatch):
    """moto's job runs always succeed, so the Glue answer of a failed run is stood in for at the client."""
    outputs = deployed["stack"]({"StartAt": "Glue", "States": {
        "Glue": {"Type": "Pass", "Result": {"Id": deployed["run_id"]}, "ResultPath": "$.glue", "Next": "Fail"},
        "Fail": {"Type": "Fail", "Error": "PipelineFailed", "Cause": "Glue.JobRunFailed"}}})
    check = quick(outputs)
    real = check.glue.get_job_run

    def failed_run(**kwargs):
        run = real(**kwargs)
        run["JobRun"].update(JobRunState="FAILED", ErrorMessage="AnalysisException: path does not exist")
        return run

    monkeypatch.setattr(check.glue, "get_job_run", failed_run)
    with pytest.raises(HealthCheckFailed, match=r"\(Glue run FAILED: AnalysisException: path does not exist\)"):
        check.run(run_id="run8")
