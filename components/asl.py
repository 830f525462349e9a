"""The pipeline's Amazon States Language definition, generated from Python data.

validate input -> Glue job (.sync) -> quality gate -> success notification; every task catches all errors
into a failure notification that carries the error and cause, then fails the execution.

A published version of this definition pins everything it runs: the Lambda functions by their published
version and the Glue job's script and library by their content-addressed S3 objects (passed per run), so
moving the state machine's alias moves all of them together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .release_info import COMMENT_MARKER

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
GLUE_START_JOB_RUN_SYNC = "arn:aws:states:::glue:startJobRun.sync"
SNS_PUBLISH = "arn:aws:states:::sns:publish"

# Transient errors worth retrying, with exponential backoff.
LAMBDA_RETRY = {"ErrorEquals": ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
                                "Lambda.TooManyRequestsException"],
                "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2.0, "JitterStrategy": "FULL"}
GLUE_RETRY = {"ErrorEquals": ["Glue.ConcurrentRunsExceededException", "Glue.ThrottlingException",
                              "Glue.InternalServiceException", "Glue.ResourceNumberLimitExceededException"],
              "IntervalSeconds": 60, "MaxAttempts": 5, "BackoffRate": 2.0, "MaxDelaySeconds": 900,
              "JitterStrategy": "FULL"}
CATCH_ALL = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "NotifyFailure"}]


@dataclass(frozen=True)
class PipelineTargets:
    job: str
    glue_job_name: str
    # Published versions (qualified ARNs), never an alias: a pipeline version keeps calling the code it was
    # released with.
    validate_function_version_arn: str
    quality_gate_function_version_arn: str
    # This release's Glue script and library (s3:// URIs); they override the job's defaults for each run.
    glue_script_location: str
    glue_library_location: str
    topic_arn: str
    stack: str
    # A Glue run may take this long (its own timeout) before the state gives up on it.
    glue_timeout_seconds: int
    release_commit: str


def _lambda_task(function_arn: str, payload: dict[str, Any], result_path: str, next_state: str) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": LAMBDA_INVOKE,
        "Parameters": {"FunctionName": function_arn, "Payload": payload},
        "ResultSelector": {"result.$": "$.Payload"},
        "ResultPath": result_path,
        "Retry": [LAMBDA_RETRY],
        "Catch": CATCH_ALL,
        "Next": next_state,
    }


def pipeline_definition(t: PipelineTargets) -> dict[str, Any]:
    validate = _lambda_task(t.validate_function_version_arn, {"job": t.job, "input.$": "$"}, "$.validated",
                            "RunGlueJob")
    quality_gate = _lambda_task(t.quality_gate_function_version_arn,
                                {"target_path.$": "$.validated.result.target_path", "job_run_id.$": "$.glue.Id"},
                                "$.quality", "NotifySuccess")
    return {
        "Comment": f"Pipeline of Glue job {t.glue_job_name} ({t.stack}), {COMMENT_MARKER}{t.release_commit}",
        "StartAt": "ValidateInput",
        "States": {
            "ValidateInput": validate,
            "RunGlueJob": {
                "Type": "Task",
                "Resource": GLUE_START_JOB_RUN_SYNC,
                "Parameters": {
                    "JobName": t.glue_job_name,
                    "Arguments": {
                        # Glue special parameters: this version's code, whatever the job's defaults are now.
                        "--scriptLocation": t.glue_script_location,
                        "--extra-py-files": t.glue_library_location,
                        "--source_path.$": "$.validated.result.source_path",
                        "--target_path.$": "$.validated.result.target_path",
                        "--health_check.$": "$.validated.result.health_check",
                        # Health checks read their input whole and must not move the job's bookmark.
                        "--job-bookmark-option.$": "$.validated.result.bookmark_option",
                    },
                },
                "TimeoutSeconds": t.glue_timeout_seconds,
                "ResultSelector": {"Id.$": "$.Id", "JobRunState.$": "$.JobRunState",
                                   "ExecutionTime.$": "$.ExecutionTime"},
                "ResultPath": "$.glue",
                "Retry": [GLUE_RETRY],
                "Catch": CATCH_ALL,
                "Next": "QualityGate",
            },
            "QualityGate": quality_gate,
            "NotifySuccess": {
                "Type": "Task",
                "Resource": SNS_PUBLISH,
                "Parameters": {
                    "TopicArn": t.topic_arn,
                    "Subject": f"[{t.stack}] pipeline {t.job} succeeded",
                    "Message.$": "States.Format('Pipeline {} succeeded: Glue run {}, quality {}.', "
                                 "$$.Execution.Name, $.glue.Id, States.JsonToString($.quality.result))",
                },
                "ResultPath": None,
                "Catch": CATCH_ALL,
                "Next": "Succeeded",
            },
            "Succeeded": {"Type": "Succeed"},
            "NotifyFailure": {
                "Type": "Task",
                "Resource": SNS_PUBLISH,
                "Parameters": {
                    "TopicArn": t.topic_arn,
                    "Subject": f"[{t.stack}] pipeline {t.job} FAILED",
                    "Message.$": "States.Format('Pipeline {} failed with {}: {}', $$.Execution.Name, "
                                 "$.error.Error, $.error.Cause)",
                },
                "ResultPath": None,
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.notification_error", "Next": "Failed"}],
                "Next": "Failed",
            },
            # The execution fails with the failed step's cause, so `describe-execution` says what happened. The
            # error name is fixed: a Fail state may not raise the `States.*` names (States.Timeout, …) it would
            # otherwise pass on; the step's own error name is in the notification and the history.
            "Failed": {"Type": "Fail", "Error": "PipelineFailed", "CausePath": "$.error.Cause"},
        },
    }
