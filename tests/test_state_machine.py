"""The generated pipeline definition: valid to statelint and asl-validator, and run end to end by moto's
Step Functions interpreter against moto server (success path and failure paths, real SNS notifications)."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests
from statelint.linter import Linter

from components.asl import GLUE_START_JOB_RUN_SYNC, LAMBDA_INVOKE, SNS_PUBLISH, PipelineTargets, pipeline_definition
from stack_files import ROOT
from tests.conftest import STACK_JOB_IDS, STACK_JOBS

pytestmark = pytest.mark.tier("unit")

ASL_VALIDATOR = ROOT / "node_modules" / ".bin" / "asl-validator"
ACCOUNT = "123456789012"
SCRIPT = "s3://artifacts/glue/orders/script/glue_main-0123456789abcdef.py"
LIBRARY = "s3://artifacts/glue/orders/library/orders-0123456789abcdef.zip"


def definition(topic_arn: str = f"arn:aws:sns:eu-west-1:{ACCOUNT}:alerts") -> dict:
    return pipeline_definition(PipelineTargets(
        job="orders", glue_job_name="data-pipeline-dev-orders",
        validate_function_version_arn=f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:data-pipeline-dev-validate-input:3",
        quality_gate_function_version_arn=f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:data-pipeline-dev-quality-gate:4",
        glue_script_location=SCRIPT, glue_library_location=LIBRARY,
        topic_arn=topic_arn, stack="data-pipeline-dev", glue_timeout_seconds=3600, release_commit="0123abcd"))


def deployed_definition(evaluations, stack: str, job: str) -> dict:
    """The state machine definition a shipped stack deploys for one job."""
    machine = evaluations.stack(stack).one("aws:sfn/stateMachine:StateMachine", f"{job}-pipeline-state-machine")
    return json.loads(machine.inputs["definition"])


@pytest.mark.tier("program")
@pytest.mark.parametrize(("stack", "job"), STACK_JOBS, ids=STACK_JOB_IDS)
def test_statelint_accepts_the_deployed_definition(evaluations, stack, job):
    assert Linter.validate(deployed_definition(evaluations, stack, job)) == []


def test_statelint_is_live():
    broken = copy.deepcopy(definition())
    del broken["States"]["QualityGate"]["Next"]
    assert Linter.validate(broken)


def asl_validator(definitions: dict[str, dict], folder: Path) -> dict[str, str]:
    """asl-validator over several definitions in one run (node starts once): name -> its verdict line(s)."""
    if not ASL_VALIDATOR.exists():
        pytest.fail(f"{ASL_VALIDATOR} is missing: run `make setup` (it runs `npm ci`)")
    paths = {name: folder / f"{name}.json" for name in definitions}
    for name, path in paths.items():
        path.write_text(json.dumps(definitions[name]))
    done = subprocess.run([str(ASL_VALIDATOR), *(arg for path in paths.values() for arg in ("--json-path", str(path)))],
                          capture_output=True, text=True, timeout=60)
    output = done.stdout + done.stderr
    verdicts = {name: "".join(re.findall(rf'^. State machine definition "{re.escape(str(path))}" is .*(?:\n [^\n]*)*',
                                         output, re.M)) for name, path in paths.items()}
    missing = [name for name, verdict in verdicts.items() if not verdict]
    assert not missing and (done.returncode == 0) == all(" is valid" in v for v in verdicts.values()), output
    return verdicts


@pytest.fixture(scope="module")
def asl_verdicts(evaluations, tmp_path_factory) -> dict[str, str]:
    """Every shipped stack's definitions, and one broken on purpose (the validator must catch it)."""
    broken = copy.deepcopy(definition())
    broken["States"]["RunGlueJob"]["Next"] = "NoSuchState"
    definitions = {f"{stack}-{job}": deployed_definition(evaluations, stack, job) for stack, job in STACK_JOBS}
    return asl_validator({**definitions, "broken": broken}, tmp_path_factory.mktemp("asl"))


@pytest.mark.tier("program")
@pytest.mark.slow  # node starts once for all of them, in about a second
@pytest.mark.parametrize("name", STACK_JOB_IDS)
def test_asl_validator_accepts_the_deployed_definition(asl_verdicts, name):
    assert asl_verdicts[name].endswith(" is valid"), asl_verdicts[name]


@pytest.mark.tier("program")
@pytest.mark.slow
def test_asl_validator_is_live(asl_verdicts):
    assert " is invalid" in asl_verdicts["broken"], asl_verdicts["broken"]


def test_every_task_retries_transient_errors_and_catches_into_the_failure_notification():
    states = definition()["States"]
    tasks = {name: state for name, state in states.items() if state["Type"] == "Task"}
    assert set(tasks) == {"ValidateInput", "RunGlueJob", "QualityGate", "NotifySuccess", "NotifyFailure"}
    for name, task in tasks.items():
        assert task["Catch"][0]["ErrorEquals"] == ["States.ALL"], name
        assert task["Catch"][0]["Next"] == ("Failed" if name == "NotifyFailure" else "NotifyFailure"), name
    glue_retry = tasks["RunGlueJob"]["Retry"][0]
    assert "Glue.ConcurrentRunsExceededException" in glue_retry["ErrorEquals"]
    assert glue_retry["BackoffRate"] > 1 and glue_retry["MaxAttempts"] >= 3
    assert tasks["RunGlueJob"]["Resource"] == GLUE_START_JOB_RUN_SYNC
    assert tasks["RunGlueJob"]["Parameters"]["Arguments"] == {
        "--scriptLocation": SCRIPT, "--extra-py-files": LIBRARY,
        "--source_path.$": "$.validated.result.source_path", "--target_path.$": "$.validated.result.target_path",
        "--health_check.$": "$.validated.result.health_check",
        "--job-bookmark-option.$": "$.validated.result.bookmark_option"}
    assert tasks["ValidateInput"]["Parameters"]["Payload"] == {"job": "orders", "input.$": "$"}
    assert {tasks[t]["Resource"] for t in ("ValidateInput", "QualityGate")} == {LAMBDA_INVOKE}
    assert {tasks[t]["Resource"] for t in ("NotifySuccess", "NotifyFailure")} == {SNS_PUBLISH}


# --- moto's interpreter --------------------------------------------------------------------------------------

def substitute_tasks_moto_cannot_run(asl: dict, *, glue: bool, lambdas: bool, quality: dict | None = None) -> dict:
    """Replace service tasks moto cannot execute with Pass states holding what the service would return.

    moto's interpreter cannot run `glue:startJobRun.sync` (it fails the task) and runs Lambda functions only in
    Docker, which this machine does not have. The substitutes keep each state's name, ResultPath and Next, so
    the paths through the machine, the SNS notifications and the Fail state are the generated ones.
    """
    asl = copy.deepcopy(asl)
    states = asl["States"]

    def passing(name: str, result: dict) -> None:
        states[name] = {"Type": "Pass", "Result": result, "ResultPath": states[name]["ResultPath"],
                        "Next": states[name]["Next"]}

    if lambdas:
        passing("ValidateInput", {"result": {"source_path": "s3://raw/orders/", "target_path": "s3://curated/orders/",
                                             "health_check": "false", "bookmark_option": "job-bookmark-enable"}})
        passing("QualityGate", {"result": quality or {"passed": True, "curated_rows": 128}})
    if glue:
        passing("RunGlueJob", {"Id": "jr_0123", "JobRunState": "SUCCEEDED", "ExecutionTime": 61})
    return asl


@pytest.fixture
def stepfunctions(aws, moto_endpoint, monkeypatch):
    """moto's Step Functions with its interpreter on, and an alert topic whose messages land in a queue."""
    monkeypatch.setenv("MOTO_PORT", moto_endpoint.rsplit(":", 1)[1])
    requests.post(f"{moto_endpoint}/moto-api/config", json={"stepfunctions": {"execute_state_machine": True}},
                  timeout=10).raise_for_status()
    sns, sqs, sfn = aws("sns"), aws("sqs"), aws("stepfunctions")
    topic_arn = sns.create_topic(Name=f"alerts-{uuid.uuid4().hex[:8]}")["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"inbox-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)

    def run(asl: dict, execution_input: dict) -> tuple[dict, list[dict]]:
        machine = sfn.create_state_machine(name=f"pipeline-{uuid.uuid4().hex[:8]}", definition=json.dumps(asl),
                                           roleArn=f"arn:aws:iam::{ACCOUNT}:role/data-pipeline/dev/sfn")
        execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name=f"run-{uuid.uuid4().hex[:8]}",
                                        input=json.dumps(execution_input))["executionArn"]
        deadline = time.monotonic() + 30
        while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
            assert time.monotonic() < deadline, "execution did not finish in 30 s"
            time.sleep(0.2)
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return described, [json.loads(m["Body"]) for m in messages]

    return topic_arn, run


@pytest.mark.tier("aws")
def test_success_path_runs_to_the_success_notification(stepfunctions):
    topic_arn, run = stepfunctions
    asl = substitute_tasks_moto_cannot_run(definition(topic_arn), glue=True, lambdas=True)
    execution, notifications = run(asl, {"source_path": "s3://raw/orders/"})
    assert execution["status"] == "SUCCEEDED"
    (message,) = notifications
    assert message["Subject"] == "[data-pipeline-dev] pipeline orders succeeded"
    assert "Glue run jr_0123" in message["Message"] and '"curated_rows":128' in message["Message"]
    output = json.loads(execution["output"])
    assert output["glue"]["Id"] == "jr_0123" and output["validated"]["result"]["target_path"] == "s3://curated/orders/"


@pytest.mark.tier("aws")
def test_failed_glue_run_is_caught_notified_and_fails_the_execution(stepfunctions):
    """The Glue task is the generated one: moto fails it (no such job), as AWS fails a run that errors."""
    topic_arn, run = stepfunctions
    asl = substitute_tasks_moto_cannot_run(definition(topic_arn), glue=False, lambdas=True)
    execution, notifications = run(asl, {})
    assert execution["status"] == "FAILED"
    assert execution["error"] == "PipelineFailed"
    assert "data-pipeline-dev-orders" in execution["cause"]
    (message,) = notifications
    assert message["Subject"] == "[data-pipeline-dev] pipeline orders FAILED"
    assert "failed with Glue.EntityNotFoundException" in message["Message"]


@pytest.mark.tier("aws")
def test_failing_first_step_skips_the_glue_job(stepfunctions):
    """The validation task is the generated Lambda task; its function does not exist, so the invoke fails."""
    topic_arn, run = stepfunctions
    execution, notifications = run(definition(topic_arn), {})
    assert (execution["status"], execution["error"]) == ("FAILED", "PipelineFailed")
    assert execution["cause"]
    (message,) = notifications
    assert "FAILED" in message["Subject"] and "failed with Lambda." in message["Message"]


@pytest.mark.tier("aws")
@pytest.mark.parametrize(("validated", "bookmark_option"), [
    ({"health_check": "true", "bookmark_option": "job-bookmark-disable"}, "job-bookmark-disable"),
    ({"health_check": "false", "bookmark_option": "job-bookmark-enable"}, "job-bookmark-enable"),
])
def test_glue_run_gets_the_paths_and_bookmark_option_validation_chose(stepfunctions, validated, bookmark_option):
    """moto evaluates the generated Glue task's own Parameters (in a Pass state, which it can run): what Glue's
    StartJobRun would receive. A health check must not move the job's bookmark."""
    topic_arn, run = stepfunctions
    asl = copy.deepcopy(definition(topic_arn))
    states = asl["States"]
    states["ValidateInput"] = {"Type": "Pass", "ResultPath": "$.validated", "Next": "RunGlueJob", "Result": {
        "result": {"source_path": "s3://raw/_health/orders/r1/", "target_path": "s3://curated/_health/orders/r1/",
                   **validated}}}
    states["RunGlueJob"] = {"Type": "Pass", "Parameters": states["RunGlueJob"]["Parameters"],
                            "ResultPath": "$.start_job_run", "Next": "Done"}
    states["Done"] = {"Type": "Succeed"}
    execution, _ = run(asl, {})
    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    request = json.loads(execution["output"])["start_job_run"]
    assert request["JobName"] == "data-pipeline-dev-orders"
    assert request["Arguments"] == {
        "--scriptLocation": SCRIPT, "--extra-py-files": LIBRARY, "--source_path": "s3://raw/_health/orders/r1/",
        "--target_path": "s3://curated/_health/orders/r1/", "--health_check": validated["health_check"],
        "--job-bookmark-option": bookmark_option}
