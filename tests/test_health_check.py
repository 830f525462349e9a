"""The PR health check against moto server, for every job a stack deploys at once: success, a failed execution,
a data-quality failure, wrong counts, a published health run, a timeout, an interruption, missing outputs. moto runs
the state machines (its interpreter); the quality result each Glue job would write is put in S3 by the test, since
moto runs no Glue code."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid

import pytest
import requests

from automation.health_check import Expected, HealthCheck, HealthCheckFailed, JobSample, deployed_jobs
from components.asl import PipelineTargets, pipeline_definition
from settings.naming import health_check_prefix
from tests.aws_server import REGION
from tests.conftest import REPOSITORY_JOBS
from tests.quality_results import SNAPSHOT_BEFORE, put_health_run_result
from tests.test_state_machine import substitute_tasks_moto_cannot_run

pytestmark = pytest.mark.tier("aws")

ACCOUNT = "123456789012"


@pytest.fixture
def deployed(aws, moto_endpoint, monkeypatch):
    """A stand-in for a deployed stack in moto with every job of the repository: buckets, a Glue job with one run
    per job, and the stack's outputs once its state machines are made."""
    monkeypatch.setenv("MOTO_PORT", moto_endpoint.rsplit(":", 1)[1])
    requests.post(f"{moto_endpoint}/moto-api/config", json={"stepfunctions": {"execute_state_machine": True}},
                  timeout=10).raise_for_status()
    s3, glue, sfn, sns = aws("s3"), aws("glue"), aws("stepfunctions"), aws("sns")
    suffix = uuid.uuid4().hex[:8]
    raw, curated = f"raw-{suffix}", f"curated-{suffix}"
    for bucket in (raw, curated):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    glue_jobs, run_ids = {}, {}
    for job in REPOSITORY_JOBS:
        glue_jobs[job] = f"data-pipeline-pr-1-{job}-{suffix}"
        glue.create_job(Name=glue_jobs[job], Role=f"arn:aws:iam::{ACCOUNT}:role/glue", GlueVersion="5.0",
                        WorkerType="G.1X", NumberOfWorkers=2, ExecutionClass="STANDARD",
                        Command={"Name": "glueetl", "ScriptLocation": "s3://x/glue_main.py"})
        run_ids[job] = glue.start_job_run(JobName=glue_jobs[job])["JobRunId"]
    topic = sns.create_topic(Name=f"alerts-{suffix}")["TopicArn"]

    def stack(definitions: dict[str, dict]) -> dict:
        """The stack's outputs, with one state machine per job from its definition."""
        machines = {job: sfn.create_state_machine(name=f"{job}-{suffix}-{uuid.uuid4().hex[:4]}",
                                                  definition=json.dumps(definition),
                                                  roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn")["stateMachineArn"]
                    for job, definition in definitions.items()}
        # moto cannot start a version ARN (it keeps no executions per version), so each unqualified machine stands
        # in for the version the stack's outputs name.
        return {"buckets": {"raw": raw, "curated": curated}, "pipeline_versions": machines,
                "glue_jobs": {job: glue_jobs[job] for job in definitions}}

    def generated(job: str, glue_succeeds: bool = True) -> dict:
        # A failing run uses a job moto does not know, so the real .sync task fails the way AWS fails a bad run.
        asl = pipeline_definition(PipelineTargets(
            job=job, glue_job_name=glue_jobs[job] if glue_succeeds else f"{glue_jobs[job]}-missing", topic_arn=topic,
            stack="data-pipeline-pr-1", glue_timeout_seconds=900,
            validate_function_version_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:v:1",
            quality_gate_function_version_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:q:1",
            glue_script_location="s3://artifacts/glue/orders/script/glue_main-0123.py",
            glue_library_location="s3://artifacts/glue/orders/library/orders-0123.zip", release_commit="0123abcd"))
        asl = substitute_tasks_moto_cannot_run(asl, glue=glue_succeeds, lambdas=True)
        if glue_succeeds:
            asl["States"]["RunGlueJob"]["Result"]["Id"] = run_ids[job]
        return asl

    def every_job(**failing) -> dict:
        """Outputs of a stack whose pipelines all succeed, but for the jobs named False."""
        return stack({job: generated(job, failing.get(job, True)) for job in REPOSITORY_JOBS})

    def job_output(job: str, health_run: str, **options):
        """What a Glue job writes for a health run: its quality result, in the run's health-check folder."""
        put_health_run_result(s3, f"s3://{curated}/{health_check_prefix(job)}{health_run}/", job, run_ids[job],
                              **options)

    def every_output(health_run: str, **options):
        for job in REPOSITORY_JOBS:
            job_output(job, health_run, **options.get(job, {}))

    return {"stack": stack, "generated": generated, "every_job": every_job, "job_output": job_output,
            "every_output": every_output, "s3": s3, "sfn": sfn, "raw": raw, "run_ids": run_ids}


def quick(outputs, **options) -> HealthCheck:
    return HealthCheck(outputs, sleep=lambda _s: time.sleep(0.05), **options)


def test_every_deployed_job_runs_at_once_on_its_own_sample_and_is_checked(deployed):
    outputs = deployed["every_job"]()
    deployed["every_output"]("run1")
    check = quick(outputs)
    # Each job's pipeline must start while the other's is being started: one after the other would deadlock here.
    starting = threading.Barrier(len(REPOSITORY_JOBS), timeout=20)
    start_execution = check.sfn.start_execution
    check.sfn.start_execution = lambda **kwargs: (starting.wait(), start_execution(**kwargs))[1]
    result = check.run(run_id="run1")
    assert set(result.jobs) == set(REPOSITORY_JOBS) == set(deployed_jobs(outputs)) and len(REPOSITORY_JOBS) >= 2
    for job, job_result in result.jobs.items():
        assert job_result.outcome == "passed" and job_result.execution_status == "SUCCEEDED"
        assert job_result.glue_run_id == deployed["run_ids"][job] and job_result.glue_run_state == "SUCCEEDED"
        assert (job_result.worker_type, job_result.number_of_workers) == ("G.1X", 2)
        assert job_result.quality["curated_rows"] == Expected.of_sample(job).curated_rows
        assert job_result.table_snapshot == SNAPSHOT_BEFORE, "the snapshot main was at, for a data rollback"
        execution = deployed["sfn"].describe_execution(executionArn=job_result.execution_arn)
        assert execution["stateMachineArn"] == check.state_machine_arn(job) == outputs["pipeline_versions"][job]
        (uploaded,) = deployed["s3"].list_objects_v2(Bucket=deployed["raw"],
                                                     Prefix=f"_health/{job}/run1/")["Contents"]
        sample = JobSample.of(job)
        assert uploaded["Key"] == f"_health/{job}/run1/{sample.path.name}"
        assert not deployed["s3"].list_objects_v2(Bucket=deployed["raw"], Prefix=f"{job}/").get("Contents"), (
            "nothing under the prefix the job's scheduled runs read")
        assert uploaded["Size"] == sample.path.stat().st_size
    assert Expected.of_sample("orders") != Expected.of_sample("customers"), "each job has its own expected counts"


def test_a_failed_job_is_reported_by_name_and_the_others_still_run(deployed):
    outputs = deployed["every_job"](customers=False)
    with pytest.raises(HealthCheckFailed) as failure:
        quick(outputs).run(run_id="run2")
    # The Glue task's own error, from the execution history (the execution's error is PipelineFailed).
    assert failure.value.reason.startswith(f"pipeline of 1 of {len(REPOSITORY_JOBS)} job(s) failed: customers: "
                                           "pipeline FAILED: Glue.EntityNotFoundException: ")
    assert failure.value.where.startswith("customers: execution arn:aws:states:")
    jobs = failure.value.result.jobs
    assert (jobs["customers"].outcome, jobs["customers"].execution_status) == ("failed", "FAILED")
    assert jobs["customers"].failure.startswith("pipeline FAILED: Glue.EntityNotFoundException")
    assert (jobs["orders"].outcome, jobs["orders"].execution_status) == ("ran", "SUCCEEDED")


def test_data_quality_failure_names_the_job_and_its_failed_checks(deployed):
    outputs = deployed["every_job"]()
    deployed["every_output"]("run3", orders={"passed": False})
    with pytest.raises(HealthCheckFailed, match=f"output of 1 of {len(REPOSITORY_JOBS)} job.s. failed: orders: "
                                                "data-quality checks failed: quarantine_ratio") as failure:
        quick(outputs).run(run_id="run3")
    assert failure.value.where == f"orders: s3://{outputs['buckets']['curated']}/_health/orders/run3/_dq/" \
                                  f"run_id={deployed['run_ids']['orders']}/result.json"
    assert failure.value.result.jobs["customers"].outcome == "passed"


def test_wrong_counts_fail_the_check(deployed):
    outputs = deployed["stack"]({"orders": deployed["generated"]("orders")})
    deployed["job_output"]("orders", "run4", counts=Expected(input_lines=150, curated_rows=1, quarantined_rows=10))
    with pytest.raises(HealthCheckFailed, match=r"orders: row counts \(input, curated, quarantined\) are "
                                                r"\(150, 1, 10\), expected \(150, 128, 10\)"):
        quick(outputs, jobs=["orders"]).run(run_id="run4")


def test_a_health_run_that_published_to_the_table_fails_the_check(deployed):
    """Everything else passes: only `table.published` says the run changed the job's table."""
    outputs = deployed["stack"]({"orders": deployed["generated"]("orders")})
    deployed["job_output"]("orders", "run5", published=True)
    with pytest.raises(HealthCheckFailed, match=f"orders: the health run published to table db.orders \\(snapshot "
                                                f"{SNAPSHOT_BEFORE + 1}\\): a health check must never change"):
        quick(outputs, jobs=["orders"]).run(run_id="run5")


def test_a_quality_result_without_its_table_fails_the_check(deployed):
    """A job that predates Iceberg tables writes no `table`: the check cannot tell it published nothing."""
    outputs = deployed["stack"]({"orders": deployed["generated"]("orders")})
    key = put_health_run_result(deployed["s3"], f"s3://{outputs['buckets']['curated']}/_health/orders/run10/",
                                "orders", deployed["run_ids"]["orders"])
    result = json.loads(deployed["s3"].get_object(Bucket=outputs["buckets"]["curated"], Key=key)["Body"].read())
    del result["table"]
    deployed["s3"].put_object(Bucket=outputs["buckets"]["curated"], Key=key, Body=json.dumps(result))
    with pytest.raises(HealthCheckFailed, match="orders: the quality result names no table with a published flag"):
        quick(outputs, jobs=["orders"]).run(run_id="run10")


def test_missing_quality_result_is_reported(deployed):
    outputs = deployed["stack"]({"orders": deployed["generated"]("orders")})
    with pytest.raises(HealthCheckFailed, match="orders: the run wrote no data-quality result"):
        quick(outputs, jobs=["orders"]).run(run_id="run6")


SLOW = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 300, "End": True}}}


def wait_for_end(sfn, execution_arn: str) -> str:
    deadline = time.monotonic() + 10
    while (status := sfn.describe_execution(executionArn=execution_arn)["status"]) == "RUNNING" and (
            time.monotonic() < deadline):
        time.sleep(0.2)
    return status


def test_deadline_stops_the_executions_and_fails(deployed):
    outputs = deployed["stack"]({job: SLOW for job in REPOSITORY_JOBS})
    started = time.monotonic()
    # A fraction of a second (`--deadline` takes any number of seconds): the message says it as given.
    with pytest.raises(HealthCheckFailed, match=r"still RUNNING after 0\.25 s; the execution was stopped") as failure:
        quick(outputs, deadline_seconds=0.25).run(run_id="run7")
    assert time.monotonic() - started < 20, "the jobs wait for their deadline at the same time"
    for job_result in failure.value.result.jobs.values():
        assert wait_for_end(deployed["sfn"], job_result.execution_arn) == "ABORTED"


def test_an_interrupt_stops_every_running_execution_before_it_propagates(deployed):
    """SIGINT/SIGTERM reach the main thread (the lifecycle then tears the stack down): no job keeps polling."""
    outputs = deployed["stack"]({job: SLOW for job in REPOSITORY_JOBS})
    check = HealthCheck(outputs)  # the real sleep: an interrupt must wake it
    machines = [outputs["pipeline_versions"][job] for job in REPOSITORY_JOBS]

    test_over = threading.Event()

    def interrupt_once_every_job_runs():
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(deployed["sfn"].list_executions(
                stateMachineArn=machine, statusFilter="RUNNING")["executions"] for machine in machines):
            if test_over.wait(0.05):
                return  # the check ended first: the signal must not land in the next test
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_once_every_job_runs, daemon=True).start()
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            check.execute(run_id="run9")
    finally:
        test_over.set()
    assert time.monotonic() - started < 15
    executions = [e for job in REPOSITORY_JOBS for e in deployed["sfn"].list_executions(
        stateMachineArn=outputs["pipeline_versions"][job])["executions"]]
    assert len(executions) == len(REPOSITORY_JOBS)
    assert all(wait_for_end(deployed["sfn"], e["executionArn"]) == "ABORTED" for e in executions)


@pytest.mark.parametrize(("outputs", "message"), [
    ({}, "stack outputs lack buckets, pipeline_versions, glue_jobs; has none"),
    ({"buckets": {"raw": "r"}, "pipeline_versions": {}, "glue_jobs": {}}, "stack output buckets.curated is missing"),
    ({"buckets": {"raw": "r", "curated": "c"}, "pipeline_versions": {"returns": "x"}, "glue_jobs": {"orders": "j"}},
     "stack outputs glue_jobs.returns, pipeline_versions.orders are missing"),
    ({"buckets": {"raw": "r", "curated": "c"}, "pipeline_versions": {}, "glue_jobs": {}}, "the stack deploys no job"),
])
def test_missing_outputs_are_named(aws, outputs, message):
    with pytest.raises(HealthCheckFailed, match=message):
        HealthCheck(outputs)


def test_a_job_the_stack_does_not_deploy_cannot_be_checked(aws):
    outputs = {"buckets": {"raw": "r", "curated": "c"}, "pipeline_versions": {"orders": "x"},
               "glue_jobs": {"orders": "j"}}
    with pytest.raises(HealthCheckFailed, match="job.s. customers not deployed by the stack; it deploys orders"):
        HealthCheck(outputs, jobs=["customers"])


def test_the_glue_runs_own_error_is_part_of_the_failure(deployed, monkeypatch):
    """moto's job runs always succeed, so the Glue answer of a failed run is stood in for at the client."""
    run_id = deployed["run_ids"]["orders"]
    outputs = deployed["stack"]({"orders": {"StartAt": "Glue", "States": {
        "Glue": {"Type": "Pass", "Result": {"Id": run_id}, "ResultPath": "$.glue", "Next": "Fail"},
        "Fail": {"Type": "Fail", "Error": "PipelineFailed", "Cause": "Glue.JobRunFailed"}}}})
    check = quick(outputs, jobs=["orders"])
    real = check.glue.get_job_run

    def failed_run(**kwargs):
        run = real(**kwargs)
        run["JobRun"].update(JobRunState="FAILED", ErrorMessage="AnalysisException: path does not exist")
        return run

    monkeypatch.setattr(check.glue, "get_job_run", failed_run)
    with pytest.raises(HealthCheckFailed, match=r"\(Glue run FAILED: AnalysisException: path does not exist\)"):
        check.run(run_id="run8")


def test_a_sample_folder_another_writer_already_filled_is_not_run(deployed):
    """The sample goes where no object is (If-None-Match: *): a check whose run folder already holds the sample's
    key (another pull request's planted input) fails before anything starts, and leaves that object as it was."""
    outputs = deployed["every_job"]()
    sample = JobSample.of("orders")
    planted = f"{health_check_prefix('orders')}run9/{sample.path.name}"
    deployed["s3"].put_object(Bucket=deployed["raw"], Key=planted, Body=b"planted")
    with pytest.raises(HealthCheckFailed, match="already holds an object this check did not write") as failed:
        quick(outputs, jobs=["orders"]).run(run_id="run9")
    assert failed.value.result.jobs["orders"].outcome == "failed"
    assert not failed.value.result.jobs["orders"].execution_arn, "no execution started on the planted input"
    assert deployed["s3"].get_object(Bucket=deployed["raw"], Key=planted)["Body"].read() == b"planted"
