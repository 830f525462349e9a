"""Typed settings: every shipped stack parses to its file's values; every bad value gets a clear error."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pytest

from components.config import (
    GLUE_JOBS_KEY,
    JOB_OVERRIDES,
    LOG_RETENTION_DAYS,
    PROJECT,
    STACK_FIELDS,
    ConfigError,
    parse_settings,
)
from offline.program import run_program
from offline.stack_files import ROOT, SHIPPED_STACKS, project_file, stack_config

JOBS_DIR = ROOT / "jobs"


def raw_config(stack: str, **changes) -> dict:
    """The stack's config without namespace, as `load_settings` hands it to `parse_settings`."""
    prefix = f"{PROJECT}:"
    raw = {k[len(prefix):]: v for k, v in stack_config(stack).items() if k.startswith(prefix)}
    raw.update(changes)
    return raw


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_shipped_stack_parses_to_its_file_values(stack):
    config = stack_config(stack)
    settings = parse_settings(stack, raw_config(stack), JOBS_DIR)
    assert settings.log_retention_days == config[f"{PROJECT}:logRetentionDays"]
    assert settings.protect_data == config[f"{PROJECT}:protectData"]
    assert settings.lifecycle.temp_expiration_days == config[f"{PROJECT}:tempExpirationDays"]
    jobs = config[f"{PROJECT}:{GLUE_JOBS_KEY}"]
    assert [job.name for job in settings.glue_jobs] == sorted(jobs)
    for job in settings.glue_jobs:
        overrides = jobs[job.name] or {}
        expected_workers = overrides.get("numberOfWorkers", config[f"{PROJECT}:glueNumberOfWorkers"])
        assert job.number_of_workers == expected_workers
        assert job.execution_class == overrides.get("executionClass", config[f"{PROJECT}:glueExecutionClass"])


def test_stacks_differ_and_flex_only_outside_prod():
    settings = {s: parse_settings(s, raw_config(s), JOBS_DIR) for s in SHIPPED_STACKS}
    assert len({(s.log_retention_days, s.glue_jobs) for s in settings.values()}) == len(SHIPPED_STACKS)
    assert all(job.execution_class == "STANDARD" for job in settings["prod"].glue_jobs)
    assert all(job.execution_class == "FLEX" for stack in ("dev", "qa", "staging")
               for job in settings[stack].glue_jobs)
    assert settings["prod"].protect_data and not settings["dev"].protect_data


def test_engine_strings_are_coerced():
    raw = raw_config("dev", logRetentionDays="14", protectData="false", glueJobs='{"orders": {"maxRetries": "2"}}')
    settings = parse_settings("dev", raw, JOBS_DIR)
    assert settings.log_retention_days == 14
    assert settings.protect_data is False
    assert settings.glue_jobs[0].max_retries == 2


BAD_VALUES = [
    ({"logRetentionDays": 10}, "data-pipeline:logRetentionDays = 10: must be one of 1, 3, 5, 7, 14"),
    ({"logRetentionDays": "a week"}, "data-pipeline:logRetentionDays = 'a week'"),
    ({"kmsDeletionWindowDays": 3}, "data-pipeline:kmsDeletionWindowDays = 3: must be an integer from 7 to 30"),
    ({"bucketVersioning": "yes"}, "data-pipeline:bucketVersioning = 'yes': must be true or false"),
    ({"owner": "  "}, "data-pipeline:owner = '  ': must be a non-empty string"),
    ({"rawInfrequentAccessDays": 10}, "data-pipeline:rawInfrequentAccessDays = 10: must be 0 (never) or a "
                                      "number of days from 30"),
    ({"rawInfrequentAccessDays": 60, "rawExpirationDays": 30},
     "data-pipeline:rawExpirationDays = 30: must be 0 (never) or later than data-pipeline:rawInfrequentAccessDays"),
    ({"tempExpirationDays": 0}, "data-pipeline:tempExpirationDays = 0: must be an integer from 1 to 365"),
    ({"glueWorkerType": "G.025X"}, "data-pipeline:glueWorkerType = 'G.025X': must be one of G.1X, G.2X, G.4X, G.8X"),
    ({"glueNumberOfWorkers": 1}, "data-pipeline:glueNumberOfWorkers = 1: must be an integer from 2 to 299"),
    ({"glueTimeoutMinutes": 0}, "data-pipeline:glueTimeoutMinutes = 0: must be an integer from 1 to 2880"),
    ({"glueExecutionClass": "SPOT"}, "data-pipeline:glueExecutionClass = 'SPOT': must be one of STANDARD, FLEX"),
    ({"lambdaReservedConcurrency": 0},
     "data-pipeline:lambdaReservedConcurrency = 0: must be -1 (no reservation) or an integer from 1 to 1000"),
    ({"lambdaTimeoutSeconds": 901}, "data-pipeline:lambdaTimeoutSeconds = 901: must be an integer from 1 to 900"),
    ({"stateMachineLogLevel": "OFF"}, "data-pipeline:stateMachineLogLevel = 'OFF': must be one of ALL, ERROR, FATAL"),
    ({"pipelineSchedule": "every night"}, "data-pipeline:pipelineSchedule = 'every night': must be empty"),
    ({"alertEmails": ["oncall"]}, "data-pipeline:alertEmails = ['oncall']: must be a list of e-mail addresses"),
    ({"alertEmails": "oncall@example.com"}, "data-pipeline:alertEmails = 'oncall@example.com': must be a list"),
    ({"alarmPeriodSeconds": 120}, "data-pipeline:alarmPeriodSeconds = 120: must be one of 60, 300, 900, 3600"),
    ({"alarmLambdaDurationPercent": 150}, "data-pipeline:alarmLambdaDurationPercent = 150: must be an integer"),
    ({"glueJobs": {}}, "data-pipeline:glueJobs = {}: must be a non-empty map"),
    ({"glueJobs": "not json"}, "data-pipeline:glueJobs = 'not json': must be a map"),
    ({"glueJobs": {"missing_job": {}}}, "data-pipeline:glueJobs.missing_job: no job folder jobs/missing_job/"),
    ({"glueJobs": {"Orders!": {}}}, "data-pipeline:glueJobs.Orders!: job name must match"),
    ({"glueJobs": {"orders": {"workers": 3}}},
     "data-pipeline:glueJobs.orders.workers: unknown setting; allowed: workerType, numberOfWorkers"),
    ({"glueJobs": {"orders": {"maxRetries": 11}}},
     "data-pipeline:glueJobs.orders.maxRetries = 11: must be an integer from 0 to 10"),
    ({"glueJobs": {"orders": {"workerType": "G.4X", "executionClass": "FLEX"}}},
     "data-pipeline:glueJobs.orders: executionClass FLEX with workerType 'G.4X': FLEX runs only on G.1X, G.2X"),
]


@pytest.mark.parametrize(("changes", "message"), BAD_VALUES, ids=[str(c) for c, _ in BAD_VALUES])
def test_bad_value_is_reported_with_key_value_and_allowed(changes, message):
    with pytest.raises(ConfigError) as error:
        parse_settings("dev", raw_config("dev", **changes), JOBS_DIR)
    assert message in str(error.value)


def test_missing_key_and_bad_stack_name_are_reported():
    raw = raw_config("dev")
    del raw["owner"]
    with pytest.raises(ConfigError) as error:
        parse_settings("Dev_Stack", raw, JOBS_DIR)
    text = str(error.value)
    assert "data-pipeline:owner is missing: must be a non-empty string" in text
    assert "stack name 'Dev_Stack': must match" in text


def test_prod_must_protect_its_data():
    with pytest.raises(ConfigError, match="protectData = false: must be true on stack 'prod'"):
        parse_settings("prod", raw_config("prod", protectData=False), JOBS_DIR)


def test_all_problems_are_reported_at_once():
    with pytest.raises(ConfigError) as error:
        parse_settings("dev", raw_config("dev", logRetentionDays=10, glueNumberOfWorkers=0,
                                          glueJobs={"orders": {"maxRetries": -1}}), JOBS_DIR)
    assert len(error.value.problems) == 3
    assert str(error.value).startswith("stack 'dev' has 3 invalid config value(s):")


def test_program_stops_with_a_clean_error_before_registering_anything():
    config = {**stack_config("dev"), "data-pipeline:logRetentionDays": 10, "data-pipeline:glueMaxRetries": 99}
    with pytest.raises(pulumi.RunError) as error:
        run_program("dev", config)
    assert "data-pipeline:logRetentionDays = '10'" in str(error.value)
    assert "data-pipeline:glueMaxRetries = '99'" in str(error.value)
    # RunError is Pulumi's "clean exit": the CLI prints the message without a stack trace.
    assert error.value.__cause__ is None and error.value.__suppress_context__


def test_project_schema_declares_exactly_the_validated_keys():
    declared = project_file()["config"]
    kinds = {int: "integer", bool: "boolean", str: "string", list: "array"}
    assert set(declared) == {f"{PROJECT}:{key}" for key in STACK_FIELDS}
    for key, field in STACK_FIELDS.items():
        declaration = declared[f"{PROJECT}:{key}"]
        assert declaration["type"] == kinds[field.kind], key
        assert declaration["description"], key
        if "default" in declaration:
            assert field.check(declaration["default"]), f"default of {key} is not allowed by its own rule"
    assert set(JOB_OVERRIDES.values()) <= set(STACK_FIELDS)


def test_retention_values_are_cloudwatch_values():
    assert 30 in LOG_RETENTION_DAYS and 365 in LOG_RETENTION_DAYS and 10 not in LOG_RETENTION_DAYS


def test_every_job_folder_has_an_entrypoint():
    for folder in (p for p in JOBS_DIR.iterdir() if p.is_dir() and p.name not in ("common", "__pycache__")):
        assert (folder / "glue_main.py").is_file(), folder
        assert (folder / "job.py").is_file(), folder
    assert Path(JOBS_DIR / "__init__.py").is_file()
