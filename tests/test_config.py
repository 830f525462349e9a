"""Typed settings: every shipped stack parses to its file's values; every bad value gets a clear error."""

from __future__ import annotations

import json

import pulumi
import pytest
import yaml

from harness.program import copy_program, run_program
from jobs.common.catalog import job_names
from settings.parse import parse_settings
from settings.schema import GLUE_JOBS_KEY, JOB_OVERRIDES, LOG_RETENTION_DAYS, PROJECT, STACK_FIELDS, StackSettings
from settings.validation import ConfigError
from stack_files import (
    ROOT,
    SHIPPED_STACKS,
    StackFileError,
    as_engine_config,
    project_file,
    shown,
    stack_config,
)

pytestmark = pytest.mark.tier("unit")

JOBS_DIR = ROOT / "jobs"


def raw_config(stack: str, **changes) -> dict:
    """The stack's config without namespace, as __main__.py hands it to `parse_settings` (engine_config)."""
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
    ({"glueJobs": {"missing_job": {}}}, "data-pipeline:glueJobs.missing_job: no job folder jobs/missing_job/ with "
                                        f"glue_main.py; jobs in jobs/: {', '.join(job_names())} (python -m "
                                        "jobs new missing_job creates one)"),
    ({"glueJobs": {"order": {}}}, "data-pipeline:glueJobs.order: no job folder jobs/order/ with glue_main.py; did "
                                  "you mean orders?"),
    ({"glueJobs": {"custmers": {}}}, "data-pipeline:glueJobs.custmers: no job folder jobs/custmers/ with glue_main.py; "
                                     "did you mean customers?"),
    ({"glueJobs": {"returns": {}}}, "data-pipeline:glueJobs.returns: no job folder jobs/returns/ with glue_main.py; "
                                    f"jobs in jobs/: {', '.join(job_names())} (python -m jobs new returns creates "
                                    "one)"),
    ({"glueJobs": {"Orders!": {}}}, "data-pipeline:glueJobs.Orders!: job name must match"),
    ({"glueJobs": {"orders": {"workers": 3}}},
     "data-pipeline:glueJobs.orders.workers: unknown setting; did you mean data-pipeline:glueJobs.orders."
     "numberOfWorkers?"),
    ({"glueJobs": {"orders": {"gpu": True}}},
     "data-pipeline:glueJobs.orders.gpu: unknown setting; allowed: workerType, numberOfWorkers"),
    ({"logRetentionDay": 7}, "data-pipeline:logRetentionDay: unknown key; did you mean "
                             "data-pipeline:logRetentionDays?"),
    ({"logretentiondays": 7}, "data-pipeline:logretentiondays: unknown key; did you mean "
                              "data-pipeline:logRetentionDays?"),
    ({"glueJob": {}}, "data-pipeline:glueJob: unknown key; did you mean data-pipeline:glueJobs?"),
    ({"alertEmail": []}, "data-pipeline:alertEmail: unknown key; did you mean data-pipeline:alertEmails?"),
    ({"colour": "blue"}, "data-pipeline:colour: unknown key; Pulumi.yaml declares every key of the project"),
    ({"glueJobs": {"orders": {"maxRetries": 11}}},
     "data-pipeline:glueJobs.orders.maxRetries = 11: must be an integer from 0 to 10"),
    ({"glueJobs": {"orders": {"workerType": "G.4X", "executionClass": "FLEX"}}},
     "data-pipeline:glueJobs.orders: executionClass FLEX with workerType 'G.4X': FLEX runs only on G.1X, G.2X"),
    ({"tableSnapshotRetentionDays": 0},
     "data-pipeline:tableSnapshotRetentionDays = 0: must be an integer from 1 to 3650"),
    ({"tableSnapshotsToKeep": "all"}, "data-pipeline:tableSnapshotsToKeep = 'all': must be an integer from 1 to 1000"),
    ({"tableOrphanFileRetentionDays": 0},
     "data-pipeline:tableOrphanFileRetentionDays = 0: must be an integer from 1 to 3650"),
    # A run still writing has files no snapshot references yet: the orphan file optimizer must leave them.
    ({"tableOrphanFileRetentionDays": 1, "glueJobs": {"orders": {"timeoutMinutes": 1440}, "customers": {}}},
     "data-pipeline:tableOrphanFileRetentionDays = 1: must be longer than the longest Glue run (job orders times "
     "out after 1440 minutes), or the table's upkeep could delete the files of a run still in progress"),
]


@pytest.mark.parametrize(("changes", "message"), BAD_VALUES, ids=[str(c) for c, _ in BAD_VALUES])
def test_bad_value_is_reported_with_key_value_and_allowed(changes, message):
    with pytest.raises(ConfigError) as error:
        parse_settings("dev", raw_config("dev", **changes), JOBS_DIR)
    assert message in str(error.value)


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_stack_sets_how_long_its_tables_keep_snapshots_and_orphan_files(stack):
    config = stack_config(stack, ROOT)
    maintenance = parse_settings(stack, raw_config(stack), JOBS_DIR).table_maintenance
    assert (maintenance.snapshot_retention_days, maintenance.snapshots_to_keep,
            maintenance.orphan_file_retention_days) == tuple(config[f"{PROJECT}:{key}"] for key in (
                "tableSnapshotRetentionDays", "tableSnapshotsToKeep", "tableOrphanFileRetentionDays"))
    # Set in the stack file itself, not left to the project's defaults.
    stack_file = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    assert {f"{PROJECT}:tableSnapshotRetentionDays", f"{PROJECT}:tableSnapshotsToKeep",
            f"{PROJECT}:tableOrphanFileRetentionDays"} <= set(stack_file)


def test_production_data_can_be_rolled_back_further_than_developments():
    kept = {s: parse_settings(s, raw_config(s), JOBS_DIR).table_maintenance for s in SHIPPED_STACKS}
    days = [kept[s].snapshot_retention_days for s in ("dev", "qa", "staging", "prod")]
    assert days == sorted(days) and days[0] < days[-1]
    assert kept["prod"].snapshots_to_keep > kept["dev"].snapshots_to_keep


def test_a_key_left_out_takes_its_default():
    raw = raw_config("dev")
    del raw["logRetentionDays"], raw["alertEmails"]
    settings = parse_settings("dev", raw, JOBS_DIR)
    assert settings.log_retention_days == STACK_FIELDS["logRetentionDays"].default == 30
    assert settings.orchestration.alert_emails == ()


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


def test_prod_must_lock_its_data_versions_and_a_lock_needs_versioning():
    with pytest.raises(ConfigError, match="dataRetentionDays = 0: must be at least 1 on stack 'prod'"):
        parse_settings("prod", raw_config("prod", dataRetentionDays=0), JOBS_DIR)
    with pytest.raises(ConfigError, match="dataRetentionDays = 5: needs data-pipeline:bucketVersioning = true"):
        parse_settings("dev", raw_config("dev", dataRetentionDays=5), JOBS_DIR)
    with pytest.raises(ConfigError, match="dataRetentionDays = -1: must be 0 \\(no Object Lock\\)"):
        parse_settings("qa", raw_config("qa", dataRetentionDays=-1), JOBS_DIR)
    assert parse_settings("qa", raw_config("qa", dataRetentionDays=7), JOBS_DIR).data_retention_days == 7


def test_all_problems_are_reported_at_once():
    with pytest.raises(ConfigError) as error:
        parse_settings("dev", raw_config("dev", logRetentionDays=10, glueNumberOfWorkers=0,
                                          glueJobs={"orders": {"maxRetries": -1}}), JOBS_DIR)
    assert len(error.value.problems) == 3
    assert str(error.value).startswith("stack 'dev' has 3 invalid config value(s):")


@pytest.mark.tier("program")
def test_program_stops_with_a_clean_error_before_registering_anything():
    config = {**stack_config("dev"), "data-pipeline:logRetentionDays": 10, "data-pipeline:glueMaxRetries": 99,
              "data-pipeline:logRetentionDay": 7, "aws:region": "eu-west-1"}
    with pytest.raises(pulumi.RunError) as error:
        run_program("dev", config, strict=True)
    assert "data-pipeline:logRetentionDays = '10'" in str(error.value)
    assert "data-pipeline:glueMaxRetries = '99'" in str(error.value)
    assert "data-pipeline:logRetentionDay: unknown key; did you mean data-pipeline:logRetentionDays?" in str(
        error.value)
    # RunError is Pulumi's "clean exit": the CLI prints the message without a stack trace.
    assert error.value.__cause__ is None and error.value.__suppress_context__


@pytest.mark.slow
@pytest.mark.tier("program")
def test_a_typo_in_the_engines_config_is_caught_as_the_cli_passes_it(monkeypatch):
    """The Pulumi CLI hands the program its config in PULUMI_CONFIG, which `pulumi.Config` cannot list."""
    config = {**stack_config("dev"), "data-pipeline:maxInputObjectMB": 5}
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(as_engine_config(config)))
    with pytest.raises(pulumi.RunError, match="data-pipeline:maxInputObjectMB: unknown key; did you mean "
                                              "data-pipeline:maxInputObjectMb?"):
        run_program("dev", {}, strict=True)
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(as_engine_config(stack_config("dev"))))
    assert run_program("dev", {}, strict=True).exports["glue_jobs"]


KINDS = {int: "integer", bool: "boolean", str: "string", list: "array"}


def declaration(key: str) -> str:
    """The Pulumi.yaml entry STACK_FIELDS implies for a key, to paste (the description is the author's)."""
    setting = STACK_FIELDS[key]
    entry = {"type": KINDS[setting.kind], **({"items": {"type": "string"}} if setting.kind is list else {}),
             **({"default": setting.default} if setting.default is not None else {}), "description": "..."}
    return yaml.safe_dump({"config": {f"{PROJECT}:{key}": entry}}, sort_keys=False)


def test_project_schema_declares_each_key_as_settings_schema_defines_it():
    """settings/schema.py is the source of each key's type, default and rule; Pulumi.yaml says the same."""
    declared = project_file()["config"]
    missing = [key for key in STACK_FIELDS if f"{PROJECT}:{key}" not in declared]
    assert not missing, "Pulumi.yaml lacks:\n" + "".join(declaration(key) for key in missing)
    assert set(declared) == {f"{PROJECT}:{key}" for key in STACK_FIELDS}, "Pulumi.yaml declares unknown keys"
    for key, setting in STACK_FIELDS.items():
        entry = declared[f"{PROJECT}:{key}"]
        assert entry["description"], key
        assert (entry["type"], entry.get("default")) == (KINDS[setting.kind], setting.default), declaration(key)
        if setting.default is not None:
            assert setting.rule.check(setting.default), f"default of {key} is not allowed by its own rule"
    assert set(JOB_OVERRIDES.values()) <= set(STACK_FIELDS)


def test_every_settings_field_is_filled_by_exactly_one_key():
    from dataclasses import fields

    section_types = {f.name: f.type for f in fields(StackSettings)}
    targets = [s.field for s in STACK_FIELDS.values() if s.field]
    assert len(targets) == len(set(targets))
    settings = parse_settings("prod", raw_config("prod"), JOBS_DIR)
    expected = set()
    for name in section_types:
        value = getattr(settings, name)
        if hasattr(value, "__dataclass_fields__"):
            expected |= {f"{name}.{f.name}" for f in fields(value)}
        elif name not in ("project", "stack", "glue_jobs"):
            expected.add(name)
    assert set(targets) == expected


def test_retention_values_are_cloudwatch_values():
    assert 30 in LOG_RETENTION_DAYS and 365 in LOG_RETENTION_DAYS and 10 not in LOG_RETENTION_DAYS


def test_every_job_folder_is_a_complete_job():
    """Every folder in jobs/ but the shared library and the scaffold is a job, with what the tools expect of it."""
    folders = sorted(p.name for p in JOBS_DIR.iterdir() if p.is_dir() and p.name not in (
        "common", "scaffold", "__pycache__"))
    assert folders == job_names() and len(folders) >= 2
    for job in folders:
        for module in ("glue_main.py", "job.py", "sample_data.py", "schema.py", "transforms.py", "__init__.py"):
            assert (JOBS_DIR / job / module).is_file(), f"jobs/{job}/{module}"
        assert (ROOT / "tests" / f"test_{job}_transforms.py").is_file(), f"tests of {job}"
    assert (JOBS_DIR / "__init__.py").is_file()


def test_every_stack_file_names_every_job_in_the_repository():
    """A job in jobs/ is deployed everywhere (python -m jobs new adds it to each stack file)."""
    for stack in SHIPPED_STACKS:
        assert sorted(stack_config(stack)[f"{PROJECT}:{GLUE_JOBS_KEY}"]) == job_names(), stack


@pytest.mark.tier("program")
def test_a_stack_file_typo_is_found_in_the_shipped_files(tmp_path):
    """The check covers the shipped stack files themselves, as the CLI reads them."""
    program = copy_program(tmp_path)
    stack_file = tmp_path / "Pulumi.qa.yaml"
    stack_file.write_text(stack_file.read_text().replace("logRetentionDays:", "logRetentionDay:"))
    config = {**stack_config("qa", tmp_path)}
    with pytest.raises(pulumi.RunError, match="logRetentionDay: unknown key; did you mean"):
        run_program("qa", config, program=program, strict=True)


@pytest.mark.tier("program")
def test_a_curated_column_no_iceberg_type_holds_stops_the_program_naming_it(tmp_path):
    """The table is created from the job's contract: a column it cannot declare is a one-line error, no trace."""
    program = copy_program(tmp_path)
    schema = tmp_path / "jobs" / "customers" / "schema.py"
    schema.write_text(schema.read_text()
                      .replace('StructField("email_domain", StringType())',
                               'StructField("email_domain", MapType(StringType(), StringType()))')
                      .replace("from pyspark.sql.types import ", "from pyspark.sql.types import MapType, "))
    with pytest.raises(pulumi.RunError) as error:
        run_program("dev", program=program, strict=True)
    assert str(error.value).startswith("jobs/customers/schema.py: column 'email_domain' has Spark type "
                                       "map<string,string>: a curated table column must be a decimal or one of")


@pytest.mark.parametrize(("region", "message", "ending"), [
    ("eu-wst-1", "aws:region = 'eu-wst-1': not a region of partition aws (botocore ", "did you mean eu-west-1?"),
    ("eu-west-1 ", "aws:region = 'eu-west-1 ': not an AWS region name (botocore ", "did you mean eu-west-1?"),
    ("mars-north-1", "aws:region = 'mars-north-1': not an AWS region name (botocore ", ", us-west-2"),
])
def test_a_region_the_partition_does_not_have_is_refused_with_the_closest_one(region, message, ending):
    with pytest.raises(ConfigError) as error:
        parse_settings("dev", raw_config("dev"), JOBS_DIR, region=region)
    (problem,) = error.value.problems
    assert problem.startswith(message) and problem.endswith(ending), problem


@pytest.mark.parametrize("region", ["eu-west-1", "us-east-1", "cn-north-1", "us-gov-west-1"])
def test_regions_of_every_partition_are_accepted(region):
    assert parse_settings("dev", raw_config("dev"), JOBS_DIR, region=region).stack == "dev"


@pytest.mark.tier("program")
def test_the_program_checks_the_stack_files_region():
    config = {**stack_config("dev"), "aws:region": "eu-wst-1"}
    with pytest.raises(pulumi.RunError, match="aws:region = 'eu-wst-1': not a region of partition aws .*did you mean "
                                              "eu-west-1?"):
        run_program("dev", config, strict=True)


BROKEN_STACK_FILES = [
    ("config:\n  aws:region: eu-west-1\n  data-pipeline:glueJobs:\n    orders: {\n  data-pipeline:owner: team\n",
     ", line 6, column 1: not valid YAML: did not find expected ',' or '}' (while parsing a flow mapping from line 4)"),
    ("config:\n  data-pipeline:owner: team\n\tdata-pipeline:costCenter: x\n",
     ", line 3, column 1: not valid YAML: found a tab character that violates indentation (while scanning a plain "
     "scalar from line 2)"),
    ("- config\n", ": must be a map with a `config:` map, not a list"),
    ("config: [owner]\n", ": `config:` must be a map of key to value, not a list"),
]


@pytest.mark.parametrize(("text", "message"), BROKEN_STACK_FILES)
def test_a_broken_stack_file_is_named_with_its_line(tmp_path, text, message):
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.dev.yaml").write_text(text)
    with pytest.raises(StackFileError) as error:
        stack_config("dev", tmp_path)
    assert str(error.value) == f"{tmp_path / 'Pulumi.dev.yaml'}{message}"


def test_a_stack_file_of_the_repository_is_named_as_the_user_finds_it():
    assert shown(ROOT / "Pulumi.dev.yaml") == "Pulumi.dev.yaml" and shown(ROOT / "automation" / "x.yaml") == (
        "automation/x.yaml")
