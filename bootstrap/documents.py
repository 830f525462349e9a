"""The bootstrap's IAM documents as plain dicts: trust of GitHub's OIDC subjects, the key policies of the state
and secrets keys, and what each workflow role may do with the state and with the pipeline stacks it owns."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from components.iam.documents import document, statement
from components.iam.function_policies import XRAY_WRITE_ACTIONS
from components.iam.kms_key_policy import KEY_USE_ACTIONS, key_administration
from components.iam.state_machine_policy import LOG_DELIVERY_ACTIONS
from components.iam.table_maintenance_policy import OPTIMIZER_LOG_GROUPS
from components.lambda_function import POWERTOOLS_LAYER
from settings import naming
from settings.schema import PRODUCTION_STACKS

from .config import PIPELINE_PROJECT

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_URL = f"https://{GITHUB_OIDC_HOST}"
# The audience aws-actions/configure-aws-credentials requests a token for.
STS_AUDIENCE = "sts.amazonaws.com"
# Where the Pulumi DIY backend keeps everything in its bucket (pkg/backend/diy): meta.yaml, stacks/<project>/
# (checkpoints and tags), history, backups, journal, locks/organization/<project>/<stack>.
STATE_ROOT = ".pulumi"
# Services the pipeline's roles are passed to when the program creates the resources that use them.
PIPELINE_SERVICES = ("cloudtrail", "glue", "lambda", "scheduler", "states")


def preview_environment(environment: str) -> str:
    """The GitHub environment a pull request's preview of `environment` runs in: open to pull requests' branches,
    holding the variables of the stack's account and its own preview role, and behind the stack's reviewers where
    the stack is protected, so that a pull request's code reads a protected stack's state only once approved."""
    return f"preview-{environment}"


def drift_environment(environment: str) -> str:
    """The GitHub environment of the nightly drift check of `environment`: unprotected by reviews (it changes
    nothing), restricted to the default branch, and holding the variables of the account the stack lives in."""
    return f"drift-{environment}"


# The workflow files (.github/workflows/) whose jobs assume the roles: named here only.
RELEASE_WORKFLOW = "release-stack.yml"
ROLLBACK_WORKFLOW = "rollback.yml"
DELIVERY_WORKFLOW = "delivery.yml"
DRIFT_WORKFLOW = "drift.yml"
PULL_REQUEST_WORKFLOW = "pull-request.yml"
REAPER_WORKFLOW = "pr-stack-reaper.yml"


class RunsIn(Enum):
    """Where a trusted workflow's job runs: the `context` part of its token subject."""

    # The role's GitHub environment(s), from the default branch (the environments allow no other).
    ENVIRONMENT = "environment"
    # The default branch, outside any environment (merges, schedules, dispatch).
    DEFAULT_BRANCH = "branch"
    # A pull request of the repository (GitHub gives forks no token), from its merge ref.
    PULL_REQUEST = "pull_request"
    # A pull request's job in the role's review environment(s) (preview_environment), from its merge ref.
    PULL_REQUEST_ENVIRONMENT = "pull_request_environment"


@dataclass(frozen=True)
class TrustedWorkflow:
    file: str
    runs_in: RunsIn


# Each kind of workflow role -> the only workflow files whose jobs may assume it, and where they run.
ROLE_WORKFLOWS: dict[str, tuple[TrustedWorkflow, ...]] = {
    "deploy": (TrustedWorkflow(RELEASE_WORKFLOW, RunsIn.ENVIRONMENT),
               TrustedWorkflow(ROLLBACK_WORKFLOW, RunsIn.ENVIRONMENT)),
    "drift": (TrustedWorkflow(DRIFT_WORKFLOW, RunsIn.ENVIRONMENT),),
    "check-stack": (TrustedWorkflow(DELIVERY_WORKFLOW, RunsIn.DEFAULT_BRANCH),),
    "preview": (TrustedWorkflow(PULL_REQUEST_WORKFLOW, RunsIn.PULL_REQUEST_ENVIRONMENT),),
    "pr-stacks": (TrustedWorkflow(PULL_REQUEST_WORKFLOW, RunsIn.PULL_REQUEST),
                  TrustedWorkflow(REAPER_WORKFLOW, RunsIn.DEFAULT_BRANCH)),
}


@dataclass(frozen=True)
class Repository:
    # OWNER/REPO, as GitHub spells it.
    name: str
    default_branch: str


def role_subjects(kind: str, repository: Repository, environments: tuple[str, ...] = ()) -> list[str]:
    """The token subjects of the jobs that may assume a role of this kind (ROLE_WORKFLOWS), as GitHub writes them
    under the repository's claim template `repo`, `context`, `job_workflow_ref`:
    `repo:O/R:<context>:job_workflow_ref:O/R/.github/workflows/<file>@<ref>`, the context being
    `environment:<env>` (one per environment), `ref:refs/heads/<default branch>` or `pull_request`; the ref is the
    default branch's, or a pull request's merge ref (`refs/pull/<n>/merge`, any n) for a pull request's job, in an
    environment or not."""
    repo, branch = repository.name, f"refs/heads/{repository.default_branch}"
    subjects = []
    for workflow in ROLE_WORKFLOWS[kind]:
        contexts, ref = {
            RunsIn.ENVIRONMENT: ([f"environment:{environment}" for environment in environments], branch),
            RunsIn.DEFAULT_BRANCH: ([f"ref:{branch}"], branch),
            RunsIn.PULL_REQUEST: (["pull_request"], "refs/pull/*/merge"),
            RunsIn.PULL_REQUEST_ENVIRONMENT: ([f"environment:{environment}" for environment in environments],
                                              "refs/pull/*/merge"),
        }[workflow.runs_in]
        subjects += [f"repo:{repo}:{context}:job_workflow_ref:{repo}/.github/workflows/{workflow.file}@{ref}"
                     for context in contexts]
    return subjects


def github_trust_policy(provider_arn: str, subjects: list[str]) -> dict[str, Any]:
    """Only tokens GitHub issued to these subjects of this repository, for STS, may assume the role (StringLike:
    a pull request's number is a wildcard; the other subjects hold none)."""
    return document({
        "Sid": "GitHubActions",
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{GITHUB_OIDC_HOST}:aud": STS_AUDIENCE},
                      "StringLike": {f"{GITHUB_OIDC_HOST}:sub": subjects}},
    })


@dataclass(frozen=True)
class Account:
    partition: str
    region: str
    account_id: str

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        return f"arn:{self.partition}:{service}:{self.region if regional else ''}:{self.account_id}:{resource}"

    @property
    def root(self) -> dict[str, str]:
        return {"AWS": f"arn:{self.partition}:iam::{self.account_id}:root"}


def state_key_policy(account: Account) -> dict[str, Any]:
    """The account administers the key; principals of the account use it only through S3 (the state bucket's
    encryption), as far as their IAM policies allow."""
    return document(
        key_administration(account.root),
        statement("UseThroughS3", KEY_USE_ACTIONS, "*", principal=account.root, condition={
            "StringEquals": {"kms:CallerAccount": account.account_id,
                             "kms:ViaService": f"s3.{account.region}.amazonaws.com"}}),
    )


# What Pulumi's awskms:// secrets provider calls: a stack's data key is encrypted once, decrypted on every run.
SECRETS_ACTIONS = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt"]


def secrets_key_policy(account: Account, role_path: str, users: tuple[str, ...]) -> dict[str, Any]:
    """The account administers the key; only the workflow roles (all under `role_path`) and the listed users
    encrypt and decrypt stack secrets with it, as far as their IAM policies allow (preview decrypts, deployers
    also encrypt): an identity policy elsewhere in the account allowing kms:Decrypt on '*' reads nothing."""
    return document(
        key_administration(account.root),
        statement("EncryptStackSecrets", SECRETS_ACTIONS, "*", principal=account.root, condition={
            "StringEquals": {"kms:CallerAccount": account.account_id},
            "ArnLike": {"aws:PrincipalArn": [account.arn("iam", f"role{role_path}*", regional=False), *users]}}),
    )


@dataclass(frozen=True)
class StackScope:
    """One pipeline stack (`dev`) or a pattern of them (`pr-*`, `*`): what its names are derived from."""

    stack: str
    project: str = PIPELINE_PROJECT

    @property
    def tag_condition(self) -> dict[str, dict[str, str]]:
        """The stack's own resources, by the `project` and `stack` tags the program puts on every resource."""
        return {"StringEquals": {"aws:ResourceTag/project": self.project},
                "StringLike": {"aws:ResourceTag/stack": self.stack}}


@dataclass(frozen=True)
class StackArns:
    """ARN patterns of what the pipeline program creates for the stacks of `scope` (settings/naming.py)."""

    account: Account
    scope: StackScope

    @property
    def named(self) -> str:
        return f"{naming.name_prefix(self.scope)}-*"

    def _arn(self, service: str, resource: str) -> str:
        return self.account.arn(service, resource)

    @property
    def buckets(self) -> str:
        return f"arn:{self.account.partition}:s3:::{self.named}"

    @property
    def objects(self) -> str:
        return f"{self.buckets}/*"

    @property
    def artifact_objects(self) -> str:
        return f"arn:{self.account.partition}:s3:::{naming.bucket_prefix(self.scope, 'artifacts')}*/*"

    @property
    def roles(self) -> str:
        return naming.role_arn_pattern(self.account.partition, self.account.account_id, self.scope)

    @property
    def log_groups(self) -> str:
        a = self.account
        return naming.log_group_arn(a.partition, a.region, a.account_id, f"{naming.log_group_root(self.scope)}/*")

    @property
    def keys(self) -> str:
        # Key ids are random: the stack's keys are told apart by their tags (StackScope.tag_condition).
        return self._arn("kms", "key/*")

    @property
    def key_alias(self) -> str:
        return self._arn("kms", naming.kms_alias(self.scope))

    @property
    def functions(self) -> str:
        return self._arn("lambda", f"function:{self.named}")

    @property
    def state_machines(self) -> str:
        return self._arn("states", f"stateMachine:{self.named}")

    @property
    def executions(self) -> str:
        return self._arn("states", f"execution:{self.named}")

    @property
    def glue_jobs(self) -> str:
        return self._arn("glue", f"job/{self.named}")

    @property
    def glue_catalog(self) -> list[str]:
        database = naming.glue_database_name(self.scope)
        return [self._arn("glue", "catalog"), self._arn("glue", f"database/{database}"),
                self._arn("glue", f"table/{database}/*"), self._arn("glue", f"userDefinedFunction/{database}/*")]

    @property
    def topics(self) -> str:
        # Also the topics' subscriptions (<topic ARN>:<id>).
        return self._arn("sns", self.named)

    @property
    def queues(self) -> str:
        return self._arn("sqs", self.named)

    @property
    def event_rules(self) -> str:
        return self._arn("events", f"rule/{self.named}")

    @property
    def schedules(self) -> str:
        return self._arn("scheduler", f"schedule/default/{self.named}")

    @property
    def trails(self) -> str:
        # The object-access trail (components/object_access_audit.py).
        return self._arn("cloudtrail", f"trail/{self.named}")

    @property
    def alarms(self) -> str:
        return self._arn("cloudwatch", f"alarm:{self.named}")

    @property
    def dashboards(self) -> str:
        # The dashboard is named after the stack itself (components/monitoring.py).
        return self.account.arn("cloudwatch", f"dashboard/{naming.name_prefix(self.scope)}", regional=False)


# Reads that `pulumi refresh` (and `preview --refresh`) makes of each resource type the program creates.
BUCKET_READ = ["s3:GetAccelerateConfiguration", "s3:GetBucket*", "s3:GetEncryptionConfiguration",
               "s3:GetLifecycleConfiguration", "s3:GetReplicationConfiguration", "s3:ListBucket"]
ROLE_READ = ["iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies",
             "iam:ListRoleTags"]
KEY_READ = ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"]
FUNCTION_READ = ["lambda:GetAlias", "lambda:GetFunction", "lambda:GetFunctionCodeSigningConfig",
                 "lambda:GetFunctionConcurrency", "lambda:GetFunctionConfiguration",
                 "lambda:GetFunctionEventInvokeConfig", "lambda:GetPolicy", "lambda:GetRuntimeManagementConfig",
                 "lambda:ListAliases", "lambda:ListTags", "lambda:ListVersionsByFunction"]
STATE_MACHINE_READ = ["states:DescribeStateMachine", "states:DescribeStateMachineAlias",
                      "states:ListStateMachineAliases", "states:ListStateMachineVersions",
                      "states:ListTagsForResource"]
# Actions AWS grants on Resource "*" only; the policy pack allows exactly these there.
UNSCOPED_READ = ["cloudformation:GetResource", "cloudtrail:DescribeTrails", "glue:GetSecurityConfiguration",
                 "glue:GetSecurityConfigurations", "kms:ListAliases", "logs:DescribeLogGroups",
                 "sns:GetSubscriptionAttributes", "states:ListStateMachines"]


def stack_read_statements(arns: StackArns) -> list[dict[str, Any]]:
    """Read-only access to the configuration of the stacks' resources: enough to refresh them, never their data
    (objects only of the artifacts bucket, which holds the deployed code)."""
    return [
        statement("ReadBuckets", BUCKET_READ, [arns.buckets]),
        statement("ReadDeployedCode", ["s3:GetObject", "s3:GetObjectTagging"], [arns.artifact_objects]),
        statement("ReadRoles", ROLE_READ, [arns.roles]),
        statement("ReadKeys", KEY_READ, [arns.keys], condition=arns.scope.tag_condition),
        statement("ReadLogGroups", ["logs:ListTagsForResource", "logs:ListTagsLogGroup"], [arns.log_groups]),
        statement("ReadFunctions", FUNCTION_READ, [arns.functions]),
        statement("ReadStateMachines", STATE_MACHINE_READ, [arns.state_machines]),
        statement("ReadGlue", ["glue:GetDatabase", "glue:GetJob", "glue:GetTable", "glue:GetTableOptimizer",
                               "glue:GetTags"],
                  [arns.glue_jobs, *arns.glue_catalog]),
        statement("ReadTopics", ["sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic",
                                 "sns:ListTagsForResource"], [arns.topics]),
        statement("ReadQueues", ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListQueueTags"], [arns.queues]),
        statement("ReadEventRules", ["events:DescribeRule", "events:ListTagsForResource", "events:ListTargetsByRule"],
                  [arns.event_rules]),
        statement("ReadSchedules", ["scheduler:GetSchedule"], [arns.schedules]),
        statement("ReadTrails", ["cloudtrail:GetEventSelectors", "cloudtrail:GetInsightSelectors",
                                 "cloudtrail:GetTrail", "cloudtrail:GetTrailStatus", "cloudtrail:ListTags"],
                  [arns.trails]),
        statement("ReadAlarms", ["cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"], [arns.alarms]),
        statement("ReadDashboards", ["cloudwatch:GetDashboard"], [arns.dashboards]),
        statement("ReadUnscoped", UNSCOPED_READ, "*"),
    ]


def _passed_to(services: tuple[str, ...]) -> dict[str, Any]:
    return {"StringEquals": {"iam:PassedToService": [f"{service}.amazonaws.com" for service in services]}}


# The role changes IAM authorizes with the role's boundary (`iam:PermissionsBoundary`, the one requested or the one
# the role has): a deployer makes them only on roles that carry the scope's boundary.
BOUNDED_ROLE_CHANGES = ["iam:AttachRolePolicy", "iam:CreateRole", "iam:DeleteRolePolicy", "iam:DetachRolePolicy",
                        "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy"]


def stack_foundation_statements(arns: StackArns, *, permissions_boundary_arn: str) -> list[dict[str, Any]]:
    """Create, update and destroy the scope's buckets, roles, keys and log groups, and nothing else. Every role
    the deployer creates or changes must carry the scope's permissions boundary, and cannot lose it."""
    scope = arns.scope
    with_boundary = {"StringEquals": {"iam:PermissionsBoundary": permissions_boundary_arn}}
    role_changes = ["iam:CreateRole", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy",
                    "iam:UpdateAssumeRolePolicy"]
    new_tags = {"StringEquals": {"aws:RequestTag/project": scope.project},
                "StringLike": {"aws:RequestTag/stack": scope.stack}}
    return [
        statement("ManageBuckets", [
            "s3:CreateBucket", "s3:DeleteBucket", "s3:DeleteBucketPolicy", "s3:ListBucketVersions",
            "s3:PutBucketObjectLockConfiguration", "s3:PutBucketOwnershipControls", "s3:PutBucketPolicy",
            "s3:PutBucketPublicAccessBlock",
            "s3:PutBucketTagging", "s3:PutBucketVersioning", "s3:PutEncryptionConfiguration",
            "s3:PutLifecycleConfiguration"], [arns.buckets]),
        statement("ManageObjects", [
            "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:GetObject", "s3:GetObjectTagging", "s3:GetObjectVersion",
            "s3:PutObject", "s3:PutObjectTagging"], [arns.objects]),
        statement("ChangeRoles", role_changes, [arns.roles], condition=with_boundary),
        statement("ManageRoles", ["iam:DeleteRole", "iam:TagRole", "iam:UntagRole",
                                  "iam:UpdateRole", "iam:UpdateRoleDescription"], [arns.roles]),
        statement("PassRolesToPipelineServices", ["iam:PassRole"], [arns.roles],
                  condition=_passed_to(PIPELINE_SERVICES)),
        # Key ids are unknown before creation: new keys must carry the stack's tags (creating a key with tags is
        # authorized as tagging "any key"), existing ones are the stack's by those tags.
        statement("CreateKeys", ["kms:CreateKey"], "*", condition=new_tags),
        statement("TagNewKeys", ["kms:TagResource"], [arns.keys], condition=new_tags),
        statement("ManageKeys", ["kms:EnableKeyRotation", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion",
                                 "kms:TagResource", "kms:UntagResource", "kms:UpdateKeyDescription", *KEY_USE_ACTIONS],
                  [arns.keys], condition=scope.tag_condition),
        statement("GrantKeysToServices", ["kms:CreateGrant"], [arns.keys], condition={
            **scope.tag_condition, "Bool": {"kms:GrantIsForAWSResource": "true"}}),
        # An alias is authorized on both the alias and the key it names; aliases carry no tags, so the alias is
        # named and the key is the scope's by tag, in two statements.
        statement("ManageKeyAlias", ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"], [arns.key_alias]),
        statement("PointAliasAtScopeKeys", ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"],
                  [arns.keys], condition=scope.tag_condition),
        # Keys of other stacks keep their owner: their tags cannot be changed to this scope's.
        statement("KeepOtherStacksKeys", ["kms:TagResource", "kms:UntagResource"], [arns.keys], effect="Deny",
                  condition={"Null": {"aws:ResourceTag/stack": "false"},
                             "StringNotLike": {"aws:ResourceTag/stack": scope.stack}}),
        statement("ManageLogGroups", [
            "logs:AssociateKmsKey", "logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:DeleteMetricFilter",
            "logs:DeleteRetentionPolicy", "logs:DisassociateKmsKey", "logs:PutMetricFilter", "logs:PutRetentionPolicy",
            "logs:TagLogGroup", "logs:TagResource", "logs:UntagLogGroup", "logs:UntagResource"], [arns.log_groups]),
        # Denied whatever another policy allows, on any role: a role without the boundary, or with another one,
        # cannot be made, given policies or re-bounded; no boundary can be removed.
        statement("OnlyBoundedRoles", BOUNDED_ROLE_CHANGES, "*", effect="Deny",
                  condition={"StringNotEquals": {"iam:PermissionsBoundary": permissions_boundary_arn}}),
        statement("KeepPermissionsBoundary", ["iam:DeleteRolePermissionsBoundary"], "*", effect="Deny"),
    ]


CLOUD_CONTROL_ACTIONS = ["cloudformation:CreateResource", "cloudformation:DeleteResource",
                         "cloudformation:GetResource", "cloudformation:GetResourceRequestStatus",
                         "cloudformation:UpdateResource"]


def stack_workload_statements(arns: StackArns) -> list[dict[str, Any]]:
    """Create, update and destroy the scope's functions, pipelines, Glue jobs and catalog, topics, queues,
    schedules, alarms and dashboards, and nothing else."""
    partition, region = arns.account.partition, arns.account.region
    layer = POWERTOOLS_LAYER.format(partition=partition, region=region).rsplit(":", 1)[0]
    return [
        statement("ManageFunctions", [
            "lambda:AddPermission", "lambda:CreateAlias", "lambda:CreateFunction", "lambda:DeleteAlias",
            "lambda:DeleteFunction", "lambda:DeleteFunctionConcurrency", "lambda:DeleteFunctionEventInvokeConfig",
            "lambda:PublishVersion", "lambda:PutFunctionConcurrency", "lambda:PutFunctionEventInvokeConfig",
            "lambda:RemovePermission", "lambda:TagResource", "lambda:UntagResource", "lambda:UpdateAlias",
            "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration",
            "lambda:UpdateFunctionEventInvokeConfig"], [arns.functions]),
        statement("UsePowertoolsLayer", ["lambda:GetLayerVersion"], [f"{layer}:*"]),
        statement("ManageStateMachines", [
            "states:CreateStateMachine", "states:CreateStateMachineAlias", "states:DeleteStateMachine",
            "states:DeleteStateMachineAlias", "states:DeleteStateMachineVersion", "states:PublishStateMachineVersion",
            "states:TagResource", "states:UntagResource", "states:UpdateStateMachine",
            "states:UpdateStateMachineAlias"], [arns.state_machines]),
        statement("ManageGlue", [
            "glue:CreateDatabase", "glue:CreateJob", "glue:DeleteDatabase", "glue:DeleteJob", "glue:TagResource",
            "glue:UntagResource", "glue:UpdateDatabase", "glue:UpdateJob"], [arns.glue_jobs, *arns.glue_catalog]),
        # The jobs' Iceberg tables (created once, then the jobs' commits change them) and their optimizers.
        statement("ManageTables", [
            "glue:CreateTable", "glue:CreateTableOptimizer", "glue:DeleteTable", "glue:DeleteTableOptimizer",
            "glue:UpdateTable", "glue:UpdateTableOptimizer"], arns.glue_catalog),
        statement("ManageTopics", ["sns:CreateTopic", "sns:DeleteTopic", "sns:SetTopicAttributes", "sns:Subscribe",
                                   "sns:TagResource", "sns:UntagResource"], [arns.topics]),
        statement("ManageQueues", ["sqs:CreateQueue", "sqs:DeleteQueue", "sqs:SetQueueAttributes", "sqs:TagQueue",
                                   "sqs:UntagQueue"], [arns.queues]),
        statement("ManageEventRules", ["events:DeleteRule", "events:DisableRule", "events:EnableRule", "events:PutRule",
                                       "events:PutTargets", "events:RemoveTargets", "events:TagResource",
                                       "events:UntagResource"], [arns.event_rules]),
        statement("ManageSchedules", ["scheduler:CreateSchedule", "scheduler:DeleteSchedule",
                                      "scheduler:UpdateSchedule"], [arns.schedules]),
        statement("ManageTrails", ["cloudtrail:AddTags", "cloudtrail:CreateTrail", "cloudtrail:DeleteTrail",
                                   "cloudtrail:PutEventSelectors", "cloudtrail:RemoveTags", "cloudtrail:StartLogging",
                                   "cloudtrail:StopLogging", "cloudtrail:UpdateTrail"], [arns.trails]),
        statement("ManageAlarms", ["cloudwatch:DeleteAlarms", "cloudwatch:PutMetricAlarm", "cloudwatch:TagResource",
                                   "cloudwatch:UntagResource"], [arns.alarms]),
        statement("ManageDashboards", ["cloudwatch:DeleteDashboards", "cloudwatch:PutDashboard"], [arns.dashboards]),
        # None has resource-level permissions: Glue security configurations have no ARN, and a subscription is
        # changed or removed by its id alone.
        statement("ManageUnscoped", ["glue:CreateSecurityConfiguration", "glue:DeleteSecurityConfiguration",
                                     "sns:SetSubscriptionAttributes", "sns:Unsubscribe"], "*"),
        # The aws-native provider (the pipelines' live aliases) works through the Cloud Control API, which has no
        # resource-level permissions and acts with the caller's own: what it may change is what the statements
        # above allow (the deployer may pass no role to CloudFormation).
        statement("UseCloudControl", CLOUD_CONTROL_ACTIONS, "*"),
        # A state machine that logs needs its creator to set up CloudWatch Logs' vended delivery.
        statement("DeliverStateMachineLogs", LOG_DELIVERY_ACTIONS, "*"),
    ]


def release_statements(arns: StackArns) -> list[dict[str, Any]]:
    """What `python -m automation release deploy`, `release rollback` and `pr run` do besides deploying: run the
    pipeline on sample data and check its output (health check), route the live aliases and prune versions, watch the
    alarms."""
    return [
        statement("RunPipelines", ["states:StartExecution"], [arns.state_machines]),
        statement("FollowExecutions", ["states:DescribeExecution", "states:GetExecutionHistory",
                                       "states:StopExecution"], [arns.executions]),
        statement("ListExecutions", ["states:ListExecutions"], [arns.state_machines]),
        statement("FollowGlueRuns", ["glue:GetJobRun", "glue:GetJobRuns"], [arns.glue_jobs]),
    ]


def code_check_statements(check_stack: StackArns) -> list[dict[str, Any]]:
    """What the fast PR check (`python -m automation pr run`, `pr check-code`) does on the check stack besides a health
    check: run its Glue jobs directly, with a pull request's code, and stop a run it gave up on. On the check
    stack's objects the role only adds new ones: a write must carry If-None-Match: * (S3 refuses it where an
    object is), none is deleted or re-tagged (the buckets' lifecycles expire them), and the zones the checks'
    Glue runs write (curated, temp) are not written at all. So once a check has put its sample or verified its
    code, no other pull request can swap or remove either before the run reads it, nor plant its outputs."""
    objects = check_stack.objects
    partition = check_stack.account.partition
    run_outputs = [f"arn:{partition}:s3:::{naming.bucket_prefix(check_stack.scope, zone)}*/*"
                   for zone in ("curated", "temp")]
    return [statement("RunCheckStackGlueJobs", ["glue:BatchStopJobRun", "glue:StartJobRun"],
                      [check_stack.glue_jobs]),
            statement("WriteOnlyNewCheckObjects", ["s3:PutObject"], [objects], effect="Deny",
                      condition={"StringNotEquals": {"s3:if-none-match": "*"}}),
            statement("KeepCheckObjects", ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectTagging"],
                      [objects], effect="Deny"),
            statement("LeaveCheckRunOutputs", ["s3:PutObject"], run_outputs, effect="Deny")]


def _state_paths(scope: StackScope) -> list[str]:
    """The scope's state in the backend: checkpoint (`.json`, `.json.gz`, backups `.bak`) and tags
    (`.pulumi-tags`), history, backups, update journal and lock."""
    project, stack = scope.project, scope.stack
    return [f"{STATE_ROOT}/{path}" for path in (
        f"stacks/{project}/{stack}.*", f"history/{project}/{stack}/*", f"backups/{project}/{stack}/*",
        f"journal/{project}/{stack}/*", f"locks/organization/{project}/{stack}/*")]


def leave_stack_statements(arns: StackArns, *, bucket_arn: str, permissions_boundary_arn: str
                           ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Denied to a role whose scope's pattern also names this stack (`pr-*` names the check stack `pr-base`): its
    state and every change to its resources' configuration (the deployer's Allow statements for it, turned into
    Deny with the same conditions): those on its own ARNs, then those by tag (its keys). Left alone: its objects
    and keys' use, which the fast check needs for its samples and code, and the account's Glue catalog, which
    other stacks' databases live in."""
    foundation = stack_foundation_statements(arns, permissions_boundary_arn=permissions_boundary_arn)
    kept = {*KEY_USE_ACTIONS, *next(s for s in foundation if s["Sid"] == "ManageObjects")["Action"]}
    catalog = arns.account.arn("glue", "catalog")
    conditioned, actions, resources = [], set(), set()
    for allowed in (*foundation, *stack_workload_statements(arns)):
        allowed_actions = {action for action in allowed["Action"] if action not in kept}
        allowed_resources = {r for r in ([allowed["Resource"]] if isinstance(allowed["Resource"], str)
                                         else allowed["Resource"]) if r != catalog}
        if allowed["Effect"] != "Allow" or not allowed_actions or not allowed_resources:
            continue
        if "Condition" in allowed:
            conditioned.append(statement(f"Leave{allowed['Sid']}", sorted(allowed_actions),
                                         sorted(allowed_resources), effect="Deny", condition=allowed["Condition"]))
        elif allowed_resources != {"*"}:
            # All on the stack's own ARNs: any of these actions on any of them is denied (fits one policy).
            actions |= allowed_actions
            resources |= allowed_resources
    return [statement("LeaveStackState", ["s3:DeleteObject", "s3:PutObject"],
                      [f"{bucket_arn}/{path}" for path in _state_paths(arns.scope)], effect="Deny"),
            statement("LeaveStackResources", sorted(actions), sorted(resources), effect="Deny")], conditioned


def production_data_statements(arns: StackArns, *, bucket_arn: str) -> list[dict[str, Any]]:
    """Denied to a production stack's deployer whatever else it holds, so that a compromised deploy cannot destroy
    the data: deleting its buckets, object versions or Object Lock retention, its keys, its catalog database and
    tables, and its state's checkpoint, history and backups (or any state version). The break-glass path is
    another principal: an administrator of the account, outside the workflows (README, Security)."""
    catalog = arns.account.arn("glue", "catalog")
    project, stack = arns.scope.project, arns.scope.stack
    return [
        statement("KeepProductionBuckets", ["s3:DeleteBucket"], [arns.buckets], effect="Deny"),
        statement("KeepProductionObjectVersions", ["s3:BypassGovernanceRetention", "s3:DeleteObjectVersion"],
                  [arns.objects], effect="Deny"),
        statement("KeepProductionKeys", ["kms:DisableKey", "kms:ScheduleKeyDeletion"], [arns.keys], effect="Deny",
                  condition=arns.scope.tag_condition),
        statement("KeepProductionCatalog", ["glue:BatchDeleteTable", "glue:BatchDeleteTableVersion",
                                            "glue:DeleteDatabase", "glue:DeleteTable", "glue:DeleteTableVersion"],
                  [arn for arn in arns.glue_catalog if arn != catalog], effect="Deny"),
        # Pulumi replaces a checkpoint in place (it never deletes it on an update); locks and journal come and go.
        statement("KeepProductionState", ["s3:DeleteObject"], [
            f"{bucket_arn}/{STATE_ROOT}/{path}" for path in (
                f"stacks/{project}/{stack}.*", f"history/{project}/{stack}/*", f"backups/{project}/{stack}/*")],
                  effect="Deny"),
        statement("KeepStateVersions", ["s3:DeleteObjectVersion"], [f"{bucket_arn}/*"], effect="Deny"),
        # The record of who read or deleted the data stays on.
        statement("KeepProductionAuditTrail", ["cloudtrail:DeleteTrail", "cloudtrail:StopLogging"], [arns.trails],
                  effect="Deny"),
    ]


def state_read_statements(*, bucket_arn: str, key_arn: str, stacks: tuple[str, ...]) -> list[dict[str, Any]]:
    """Read the state of these stacks (names or patterns) only, and the backend's own metadata: what `pulumi
    preview` needs of the backend (it takes no lock). Listing shows every stack's name, never its content."""
    paths = [f"{STATE_ROOT}/meta.yaml", *(path for stack in stacks for path in _state_paths(StackScope(stack)))]
    return [
        statement("ListState", ["s3:ListBucket"], [bucket_arn]),
        statement("ReadState", ["s3:GetObject"], [f"{bucket_arn}/{path}" for path in paths]),
        statement("DecryptState", ["kms:Decrypt"], [key_arn]),
    ]


def state_write_statements(*, bucket_arn: str, key_arn: str, scope: StackScope) -> list[dict[str, Any]]:
    """Write (and lock) the state of the scope's stacks only (_state_paths)."""
    return [
        statement("WriteOwnState", ["s3:DeleteObject", "s3:PutObject"],
                  [f"{bucket_arn}/{path}" for path in _state_paths(scope)]),
        statement("EncryptState", ["kms:Decrypt", "kms:GenerateDataKey"], [key_arn]),
    ]


# The encryption context the secrets provider of every pipeline stack sends with each use of the secrets key:
# {"stack": <stack name>} (stack_secrets_provider).
SECRETS_CONTEXT_KEY = "stack"


def stack_secrets_provider(provider_url: str, stack: str) -> str:
    """The stack's own secrets provider: the account's `awskms://` key with the stack's name as encryption context
    (gocloud.dev's `context_<key>=<value>` URL parameter, which Pulumi's awskms provider passes to every Encrypt
    and Decrypt), so a role decrypts only the secrets of the stacks its policy names. One context key only: Pulumi
    3.208 sends the first value for every key when there are several (pulumi/pulumi#21068). Other providers
    (a passphrase) are returned as they are."""
    if not provider_url.startswith("awskms://"):
        return provider_url
    separator = "&" if "?" in provider_url else "?"
    return f"{provider_url}{separator}context_{SECRETS_CONTEXT_KEY}={stack}"


def secrets_statements(*, key_arn: str, encrypt: bool, stacks: tuple[str, ...]) -> list[dict[str, Any]]:
    """Decrypt the secrets of these stacks (names or patterns), and to create them, encrypt their data keys: only
    with their encryption context (stack_secrets_provider)."""
    actions = ["kms:Decrypt", "kms:Encrypt"] if encrypt else ["kms:Decrypt"]
    return [statement("DescribeSecretsKey", ["kms:DescribeKey"], [key_arn]),
            statement("UseSecretsKey", actions, [key_arn], condition={
                "StringLike": {f"kms:EncryptionContext:{SECRETS_CONTEXT_KEY}": list(stacks)}})]


def permissions_boundary(arns: StackArns) -> dict[str, Any]:
    """The most a role of the scope's stacks can ever do, whatever its own policy says: the data-plane actions
    of the pipeline's roles, on the scope's resources only, and no IAM at all."""
    return document(
        statement("StackData", ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                  [arns.objects]),
        statement("ListStackBuckets", ["s3:ListBucket"], [arns.buckets]),
        statement("UseStackKeys", ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
                  [arns.keys], condition=arns.scope.tag_condition),
        statement("WriteStackLogs", ["logs:AssociateKmsKey", "logs:CreateLogStream", "logs:PutLogEvents"],
                  [arns.log_groups]),
        # Glue's table optimizers log to these log groups of the account, named by AWS.
        statement("WriteTableOptimizerLogs", ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                  [arns.account.arn("logs", f"log-group:{group}:*") for group in OPTIMIZER_LOG_GROUPS]),
        statement("RunStackGlueJobs", ["glue:BatchStopJobRun", "glue:GetJobRun", "glue:GetJobRuns",
                                       "glue:StartJobRun"], [arns.glue_jobs]),
        # The stacks' databases and tables, and `default`, which a Spark session on the Glue catalog looks up.
        statement("UseStackCatalog", [
            "glue:BatchCreatePartition", "glue:BatchGetPartition", "glue:CreatePartition", "glue:CreateTable",
            "glue:GetDatabase", "glue:GetPartition", "glue:GetPartitions", "glue:GetTable", "glue:UpdatePartition",
            "glue:UpdateTable"], [*arns.glue_catalog, arns.account.arn("glue", "database/default")]),
        statement("InvokeStackFunctions", ["lambda:InvokeFunction"], [arns.functions]),
        statement("StartStackPipelines", ["states:StartExecution"], [arns.state_machines]),
        statement("NotifyStack", ["sns:Publish"], [arns.topics]),
        statement("SendStackDeadLetters", ["sqs:SendMessage"], [arns.queues]),
        statement("Telemetry", ["cloudwatch:PutMetricData", *XRAY_WRITE_ACTIONS, "xray:GetSamplingRules",
                                "xray:GetSamplingTargets", *LOG_DELIVERY_ACTIONS], "*"),
    )


@dataclass(frozen=True)
class StateArns:
    """The state backend: its bucket, the key that encrypts the bucket, and the key of the secrets provider."""

    bucket_arn: str
    state_key_arn: str
    secrets_key_arn: str


# The managed policies of each kind of role, by name suffix (one managed policy holds at most 6,144 characters).
PREVIEW_POLICIES = ("state", "read")
DEPLOYER_POLICIES = ("state", "read", "foundation", "workload")
# The PR-stacks role's besides: what it may and may not do on the fast check's stack, and its keys.
PR_STACKS_POLICIES = (*DEPLOYER_POLICIES, "check-stack", "check-stack-keys")


def preview_policies(account: Account, state: StateArns, stacks: tuple[str, ...],
                     resources: StackScope = StackScope("*")) -> dict[str, dict[str, Any]]:
    """Read these pipeline stacks' state and decrypt their secrets (their encryption context only), read the
    configuration of the resources of `resources` (every stack's by default); change nothing."""
    return dict(zip(PREVIEW_POLICIES, (
        document(*state_read_statements(bucket_arn=state.bucket_arn, key_arn=state.state_key_arn, stacks=stacks),
                 *secrets_statements(key_arn=state.secrets_key_arn, encrypt=False, stacks=stacks)),
        document(*stack_read_statements(StackArns(account, resources))),
    ), strict=True))


def pr_stacks_policies(arns: StackArns, state: StateArns, *, permissions_boundary_arn: str,
                       check_stack: StackArns) -> dict[str, dict[str, Any]]:
    """A deployer's of the PR stacks, and on the fast PR check's stack (which `pr-*` names too) only: run its Glue
    jobs with pull requests' code, never change its state or its resources (a default-branch role deploys it)."""
    named, tagged = leave_stack_statements(check_stack, bucket_arn=state.bucket_arn,
                                           permissions_boundary_arn=permissions_boundary_arn)
    return {**deployer_policies(arns, state, permissions_boundary_arn=permissions_boundary_arn),
            "check-stack": document(*code_check_statements(check_stack), *named),
            "check-stack-keys": document(*tagged)}


def deployer_policies(arns: StackArns, state: StateArns, *, permissions_boundary_arn: str
                      ) -> dict[str, dict[str, Any]]:
    """Deploy, release, check and destroy the stacks of one scope: their state, secrets and resources only."""
    own = (arns.scope.stack,)
    return dict(zip(DEPLOYER_POLICIES, (
        document(*state_read_statements(bucket_arn=state.bucket_arn, key_arn=state.state_key_arn, stacks=own),
                 *state_write_statements(bucket_arn=state.bucket_arn, key_arn=state.state_key_arn, scope=arns.scope),
                 *secrets_statements(key_arn=state.secrets_key_arn, encrypt=True, stacks=own),
                 *(production_data_statements(arns, bucket_arn=state.bucket_arn)
                   if arns.scope.stack in PRODUCTION_STACKS else ())),
        document(*stack_read_statements(arns)),
        document(*stack_foundation_statements(arns, permissions_boundary_arn=permissions_boundary_arn)),
        document(*stack_workload_statements(arns), *release_statements(arns)),
    ), strict=True))
