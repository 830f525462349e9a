"""GitHub's side of the delivery set-up, as code (pulumi-github): the environments the workflows run in, who may
approve them and from which branch, the OIDC subject the roles trust, the variables the workflows read, and the
default branch's ruleset that makes every change to CODEOWNERS' paths go through review and the checks.

Each account's bootstrap stack manages the GitHub environments of the stacks it hosts (and their drift
environments) with that account's variables; one stack (`manageRepository`) owns what is repository-wide. The
provider's token comes from GITHUB_TOKEN (an administrator of the repository), the owner from the repository.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_github as github
import yaml

from stack_files import ROOT

# The OIDC token's `sub` then reads repo:O/R:environment:prod:job_workflow_ref:O/R/.github/workflows/<file>@<ref>
# (or repo:O/R:ref:refs/heads/main:job_workflow_ref:… outside an environment): a role can trust a workflow file
# on a branch, not just any job that names the environment.
SUBJECT_CLAIM_KEYS = ("repo", "context", "job_workflow_ref")
# The GitHub Actions app: a required check must come from a workflow run, not from anyone who can post a status.
GITHUB_ACTIONS_APP_ID = 15368
PULL_REQUEST_WORKFLOW = ROOT / ".github" / "workflows" / "pull-request.yml"
# The jobs of the pull request workflow that must pass before a merge.
REQUIRED_JOBS = ("test", "preview")


def required_checks(workflow: Path = PULL_REQUEST_WORKFLOW, jobs: tuple[str, ...] = REQUIRED_JOBS) -> tuple[str, ...]:
    """The check names GitHub gives these jobs' runs: the job's `name` (else its id), and for a one-key matrix one
    check per value, `<name> (<value>)`; read from the workflow so a renamed job cannot leave a stale check."""
    definitions = yaml.safe_load(workflow.read_text())["jobs"]
    names = []
    for job in jobs:
        definition = definitions[job]
        name = definition.get("name", job)
        matrix = definition.get("strategy", {}).get("matrix", {})
        (values,) = matrix.values() if matrix else ([None],)
        names += [name if value is None else f"{name} ({value})" for value in values]
    return tuple(names)


@dataclass(frozen=True)
class EnvironmentArgs:
    # Variables of this environment (they override the repository's for the jobs that run in it).
    variables: Mapping[str, pulumi.Input[str]]
    reviewer_teams: tuple[int, ...] = ()
    reviewer_users: tuple[int, ...] = ()
    # Used by pull requests' jobs, whose branches are any: no branch policy (GitHub checks a pull request's head
    # branch), so its reviewers are what holds a pull request's code back.
    from_pull_requests: bool = False


@dataclass(frozen=True)
class RepositorySettingsArgs:
    repository: str  # OWNER/REPO
    default_branch: str
    environments: Mapping[str, EnvironmentArgs]
    repository_variables: Mapping[str, pulumi.Input[str]]
    # Also the repository-wide settings: the OIDC subject template and the default branch's ruleset.
    manage_repository: bool
    required_checks: tuple[str, ...] = field(default_factory=required_checks)


class RepositorySettings(pulumi.ComponentResource):
    def __init__(self, name: str, args: RepositorySettingsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("data-pipeline-bootstrap:github:RepositorySettings", name, None, opts)
        owner, repository = args.repository.split("/")
        provider = github.Provider(f"{name}-provider", owner=owner, opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        for environment, settings in args.environments.items():
            self._environment(f"{name}-{environment}", repository, environment, settings, args.default_branch, child)
        for variable, value in args.repository_variables.items():
            github.ActionsVariable(f"{name}-{variable.lower()}", repository=repository, variable_name=variable,
                                   value=value, opts=child)
        if args.manage_repository:
            github.ActionsRepositoryOidcSubjectClaimCustomizationTemplate(
                f"{name}-oidc-subject", repository=repository, use_default=False,
                include_claim_keys=list(SUBJECT_CLAIM_KEYS), opts=child)
            self._ruleset(f"{name}-default-branch", repository, args, child)
        self.register_outputs({})

    @staticmethod
    def _environment(name: str, repository: str, environment: str, settings: EnvironmentArgs, default_branch: str,
                     opts: pulumi.ResourceOptions) -> None:
        reviewed = bool(settings.reviewer_teams or settings.reviewer_users)
        created = github.RepositoryEnvironment(
            name, repository=repository, environment=environment,
            reviewers=[{"teams": list(settings.reviewer_teams), "users": list(settings.reviewer_users)}]
            if reviewed else None,
            # Whoever pushed the release does not approve it, and admins skip neither the review nor the branch rule.
            prevent_self_review=reviewed, can_admins_bypass=False,
            # Only the branches named by the policy below may deploy: the default branch.
            deployment_branch_policy=None if settings.from_pull_requests else {
                "protected_branches": False, "custom_branch_policies": True}, opts=opts)
        in_environment = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[created]))
        if not settings.from_pull_requests:
            github.RepositoryEnvironmentDeploymentPolicy(f"{name}-branch", repository=repository,
                                                         environment=environment, branch_pattern=default_branch,
                                                         opts=in_environment)
        for variable, value in settings.variables.items():
            github.ActionsEnvironmentVariable(f"{name}-{variable.lower()}", repository=repository,
                                              environment=environment, variable_name=variable, value=value,
                                              opts=in_environment)

    @staticmethod
    def _ruleset(name: str, repository: str, args: RepositorySettingsArgs, opts: pulumi.ResourceOptions) -> None:
        github.RepositoryRuleset(
            name, repository=repository, name=f"{args.default_branch} (bootstrap)", target="branch",
            enforcement="active", bypass_actors=[],
            conditions={"ref_name": {"includes": [f"refs/heads/{args.default_branch}"], "excludes": []}},
            rules={
                # Every change by pull request, approved by a code owner of what it touches (.github/CODEOWNERS),
                # approved again after a new push.
                "pull_request": {"required_approving_review_count": 1, "require_code_owner_review": True,
                                 "dismiss_stale_reviews_on_push": True, "require_last_push_approval": True},
                "required_status_checks": {
                    "required_checks": [{"context": check, "integration_id": GITHUB_ACTIONS_APP_ID}
                                        for check in args.required_checks],
                    "strict_required_status_checks_policy": True},
                "non_fast_forward": True,
                "deletion": True,
            },
            opts=opts)
