"""The bootstrap program (one stack per AWS account): settings in, GitHub's OIDC provider, the state backend and
the workflow roles out, and the repository variables the workflows read exported under their own names."""

from __future__ import annotations

import pulumi

from components.aws_context import AwsContext
from policies.guardrails.framework import PROTECTED_STACKS
from settings.delivery import PR_STACK_PREFIX
from settings.validation import ConfigError

from . import variables
from .config import NAMESPACE, BootstrapSettings, GithubSettings, load_github_settings, load_settings
from .documents import (
    DEPLOYER_POLICIES,
    PREVIEW_POLICIES,
    Account,
    Repository,
    StackArns,
    StackScope,
    StateArns,
    deployer_policies,
    drift_environment,
    preview_environment,
    preview_policies,
    role_subjects,
)
from .github_oidc import GithubOidc, GithubOidcArgs
from .github_settings import EnvironmentArgs, RepositorySettings, RepositorySettingsArgs
from .state_backend import StateBackend, StateBackendArgs
from .workflow_roles import (
    DRIFT_SESSION_HOURS,
    IAM_PATH,
    PULL_REQUEST_SESSION_HOURS,
    PullRequestRoles,
    PullRequestRolesArgs,
    WorkflowRole,
    WorkflowRoleArgs,
    boundary_policy,
)


def main() -> None:
    try:
        settings = load_settings()
        github_settings = load_github_settings(settings.environments)
    except ConfigError as error:
        # A clean message naming every bad key, instead of a stack trace.
        raise pulumi.RunError(str(error)) from None

    aws_context = AwsContext.current()
    account = pulumi.Output.all(partition=aws_context.partition, region=aws_context.region,
                                account_id=aws_context.account_id).apply(lambda values: Account(**values))
    oidc = GithubOidc("github", GithubOidcArgs(existing_provider_arn=settings.oidc_provider_arn, tags=settings.tags))
    backend = StateBackend("backend", StateBackendArgs(
        bucket_prefix=f"{NAMESPACE}-state-{settings.stack}-", alias_prefix=f"alias/{NAMESPACE}", account=account,
        role_path=IAM_PATH, secrets_key_users=settings.secrets_key_users, tags=settings.tags))
    repository = Repository(settings.github_repository, settings.default_branch)
    state = pulumi.Output.all(bucket_arn=backend.bucket_arn, state_key_arn=backend.state_key_arn,
                              secrets_key_arn=backend.secrets_key_arn).apply(lambda values: StateArns(**values))

    exported = {
        variables.AWS_REGION: aws_context.region,
        variables.PULUMI_BACKEND_URL: backend.backend_url,
        variables.PULUMI_SECRETS_PROVIDER: backend.secrets_provider,
        variables.AWS_DEPLOY_SESSION_SECONDS: str(settings.deploy_session_hours * 3600),
    }
    if settings.pull_requests:
        pull_requests = PullRequestRoles("pull-requests", PullRequestRolesArgs(
            repository=repository, provider_arn=oidc.provider_arn, account=account, state=state,
            pr_stack_prefix=PR_STACK_PREFIX, tags=settings.tags))
        exported.update({variables.AWS_PR_STACKS_ROLE_ARN: pull_requests.pr_stacks_role_arn,
                         variables.AWS_CHECK_STACK_ROLE_ARN: pull_requests.check_stack_role_arn})
    for environment in settings.environments:
        scope = StackScope(environment)
        boundary = boundary_policy(f"deploy-{environment}-boundary", account, scope,
                                   f"The most any role of the {environment} stack can do: its data, nothing of IAM",
                                   settings.tags, pulumi.ResourceOptions())
        deploy = WorkflowRole(f"deploy-{environment}", WorkflowRoleArgs(
            purpose=f"deploy-{environment}",
            description=f"Delivery to the {environment} stack: deploys, releases and rolls back that stack only",
            provider_arn=oidc.provider_arn,
            subjects=tuple(role_subjects("deploy", repository, (environment,))),
            policies=pulumi.Output.all(account=account, state=state, boundary=boundary.arn).apply(
                lambda v, scope=scope: deployer_policies(
                    StackArns(v["account"], scope), v["state"], permissions_boundary_arn=v["boundary"])),
            policy_names=DEPLOYER_POLICIES, max_session_hours=settings.deploy_session_hours, tags=settings.tags))
        exported[variables.deploy_role_variable(environment)] = deploy.arn
        # A pull request's preview of this stack runs its code with this stack's state and secrets only, from the
        # stack's preview environment (approved first where the stack is protected).
        preview = WorkflowRole(f"preview-{environment}", WorkflowRoleArgs(
            purpose=f"preview-{environment}",
            description=f"Pull request previews of the {environment} stack: reads that stack's state and resources",
            provider_arn=oidc.provider_arn,
            subjects=tuple(role_subjects("preview", repository, (preview_environment(environment),))),
            policies=pulumi.Output.all(account=account, state=state).apply(
                lambda v, environment=environment: preview_policies(v["account"], v["state"], (environment,),
                                                                    StackScope(environment))),
            policy_names=PREVIEW_POLICIES, max_session_hours=PULL_REQUEST_SESSION_HOURS, tags=settings.tags))
        exported[variables.preview_role_variable(environment)] = preview.arn

    if settings.environments:
        # Nightly drift checks run in environments of their own (`drift-<env>`): no reviews, since they change
        # nothing, and no use of the deploy roles.
        drift = WorkflowRole("drift", WorkflowRoleArgs(
            purpose="drift",
            description="Nightly drift checks: reads the account's pipeline stacks' state and resources",
            provider_arn=oidc.provider_arn,
            subjects=tuple(role_subjects("drift", repository, tuple(map(drift_environment, settings.environments)))),
            policies=pulumi.Output.all(account=account, state=state).apply(
                lambda v: preview_policies(v["account"], v["state"], tuple(settings.environments))),
            policy_names=PREVIEW_POLICIES, max_session_hours=DRIFT_SESSION_HOURS, tags=settings.tags))
        exported[variables.AWS_DRIFT_ROLE_ARN] = drift.arn

    # Exactly the repository variables the workflows read, under their own names: `pulumi stack output --shell`.
    for variable, value in exported.items():
        pulumi.export(variable, value)
    RepositorySettings("github", github_args(settings, github_settings, exported))


def github_args(settings: BootstrapSettings, github_settings: GithubSettings,
                exported: dict[str, pulumi.Output[str]]) -> RepositorySettingsArgs:
    """Where each output goes in GitHub: the account's backend and region to the environments of its stacks (the
    drift ones with the drift role, the preview ones with the stack's preview role); deploy roles to the repository,
    since delivery.yml names them outside any environment; and, from the account that hosts pull requests, what
    their jobs (no environment) read."""
    account = {name: exported[name] for name in (variables.AWS_REGION, variables.PULUMI_BACKEND_URL,
                                                 variables.PULUMI_SECRETS_PROVIDER,
                                                 variables.AWS_DEPLOY_SESSION_SECONDS)}
    environments = {}
    for environment in settings.environments:
        # A protected stack's reviewers approve its releases and rollbacks, and its previews of pull requests.
        reviewers = {"reviewer_teams": github_settings.reviewer_teams,
                     "reviewer_users": github_settings.reviewer_users} if environment in PROTECTED_STACKS else {}
        environments[environment] = EnvironmentArgs(variables=account, **reviewers)
        environments[drift_environment(environment)] = EnvironmentArgs(variables={
            **account, variables.AWS_DRIFT_ROLE_ARN: exported[variables.AWS_DRIFT_ROLE_ARN]})
        preview_role = variables.preview_role_variable(environment)
        environments[preview_environment(environment)] = EnvironmentArgs(
            variables={**account, preview_role: exported[preview_role]}, from_pull_requests=True, **reviewers)
    repository = {variables.deploy_role_variable(e): exported[variables.deploy_role_variable(e)]
                  for e in settings.environments}
    if settings.pull_requests:
        repository.update({**account, **{name: exported[name] for name in variables.PULL_REQUEST_VARIABLES}})
    return RepositorySettingsArgs(repository=settings.github_repository, default_branch=settings.default_branch,
                                  environments=environments, repository_variables=repository,
                                  manage_repository=github_settings.manage_repository)
