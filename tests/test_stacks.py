"""The program under Pulumi mocks, for every shipped stack: what it registers and how it is wired."""

from __future__ import annotations

import json
import shutil

import pulumi
import pytest

from components import artifacts
from harness.program import ACCOUNT_ID, copy_program, run_program
from settings.naming import ZONES
from stack_files import ROOT, stack_config
from tests.conftest import REPOSITORY_JOBS, P, stack_jobs

pytestmark = pytest.mark.tier("program")

BUCKET = "aws:s3/bucket:Bucket"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PUBLIC_ACCESS = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
GLUE_JOB = "aws:glue/job:Job"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
KMS_KEY = "aws:kms/key:Key"


def key_arn(run) -> str:
    (key,) = run.of_type(KMS_KEY)
    return key.outputs["arn"]


def by_bucket(run, type_: str) -> dict:
    return {r.inputs["bucket"]: r for r in run.of_type(type_)}


def test_every_bucket_is_encrypted_private_and_tls_only(shipped):
    _, config, run = shipped
    buckets = run.of_type(BUCKET)
    assert len(buckets) == len(ZONES) + config[P + "objectAccessAudit"]  # the audit log's own bucket
    encryption, public, policies = (by_bucket(run, t) for t in (ENCRYPTION, PUBLIC_ACCESS, BUCKET_POLICY))
    for bucket in buckets:
        name = bucket.outputs["bucket"]
        (rule,) = encryption[name].inputs["rules"]
        assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms",
                                                              "kmsMasterKeyId": key_arn(run)}
        assert rule["bucketKeyEnabled"] is True
        assert all(public[name].inputs[flag] is True for flag in
                   ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
        deny, *grants = json.loads(policies[name].inputs["policy"])["Statement"]
        assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert all(g["Principal"] == {"Service": "cloudtrail.amazonaws.com"} for g in grants)
        assert deny["Resource"] == [bucket.outputs["arn"], bucket.outputs["arn"] + "/*"]


def test_retention_versioning_and_lifecycle_come_from_the_stack_file(shipped):
    _, config, run = shipped
    versioning = "Enabled" if config[P + "bucketVersioning"] else "Suspended"
    assert {v.inputs["versioningConfiguration"]["status"] for v in run.of_type(VERSIONING)} == {versioning}
    log_groups = run.of_type(LOG_GROUP)
    assert log_groups, "the Glue job's log groups are created by the program"
    for group in log_groups:
        assert group.inputs["retentionInDays"] == config[P + "logRetentionDays"]
        assert group.inputs["kmsKeyId"] == key_arn(run)
    zone_rules = {r.name.removeprefix("lake-").removesuffix("-lifecycle"): r.inputs["rules"]
                  for r in run.of_type(LIFECYCLE)}
    rules = {zone: zone_rules[zone][0] for zone in zone_rules}
    assert rules["temp"]["expiration"]["days"] == config[P + "tempExpirationDays"]
    for zone in ("raw", "curated"):
        expiration = config.get(f"{P}{zone}ExpirationDays", 0)
        # The curated zone expires its run outputs only (tests/test_orchestration.py), never its tables' files.
        assert {rule.get("expiration", {}).get("days", 0) for rule in zone_rules[zone]} - {0} == (
            {expiration} if expiration else set())
        transition = config.get(f"{P}{zone}InfrequentAccessDays", 0)
        assert [t["days"] for t in rules[zone].get("transitions", [])] == ([transition] if transition else [])
    for rule in rules.values():
        assert rule["noncurrentVersionExpiration"]["noncurrentDays"] == config[P + "noncurrentVersionExpirationDays"]
        assert rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"] == 7


def test_every_stack_deploys_every_job_it_names_and_at_least_two(shipped):
    """Two jobs at least, so no test (or code) can come to assume there is only one."""
    stack, config, run = shipped
    jobs = stack_jobs(stack)
    assert len(jobs) >= 2 and len(REPOSITORY_JOBS) >= 2
    assert sorted(j.inputs["name"] for j in run.of_type(GLUE_JOB)) == [f"data-pipeline-{stack}-{job}" for job in jobs]
    assert len(run.of_type("aws:glue/securityConfiguration:SecurityConfiguration")) == len(jobs)
    # Two log groups per Glue job, one per state machine and one per function, and the object-access trail's.
    audit = config[P + "objectAccessAudit"]
    assert len(run.of_type(LOG_GROUP)) == 3 * len(jobs) + len(run.exports["functions"]) + audit


def test_glue_sizing_comes_from_the_stack_file(shipped_job):
    stack, name, config, run = shipped_job
    job = run.one(GLUE_JOB, f"{name}-job")
    overrides = config[P + "glueJobs"][name] or {}

    def expected(override: str, stack_key: str):
        return overrides.get(override, config[P + stack_key])

    assert job.inputs["name"] == f"data-pipeline-{stack}-{name}"
    assert job.inputs["glueVersion"] == "5.0"
    assert job.inputs["workerType"] == expected("workerType", "glueWorkerType")
    assert job.inputs["numberOfWorkers"] == expected("numberOfWorkers", "glueNumberOfWorkers")
    assert job.inputs["timeout"] == expected("timeoutMinutes", "glueTimeoutMinutes")
    assert job.inputs["maxRetries"] == expected("maxRetries", "glueMaxRetries")
    assert job.inputs["executionClass"] == expected("executionClass", "glueExecutionClass")
    assert job.inputs["executionProperty"]["maxConcurrentRuns"] == expected("maxConcurrentRuns",
                                                                             "glueMaxConcurrentRuns")


def test_glue_job_runs_encrypted_content_addressed_code(shipped_job):
    _, name, _, run = shipped_job
    job = run.one(GLUE_JOB, f"{name}-job")
    security = run.one("aws:glue/securityConfiguration:SecurityConfiguration", f"{name}-security")
    assert job.inputs["securityConfiguration"] == security.inputs["name"]
    encryption = security.inputs["encryptionConfiguration"]
    assert encryption["s3Encryption"] == {"s3EncryptionMode": "SSE-KMS", "kmsKeyArn": key_arn(run)}
    assert encryption["cloudwatchEncryption"] == {"cloudwatchEncryptionMode": "SSE-KMS", "kmsKeyArn": key_arn(run)}
    assert encryption["jobBookmarksEncryption"] == {"jobBookmarksEncryptionMode": "CSE-KMS",
                                                    "kmsKeyArn": key_arn(run)}

    script_digest = artifacts.digest((ROOT / f"jobs/{name}/glue_main.py").read_bytes())
    objects = {o.name: o for o in run.of_type("aws:s3/bucketObjectv2:BucketObjectv2")}
    artifacts_bucket = run.exports["buckets"]["artifacts"]
    assert objects[f"{name}-script"].inputs["key"] == f"glue/{name}/script/glue_main-{script_digest}.py"
    assert job.inputs["command"]["scriptLocation"] == (
        f"s3://{artifacts_bucket}/glue/{name}/script/glue_main-{script_digest}.py")
    assert job.inputs["defaultArguments"]["--extra-py-files"] == (
        f"s3://{artifacts_bucket}/{objects[f'{name}-library'].inputs['key']}")
    for uploaded in objects.values():
        assert uploaded.inputs["serverSideEncryption"] == "aws:kms"
        assert uploaded.inputs["kmsKeyId"] == key_arn(run)


def test_glue_job_default_arguments(shipped_job):
    stack, name, _, run = shipped_job
    job = run.one(GLUE_JOB, f"{name}-job")
    arguments = job.inputs["defaultArguments"]
    buckets = run.exports["buckets"]
    assert arguments["--TempDir"] == f"s3://{buckets['temp']}/{name}/glue-temp/"
    assert arguments["--source_path"] == f"s3://{buckets['raw']}/{name}/"
    assert arguments["--target_path"] == f"s3://{buckets['curated']}/{name}/"
    assert arguments["--database"] == f"data_pipeline_{stack}"
    assert arguments["--table"] == name
    for flag in ("--enable-metrics", "--enable-observability-metrics", "--enable-continuous-cloudwatch-log",
                 "--enable-job-insights"):
        assert arguments[flag] == "true", flag
    assert arguments["--job-bookmark-option"] == "job-bookmark-enable"
    log_prefix = arguments["--custom-logGroup-prefix"]
    assert log_prefix == f"/data-pipeline/{stack}/glue/{name}"
    assert {run.one(LOG_GROUP, f"{name}-{stream}-logs").inputs["name"] for stream in ("output", "error")} == {
        f"{log_prefix}/output", f"{log_prefix}/error"}


def _policy_statements(run, job: str) -> list[dict]:
    return json.loads(run.one(ROLE_POLICY, f"{job}-policy").inputs["policy"])["Statement"]


def test_glue_role_is_least_privilege_and_names_only_this_stacks_arns(shipped_job):
    stack, name, _, run = shipped_job
    role = run.one(ROLE, f"{name}-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust == [{"Sid": "TrustedService", "Effect": "Allow", "Principal": {"Service": "glue.amazonaws.com"},
                      "Action": "sts:AssumeRole",
                      "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}}}]
    assert role.inputs["path"] == f"/data-pipeline/{stack}/"
    own_names = [*run.exports["buckets"].values(), f"/data-pipeline/{stack}/", f"data_pipeline_{stack}",
                 key_arn(run)]
    for statement in _policy_statements(run, name):
        assert statement["Effect"] == "Allow"
        for action in statement["Action"]:
            assert "*" not in action, f"wildcard action {action} in {statement['Sid']}"
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for resource in resources:
            if resource == "*":
                # Only an action AWS offers no resource-level permission for, and then scoped by condition.
                assert statement["Action"] == ["cloudwatch:PutMetricData"]
                assert statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": "Glue"}}
            elif resource.endswith((":catalog", ":database/default")):
                assert resource.startswith(f"arn:aws:glue:{run_region(stack)}:{ACCOUNT_ID}:")
                if resource.endswith("/default"):
                    assert statement["Action"] == ["glue:GetDatabase"], "only a lookup of the default database"
            else:
                assert any(name in resource for name in own_names), f"{resource} is not this stack's"
                assert ACCOUNT_ID in resource or resource.startswith("arn:aws:s3:::")


def run_region(stack: str) -> str:
    return stack_config(stack)["aws:region"]


def test_glue_role_reaches_only_its_own_prefixes(shipped_job):
    _, name, _, run = shipped_job
    buckets = run.exports["buckets"]
    statements = _policy_statements(run, name)
    s3_objects = [r for s in statements if s["Action"][0].startswith("s3:")
                  for r in s["Resource"] if "/" in r.removeprefix("arn:aws:s3:::")]
    assert s3_objects and all(r.endswith(f"/{name}/*") for r in s3_objects)
    assert not any(buckets["raw"] in r for s in statements if "s3:PutObject" in s["Action"]
                   for r in s["Resource"]), "the job must not write to its raw input"


def test_kms_key_rotates_and_its_policy_is_scoped_to_the_stack(shipped):
    stack, config, run = shipped
    (key,) = run.of_type(KMS_KEY)
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == config[P + "kmsDeletionWindowDays"]
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    assert "kms:*" not in json.dumps(statements)
    assert not any(a in statements["KeyAdministration"]["Action"] for a in ("kms:Decrypt", "kms:Encrypt"))
    assert statements["UseByThisStacksRoles"]["Condition"]["ArnLike"] == {
        "aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT_ID}:role/data-pipeline/{stack}/*"}
    logs = statements["UseByThisStacksLogGroups"]
    assert logs["Principal"] == {"Service": f"logs.{run_region(stack)}.amazonaws.com"}
    assert logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] == (
        f"arn:aws:logs:{run_region(stack)}:{ACCOUNT_ID}:log-group:/data-pipeline/{stack}/*")


def test_only_prod_data_code_and_catalog_are_protected_from_deletion(shipped):
    stack, config, run = shipped
    protect = config[P + "protectData"]
    buckets = {b.name.removeprefix("lake-"): b for b in run.of_type(BUCKET)}
    for zone, bucket in buckets.items():
        # Data, every retained release's code, and the audit log of the data's access.
        kept = zone in ("raw", "curated", "artifacts", "object-access-logs")
        assert bucket.protect == (protect and kept), zone
        assert bucket.inputs["forceDestroy"] == (not (protect and kept)), zone
    (key,) = run.of_type(KMS_KEY)
    assert key.protect == protect
    (database,) = run.of_type("aws:glue/catalogDatabase:CatalogDatabase")
    tables, jobs = run.of_type("aws:glue/catalogTable:CatalogTable"), run.of_type("aws:glue/job:Job")
    assert tables and jobs
    assert {database.protect, *(r.protect for r in (*tables, *jobs))} == {protect}
    assert protect == (stack == "prod")


def test_prod_data_versions_are_kept_under_object_lock_in_governance_mode(shipped):
    stack, config, run = shipped
    days = config.get(P + "dataRetentionDays", 0)
    locks = {r.name.removeprefix("lake-").removesuffix("-object-lock"): r
             for r in run.of_type("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
                                  allow_empty=not days)}
    assert (days >= 1) == (stack == "prod")
    assert set(locks) == ({"raw", "curated"} if days else set())
    buckets = {b.name.removeprefix("lake-"): b for b in run.of_type(BUCKET)}
    versioning = {v.name.removeprefix("lake-").removesuffix("-versioning"): v
                  for v in run.of_type("aws:s3/bucketVersioning:BucketVersioning")}
    for zone, lock in locks.items():
        assert lock.inputs["bucket"] == buckets[zone].outputs["bucket"]
        assert lock.inputs["rule"] == {"defaultRetention": {"mode": "GOVERNANCE", "days": days}}
        assert versioning[zone].inputs["versioningConfiguration"]["status"] == "Enabled"
        assert lock.protect


def test_every_taggable_resource_carries_the_stack_tags(shipped):
    stack, config, run = shipped
    expected = {"project": "data-pipeline", "stack": stack, "owner": config[P + "owner"],
                "cost-center": config[P + "costCenter"], "managed-by": "pulumi"}
    for resource in run.resources:
        if "tags" in resource.inputs:
            assert expected.items() <= resource.inputs["tags"].items(), resource.name
    for type_ in (BUCKET, KMS_KEY, ROLE, GLUE_JOB, LOG_GROUP):
        assert all("tags" in r.inputs for r in run.of_type(type_)), type_


def test_components_follow_the_pulumi_component_layout(shipped):
    _, config, run = shipped
    components = {r.type for r in run.resources if r.type.startswith("data-pipeline:")}
    audit = {"data-pipeline:storage:ObjectAccessAudit", "data-pipeline:monitoring:ObjectAccessAlarms"} \
        if config[P + "objectAccessAudit"] else set()
    assert components - audit == {"data-pipeline:storage:DataLake", "data-pipeline:storage:SecureBucket",
                          "data-pipeline:storage:CuratedTable",
                          "data-pipeline:glue:GlueJob", "data-pipeline:compute:LambdaFunction",
                          "data-pipeline:compute:PipelineFunctions", "data-pipeline:monitoring:Monitoring",
                          "data-pipeline:monitoring:Notifications", "data-pipeline:orchestration:Pipeline",
                          "data-pipeline:orchestration:Schedule"}
    for resource in run.resources:
        if resource.type.startswith("aws:"):
            assert resource.parent_type.startswith("data-pipeline:"), f"{resource.name} is not inside a component"


def test_exports_name_what_later_stages_need(shipped):
    stack, _, run = shipped
    assert set(run.exports) == {"kms_key_arn", "buckets", "glue_database", "glue_jobs", "glue_job_roles",
                                "state_machines", "functions", "alert_topic_arn", "dashboard", "pipeline_versions",
                                "pipeline_aliases", "alarm_names", "release", "releases", "tables"}
    assert run.exports["tables"] == {job: f"data_pipeline_{stack}.{job}" for job in stack_jobs(stack)}
    assert run.exports["glue_jobs"] == {job: f"data-pipeline-{stack}-{job}" for job in stack_jobs(stack)}
    assert set(run.exports["state_machines"]) == set(run.exports["glue_job_roles"]) == set(stack_jobs(stack))
    assert set(run.exports["buckets"]) == set(ZONES)


@pytest.mark.slow
def test_a_new_job_is_a_folder_plus_a_config_entry(tmp_path):
    """Adding a job needs no program change: a job folder and its name in config give a third GlueJob."""
    program = copy_program(tmp_path)
    shutil.copytree(tmp_path / "jobs" / "customers", tmp_path / "jobs" / "returns")
    entrypoint = tmp_path / "jobs" / "returns" / "glue_main.py"
    entrypoint.write_text(entrypoint.read_text().replace("jobs.customers.job", "jobs.returns.job"))
    jobs = {**stack_config("dev")[P + "glueJobs"], "returns": {"numberOfWorkers": 6}}
    run = run_program("dev", {**stack_config("dev"), P + "glueJobs": jobs}, program=program, strict=True)
    glue_jobs = {j.inputs["name"]: j for j in run.of_type(GLUE_JOB)}
    assert set(glue_jobs) == {f"data-pipeline-dev-{job}" for job in jobs}
    assert glue_jobs["data-pipeline-dev-returns"].inputs["numberOfWorkers"] == 6
    assert {r.name for r in run.of_type(ROLE)} >= {f"{job}-role" for job in jobs}
    assert {r.name for r in run.of_type("aws:sfn/stateMachine:StateMachine")} == {
        f"{job}-pipeline-state-machine" for job in jobs}
    assert run.exports["tables"] == {job: f"data_pipeline_dev.{job}" for job in jobs}


def test_an_unedited_copy_of_another_jobs_entrypoint_is_refused(tmp_path):
    """A copied glue_main.py still importing the original's module would deploy the original's code."""
    program = copy_program(tmp_path)
    shutil.copytree(tmp_path / "jobs" / "orders", tmp_path / "jobs" / "returns")
    config = {**stack_config("dev"), P + "glueJobs": {"orders": {}, "returns": {}}}
    with pytest.raises(pulumi.RunError, match=r"data-pipeline:glueJobs.returns: jobs/returns/glue_main.py runs "
                                              r"jobs.orders.job, not jobs.returns.job"):
        run_program("dev", config, program=program, strict=True)
