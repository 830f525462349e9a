"""Orchestration and operations under Pulumi mocks, for every shipped stack: wiring, sizing, least privilege."""

from __future__ import annotations

import json

import pytest

from components.iam.table_maintenance_policy import OPTIMIZER_LOG_GROUPS
from components.lambda_function import ALIAS, POWERTOOLS_LAYER
from settings.naming import FUNCTIONS as FUNCTION_KINDS
from stack_files import ROOT
from tests.conftest import P, stack_jobs

pytestmark = pytest.mark.tier("program")

FUNCTION = "aws:lambda/function:Function"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
SCHEDULE = "aws:scheduler/schedule:Schedule"
FUNCTIONS = tuple(FUNCTION_KINDS)
ASYNC_FUNCTIONS = tuple(key for key, asynchronous in FUNCTION_KINDS.items() if asynchronous)
# Actions AWS offers no resource-level permission for, so `Resource: "*"` is the only way to grant them.
NO_RESOURCE_LEVEL = {"cloudwatch:PutMetricData", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
                     "xray:GetSamplingRules", "xray:GetSamplingTargets", "logs:CreateLogDelivery",
                     "logs:DeleteLogDelivery", "logs:DescribeLogGroups", "logs:DescribeResourcePolicies",
                     "logs:GetLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
                     "logs:UpdateLogDelivery"}


def key_arn(run) -> str:
    return run.exports["kms_key_arn"]


def function(run, key: str):
    return run.one(FUNCTION, f"functions-{key.replace('_', '-')}-function")


def alias_arn(run, key: str) -> str:
    return run.one("aws:lambda/alias:Alias", f"functions-{key.replace('_', '-')}-alias").outputs["arn"]


def version_arn(run, key: str) -> str:
    """The version this deploy published (what a pipeline version pins)."""
    return function(run, key).outputs["qualifiedArn"]


def test_functions_are_sized_traced_encrypted_and_aliased(shipped):
    stack, config, run = shipped
    for key in FUNCTIONS:
        fn = function(run, key).inputs
        assert fn["memorySize"] == config[P + "lambdaMemoryMb"]
        assert fn["timeout"] == config[P + "lambdaTimeoutSeconds"]
        assert fn["reservedConcurrentExecutions"] == config[P + "lambdaReservedConcurrency"]
        assert fn["tracingConfig"] == {"mode": "Active"}
        assert fn["kmsKeyArn"] == key_arn(run)
        assert fn["publish"] is True and fn["runtime"] == "python3.11"
        assert fn["loggingConfig"] == {"logFormat": "JSON", "logGroup": f"/data-pipeline/{stack}/lambda/{key}"}
        assert fn["layers"] == [POWERTOOLS_LAYER.format(partition="aws", region=config["aws:region"])]
        module = fn["handler"].rsplit(".", 1)[0].replace(".", "/") + ".py"
        assert (ROOT / module).is_file(), f"handler {fn['handler']} does not exist"
        assert fn["environment"]["variables"]["POWERTOOLS_SERVICE_NAME"] == key
        alias = run.one("aws:lambda/alias:Alias", f"functions-{key.replace('_', '-')}-alias").inputs
        assert alias["name"] == ALIAS and alias["functionVersion"] == "1"


def test_asynchronous_functions_keep_failed_events(shipped):
    _, _, run = shipped
    configs = {c.inputs["functionName"]: c.inputs for c in
               run.of_type("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")}
    queues = {q.name: q for q in run.of_type("aws:sqs/queue:Queue")}
    for key in FUNCTIONS:
        name = function(run, key).inputs["name"]
        if key in ASYNC_FUNCTIONS:
            queue = queues[f"functions-{key.replace('_', '-')}-dead-letters"]
            assert queue.inputs["kmsMasterKeyId"] == key_arn(run)
            assert configs[name]["destinationConfig"] == {"onFailure": {"destination": queue.outputs["arn"]}}
            assert configs[name]["qualifier"] == ALIAS
        else:
            assert name not in configs, f"{key} is invoked synchronously by the state machine"


def test_package_is_content_addressed(shipped):
    _, _, run = shipped
    hashes = {key: function(run, key).inputs["sourceCodeHash"] for key in FUNCTIONS}
    assert len(set(hashes.values())) == len(FUNCTIONS)


def test_one_state_machine_per_job(shipped):
    stack, _, run = shipped
    assert sorted(m.inputs["name"] for m in run.of_type(STATE_MACHINE)) == sorted(
        f"data-pipeline-{stack}-{job.replace('_', '-')}-pipeline" for job in stack_jobs(stack))


def test_state_machine_runs_exactly_its_job_and_the_stacks_functions(shipped_job):
    stack, job, config, run = shipped_job
    machine = run.one(STATE_MACHINE, f"{job}-pipeline-state-machine")
    states = json.loads(machine.inputs["definition"])["States"]
    assert states["ValidateInput"]["Parameters"]["FunctionName"] == version_arn(run, "validate_input")
    assert states["ValidateInput"]["Parameters"]["Payload"]["job"] == job
    assert states["QualityGate"]["Parameters"]["FunctionName"] == version_arn(run, "quality_gate")
    assert states["RunGlueJob"]["Parameters"]["JobName"] == run.exports["glue_jobs"][job]
    assert {states[s]["Parameters"]["TopicArn"] for s in ("NotifySuccess", "NotifyFailure")} == {
        run.exports["alert_topic_arn"]}
    assert machine.inputs["tracingConfiguration"] == {"enabled": True}
    logging = machine.inputs["loggingConfiguration"]
    assert logging["level"] == config[P + "stateMachineLogLevel"]
    assert logging["logDestination"].endswith(f":log-group:/data-pipeline/{stack}/states/{job}:*")
    assert machine.inputs["encryptionConfiguration"]["kmsKeyId"] == key_arn(run)

    statements = {s["Sid"]: s for s in json.loads(run.one(ROLE_POLICY, f"{job}-pipeline-policy").inputs["policy"])[
        "Statement"]}
    glue_job = run.one("aws:glue/job:Job", f"{job}-job").outputs["arn"]
    assert statements["RunGlueJob"]["Resource"] == [glue_job]
    # Any version of exactly these two functions: every retained pipeline version calls its own.
    assert statements["InvokeStepVersions"]["Resource"] == sorted(
        f"{function(run, key).outputs['arn']}:*" for key in ("validate_input", "quality_gate"))
    assert statements["Notify"]["Resource"] == [run.exports["alert_topic_arn"]]


def test_glue_job_events_reach_the_job_monitor(shipped):
    _, _, run = shipped
    (rule,) = run.of_type("aws:cloudwatch/eventRule:EventRule")
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern["source"] == ["aws.glue"] and pattern["detail-type"] == ["Glue Job State Change"]
    assert pattern["detail"]["jobName"] == list(run.exports["glue_jobs"].values())
    (target,) = run.of_type("aws:cloudwatch/eventTarget:EventTarget")
    assert target.inputs["rule"] == rule.inputs["name"]
    assert target.inputs["arn"] == alias_arn(run, "job_monitor")
    (permission,) = run.of_type("aws:lambda/permission:Permission")
    assert permission.inputs["principal"] == "events.amazonaws.com"
    assert permission.inputs["sourceArn"] == rule.outputs["arn"]
    assert permission.inputs["qualifier"] == ALIAS
    assert permission.inputs["function"] == run.exports["functions"]["job_monitor"]


def test_every_alarm_notifies_the_topic_with_the_stacks_thresholds(shipped):
    stack, config, run = shipped
    topic = run.exports["alert_topic_arn"]
    # The stack's operations alarms, not the release alarms of each pipeline (tests/test_release_graph.py).
    alarms = {a.inputs["name"].removeprefix(f"data-pipeline-{stack}-"): a.inputs for a in run.of_type(ALARM)
              if a.parent_type != "data-pipeline:orchestration:Pipeline"}
    for alarm in alarms.values():
        assert alarm["alarmActions"] == [topic] and alarm["okActions"] == [topic]
        assert alarm["period"] == config[P + "alarmPeriodSeconds"]
        assert alarm["evaluationPeriods"] == config[P + "alarmEvaluationPeriods"]
    jobs = stack_jobs(stack)
    for job in jobs:
        assert alarms[f"{job}-glue-job-failures"]["threshold"] == config[P + "alarmGlueJobFailures"]
        assert alarms[f"{job}-glue-job-failures"]["dimensions"] == {"service": "job_monitor",
                                                                    "job": run.exports["glue_jobs"][job]}
        machine = run.exports["state_machines"][job]
        for label, metric in (("failed", "ExecutionsFailed"), ("timed-out", "ExecutionsTimedOut")):
            assert alarms[f"{job}-pipeline-{label}"]["metricName"] == metric
            assert alarms[f"{job}-pipeline-{label}"]["dimensions"] == {"StateMachineArn": machine}
            assert alarms[f"{job}-pipeline-{label}"]["threshold"] == config[P + "alarmStateMachineFailures"]
    timeout_ms = config[P + "lambdaTimeoutSeconds"] * 1000
    for key in FUNCTIONS:
        short = key.replace("_", "-")
        dimensions = {"FunctionName": run.exports["functions"][key]}
        assert alarms[f"{short}-errors"]["threshold"] == config[P + "alarmLambdaErrors"]
        assert alarms[f"{short}-throttles"]["threshold"] == config[P + "alarmLambdaThrottles"]
        duration = alarms[f"{short}-duration-near-timeout"]
        assert duration["extendedStatistic"] == "p99" and duration["dimensions"] == dimensions
        assert duration["threshold"] == timeout_ms * config[P + "alarmLambdaDurationPercent"] // 100
    # And the object-access trail's two (tests/test_object_access_audit.py).
    assert len(alarms) == 3 * len(jobs) + 3 * len(FUNCTIONS) + 2 * config[P + "objectAccessAudit"]


def test_topic_is_encrypted_and_subscribed_from_settings(shipped):
    _, config, run = shipped
    (topic,) = run.of_type("aws:sns/topic:Topic")
    assert topic.inputs["kmsMasterKeyId"] == key_arn(run)
    emails = sorted(s.inputs["endpoint"] for s in run.of_type("aws:sns/topicSubscription:TopicSubscription",
                                                                           allow_empty=not config[P + "alertEmails"]))
    assert emails == sorted(config[P + "alertEmails"])
    (policy,) = run.of_type("aws:sns/topicPolicy:TopicPolicy")
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


def test_pipeline_schedule_only_where_configured_cleanup_everywhere(shipped):
    stack, config, run = shipped
    schedules = {s.inputs["name"]: s.inputs for s in run.of_type(SCHEDULE)}
    cleanup = schedules.pop(f"data-pipeline-{stack}-cleanup")
    assert cleanup["target"]["arn"] == alias_arn(run, "cleanup")
    if config[P + "pipelineSchedule"]:
        names = {job: f"data-pipeline-{stack}-{job.replace('_', '-')}-pipeline" for job in stack_jobs(stack)}
        assert set(schedules) == set(names.values())
        for job, name in names.items():
            pipeline = schedules[name]
            assert pipeline["scheduleExpression"] == config[P + "pipelineSchedule"]
            # Schedules start the live alias, never the unqualified state machine.
            assert pipeline["target"]["arn"] == run.exports["pipeline_aliases"][job]
    else:
        assert schedules == {}


def test_dashboard_shows_jobs_executions_and_functions(shipped):
    _, _, run = shipped
    (dashboard,) = run.of_type("aws:cloudwatch/dashboard:Dashboard")
    body = dashboard.inputs["dashboardBody"]
    widgets = json.loads(body)["widgets"]
    assert [w["properties"]["title"] for w in widgets] == [
        "Glue job runs by outcome", "Glue job elapsed time (ms)", "Pipeline executions",
        "Lambda invocations, errors, throttles", "Lambda duration p99 (ms)"]
    for name in [*run.exports["functions"].values(), *run.exports["glue_jobs"].values(),
                 *run.exports["state_machines"].values()]:
        assert name in body


def _statements(policy) -> list[dict]:
    return json.loads(policy.inputs["policy"])["Statement"]


def test_every_role_is_scoped_to_this_stack(shipped):
    stack, _, run = shipped
    own = [*run.exports["buckets"].values(), f"/data-pipeline/{stack}/", f"data-pipeline-{stack}-",
           f"data_pipeline_{stack}", key_arn(run)]
    optimizer_logs = {f"arn:aws:logs:eu-west-1:123456789012:log-group:{group}:*" for group in OPTIMIZER_LOG_GROUPS}
    roles = {r.outputs["name"]: r for r in run.of_type(ROLE)}
    assert all(r.inputs["path"] == f"/data-pipeline/{stack}/" for r in roles.values())
    # CloudTrail delivers the object-access trail to CloudWatch Logs (tests/test_object_access_audit.py).
    expected_services = {"glue.amazonaws.com", "lambda.amazonaws.com", "states.amazonaws.com",
                         "scheduler.amazonaws.com", "cloudtrail.amazonaws.com"}
    for role in roles.values():
        (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        assert trust["Principal"]["Service"] in expected_services
        assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    for policy in run.of_type(ROLE_POLICY):
        for statement in _statements(policy):
            assert statement["Effect"] == "Allow"
            actions = statement["Action"]
            assert all("*" not in action for action in actions), (policy.name, actions)
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for resource in resources:
                if resource == "*":
                    assert set(actions) <= NO_RESOURCE_LEVEL, (policy.name, statement["Sid"])
                elif resource.endswith(":database/default"):
                    assert actions == ["glue:GetDatabase"], (policy.name, actions)
                elif resource in optimizer_logs:
                    # The account's log groups Glue's table optimizers log to, named by AWS: only to write logs.
                    assert actions == ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
                    assert policy.name.endswith("-maintenance-policy"), policy.name
                elif not resource.endswith(":catalog"):
                    assert any(name in resource for name in own), (policy.name, resource)


def test_cleanup_reaches_only_temp_and_health_check_prefixes(shipped):
    stack, _, run = shipped
    buckets = run.exports["buckets"]
    env = function(run, "cleanup").inputs["environment"]["variables"]
    jobs = stack_jobs(stack)
    assert json.loads(env["CLEANUP_LOCATIONS"]) == [f"{buckets['temp']}/{job}/" for job in jobs] + [
        f"{buckets[zone]}/_health/{job}/" for job in jobs for zone in ("raw", "curated")]
    (delete,) = [s for s in _statements(run.one(ROLE_POLICY, "functions-cleanup-policy"))
                 if s["Sid"] == "DeleteExpired"]
    assert delete["Resource"] == [f"arn:aws:s3:::{loc}*" for loc in json.loads(env["CLEANUP_LOCATIONS"])]


def test_handlers_read_the_settings_they_are_given(shipped):
    """Every environment variable a handler reads is set on its function, and nothing it does not read."""
    _, _, run = shipped
    import importlib

    platform = {"STACK", "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"}
    for key in FUNCTIONS:
        # A handler reads its settings as the fields of its Settings model, each from the variable it is named by.
        settings = importlib.import_module(f"functions.{key}.handler").Settings
        read = {field.alias for field in settings.model_fields.values()}
        given = set(function(run, key).inputs["environment"]["variables"])
        assert read <= given, f"{key} reads {read - given} that are not set"
        assert given - platform <= read, f"{key} is given {given - platform - read} that it never reads"


def test_quality_gate_may_read_the_results_of_normal_and_health_check_runs(shipped):
    """The gate reads where the runner writes (jobs/common/runner.py), for pipeline and health-check runs alike,
    and nothing else of the curated data."""
    from fnmatch import fnmatchcase

    from jobs.common.outputs import OutputPaths
    from settings.naming import HEALTH_CHECK_FOLDER

    stack, _, run = shipped
    curated = run.exports["buckets"]["curated"]
    (read,) = [s for s in _statements(run.one(ROLE_POLICY, "functions-quality-gate-policy"))
               if s["Sid"] == "ReadQualityResults"]

    def allowed(s3_uri: str) -> bool:
        return any(fnmatchcase(f"arn:aws:s3:::{s3_uri.removeprefix('s3://')}", r) for r in read["Resource"])

    for job in stack_jobs(stack):
        for target in (f"s3://{curated}/{job}/", f"s3://{curated}/{HEALTH_CHECK_FOLDER}/{job}/3f1c2a9e0b7d/"):
            assert allowed(OutputPaths.of(target, "jr_0123").quality_result), target
        assert not allowed(f"s3://{curated}/{job}/data/day=2026-11-01/part-0.parquet")
        assert not allowed(f"s3://{curated}/{job}/table/metadata/v1.metadata.json")
    assert not allowed(f"s3://{curated}/other_job/_dq/run_id=jr_1/result.json")


def test_a_scheduled_state_machine_start_may_use_the_stack_key(shipped):
    """The state machine is encrypted with the stack key, so whoever starts it must be able to use the key."""
    stack, config, run = shipped
    policies = {p.name: json.loads(p.inputs["policy"])["Statement"] for p in run.of_type(ROLE_POLICY)
                if "schedule" in p.name}
    cleanup = policies.pop("functions-cleanup-schedule-policy")
    # Every schedule keeps its input encrypted with the stack key, so every schedule's role may decrypt with it.
    assert {s.inputs["kmsKeyArn"] for s in run.of_type(SCHEDULE)} == {key_arn(run)}
    assert [s["Sid"] for s in cleanup] == ["StartTarget", "DecryptScheduleInput"]
    assert cleanup[1]["Action"] == ["kms:Decrypt"] and cleanup[1]["Resource"] == [key_arn(run)]
    if config[P + "pipelineSchedule"]:
        assert set(policies) == {f"{job}-pipeline-schedule-policy" for job in stack_jobs(stack)}
        for job in stack_jobs(stack):
            by_sid = {s["Sid"]: s for s in policies[f"{job}-pipeline-schedule-policy"]}
            assert by_sid["StartTarget"]["Action"] == ["states:StartExecution"]
            assert by_sid["StartTarget"]["Resource"] == [run.exports["pipeline_aliases"][job]]
            assert by_sid["EncryptTargetInput"]["Resource"] == [key_arn(run)]
    else:
        assert policies == {}


# --- curated Iceberg tables --------------------------------------------------------------------------------------

TABLE = "aws:glue/catalogTable:CatalogTable"
OPTIMIZER = "aws:glue/catalogTableOptimizer:CatalogTableOptimizer"
# Spark type -> the Iceberg type Spark writes it as (jobs' schemas use these).
SPARK_TO_ICEBERG = {"string": "string", "int": "int", "bigint": "long", "boolean": "boolean", "date": "date",
                    "timestamp": "timestamptz", "double": "double"}


def test_every_job_writes_an_iceberg_table_the_stack_declares(shipped_job):
    """Glue creates the table (format v2) from the job's curated contract, where the job's role may write, under the
    name the job is given; Iceberg commits own it afterwards, so `pulumi up` never writes those fields back."""
    from jobs.common.catalog import load_job

    stack, job, _, run = shipped_job
    database, curated = run.exports["glue_database"], run.exports["buckets"]["curated"]
    table = run.one(TABLE, f"{job}-table")
    assert (table.inputs["name"], table.inputs["databaseName"]) == (job, database)
    iceberg = table.inputs["openTableFormatInput"]["icebergInput"]
    assert (iceberg["metadataOperation"], iceberg["version"]) == ("CREATE", "2")
    assert iceberg["icebergTableInput"]["location"] == f"s3://{curated}/{job}/table/"
    columns = [(f["name"], json.loads(f["type"])) for f in iceberg["icebergTableInput"]["schema"]["fields"]]
    expected = [(f.name, SPARK_TO_ICEBERG.get(f.dataType.simpleString(), f.dataType.simpleString()))
                for f in load_job(job).curated_schema.fields]
    assert columns == expected
    assert [f["id"] for f in iceberg["icebergTableInput"]["schema"]["fields"]] == list(range(1, len(expected) + 1))
    assert {"parameters", "storageDescriptor", "openTableFormatInput"} <= set(table.ignore_changes)
    assert table.protect == (stack == "prod")
    assert run.exports["tables"][job] == f"{database}.{job}"
    arguments = run.one("aws:glue/job:Job", f"{job}-job").inputs["defaultArguments"]
    assert (arguments["--database"], arguments["--table"]) == (database, job)
    assert (arguments["--datalake-formats"], arguments["--kms_key_arn"]) == ("iceberg", key_arn(run))
    (policy,) = [p for p in run.of_type(ROLE_POLICY) if p.name == f"{job}-policy"]
    (commit,) = [s for s in _statements(policy) if s["Sid"] == "CommitToOwnTable"]
    assert commit["Resource"][-1] == f"arn:aws:glue:eu-west-1:123456789012:table/{database}/{job}"
    assert f"arn:aws:s3:::{curated}/{job}/*" in next(
        s for s in _statements(policy) if s["Sid"] == "WriteCuratedAndTemp")["Resource"]


def test_every_table_is_maintained_with_the_stacks_retention_by_its_own_role(shipped_job):
    stack, job, config, run = shipped_job
    optimizers = {o.inputs["type"]: o.inputs for o in run.of_type(OPTIMIZER) if o.inputs["tableName"] == job}
    assert set(optimizers) == {"compaction", "retention", "orphan_file_deletion"}
    role = run.one(ROLE, f"{job}-maintenance-role")
    assert role.outputs["name"] == f"data-pipeline-{stack}-table-{job.replace('_', '-')}"
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Service": "glue.amazonaws.com"}
    for optimizer in optimizers.values():
        assert optimizer["databaseName"] == run.exports["glue_database"]
        assert optimizer["configuration"]["enabled"] is True
        assert optimizer["configuration"]["roleArn"] == role.outputs["arn"]
    retention = optimizers["retention"]["configuration"]["retentionConfiguration"]["icebergConfiguration"]
    assert retention == {"snapshotRetentionPeriodInDays": config[P + "tableSnapshotRetentionDays"],
                         "numberOfSnapshotsToRetain": config[P + "tableSnapshotsToKeep"], "cleanExpiredFiles": True}
    orphans = optimizers["orphan_file_deletion"]["configuration"]["orphanFileDeletionConfiguration"]
    assert orphans["icebergConfiguration"] == {
        "orphanFileRetentionPeriodInDays": config[P + "tableOrphanFileRetentionDays"]}
    # The optimizer must not start before its role may act.
    (policy,) = [p for p in run.of_type(ROLE_POLICY) if p.name == f"{job}-maintenance-policy"]
    assert all(policy.urn in run.one(OPTIMIZER, f"{job}-{kind}").dependencies
               for kind in ("compaction", "retention", "orphan-file-deletion"))


def test_validate_input_knows_each_jobs_scheduled_and_health_check_locations(shipped):
    stack, _, run = shipped
    buckets = run.exports["buckets"]
    raw, curated = buckets["raw"], buckets["curated"]
    env = function(run, "validate_input").inputs["environment"]["variables"]
    assert json.loads(env["JOBS"]) == {job: {
        "source": f"s3://{raw}/{job}/", "target": f"s3://{curated}/{job}/",
        "health_source": f"s3://{raw}/_health/{job}/", "health_target": f"s3://{curated}/_health/{job}/",
    } for job in stack_jobs(stack)}
    (listing,) = [s for s in _statements(run.one(ROLE_POLICY, "functions-validate-input-policy"))
                  if s["Sid"] == "ListJobInput"]
    assert listing["Action"] == ["s3:ListBucket"] and listing["Resource"] == [f"arn:aws:s3:::{raw}"]
    assert listing["Condition"]["StringLike"]["s3:prefix"] == sorted(
        f"{folder}{suffix}" for job in stack_jobs(stack) for folder in (f"{job}", f"_health/{job}")
        for suffix in ("", "/*"))


def test_curated_expiry_reaches_what_runs_leave_and_never_a_tables_files(shipped):
    """S3 expiry counts from an object's creation; a table's file is needed as long as a snapshot references it,
    however old. So the curated bucket expires only run outputs (where the runner writes them) and health-check
    folders; snapshot retention removes the tables' files."""
    from fnmatch import fnmatchcase

    from jobs.common.outputs import OutputPaths

    stack, config, run = shipped
    curated = run.exports["buckets"]["curated"]
    lifecycle = next(r for r in run.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
                     if r.name == "lake-curated-lifecycle")
    expiring = [rule["filter"]["prefix"] for rule in lifecycle.inputs["rules"] if "expiration" in rule]

    def expires(key: str) -> bool:
        return any(fnmatchcase(key, f"{prefix}*") for prefix in expiring)

    if not config[P + "curatedExpirationDays"]:
        assert expiring == []
        return
    assert {rule["expiration"]["days"] for rule in lifecycle.inputs["rules"] if "expiration" in rule} == {
        config[P + "curatedExpirationDays"]}
    for job in stack_jobs(stack):
        for target in (f"s3://{curated}/{job}/", f"s3://{curated}/_health/{job}/r1/"):
            paths = OutputPaths.of(target, "jr_1")
            for path in (paths.quarantine + "/part-0.parquet", paths.quality_result):
                assert expires(path.removeprefix(f"s3://{curated}/")), path
        for table_file in ("table/metadata/v1.metadata.json", "table/data/order_date=2020-01-01/00000-0.parquet"):
            assert not expires(f"{job}/{table_file}"), table_file
