"""Typed, validated settings of one bootstrap stack (one AWS account): the only place that reads its config."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from settings import naming, schema
from settings.delivery import MAX_SESSION_HOURS, PR_STACK_PREFIX
from settings.validation import (
    BOOLEAN,
    NON_EMPTY,
    STACK_NAME,
    ConfigError,
    Field,
    check_stack_name,
    int_range,
    read_fields,
)

PROJECT = "data-pipeline-bootstrap"
# The main program whose stacks the workflows deploy.
PIPELINE_PROJECT = schema.PROJECT
# Names, IAM path and key aliases of what the bootstrap creates, apart from every pipeline stack's names
# (`data-pipeline-<stack>-…`, `/data-pipeline/<stack>/`): so no environment may be called "ci".
NAMESPACE = naming.ci_namespace(PIPELINE_PROJECT)
RESERVED_ENVIRONMENT = "ci"
# GitHub: owner (user or organization, 1-39 characters) / repository name.
GITHUB_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
# A branch name git accepts, in the characters this check allows: no `..`, leading `-`, trailing `/` or `.lock`.
BRANCH = re.compile(r"^(?!-)(?!.*\.\.)(?!.*\.lock$)(?!.*/$)[A-Za-z0-9._/-]{1,255}$")
IAM_PRINCIPAL_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(?:role|user)/[\w+=,.@/-]{1,512}$")
OIDC_PROVIDER_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$")


def _environments_valid(value: list) -> bool:
    names = [v for v in value if isinstance(v, str)]
    return len(names) == len(value) == len(set(names)) and all(
        STACK_NAME.match(n) and not n.startswith(PR_STACK_PREFIX) and n != RESERVED_ENVIRONMENT for n in names)


FIELDS: dict[str, Field] = {
    "githubRepository": Field(str, lambda v: bool(GITHUB_REPOSITORY.match(v)),
                              "OWNER/REPO exactly as GitHub spells it, e.g. example-org/data-pipeline"),
    "environments": Field(list, _environments_valid,
                          f"a list of distinct pipeline stack names (matching {STACK_NAME.pattern}, not "
                          f"'{PR_STACK_PREFIX}…' nor '{RESERVED_ENVIRONMENT}'), one deploy role each"),
    "pullRequests": BOOLEAN,
    "defaultBranch": Field(str, lambda v: bool(BRANCH.match(v)), "the repository's default branch name, e.g. main"),
    "oidcProviderArn": Field(str, lambda v: v == "" or bool(OIDC_PROVIDER_ARN.match(v)),
                             "empty (create the provider) or the ARN of this account's existing provider, "
                             "arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com"),
    "deploySessionHours": int_range(1, MAX_SESSION_HOURS),
    "secretsKeyUsers": Field(list, lambda v: all(isinstance(a, str) and IAM_PRINCIPAL_ARN.match(a) for a in v),
                             "a list of IAM role or user ARNs (besides the workflow roles) that may read and write "
                             "stack secrets, e.g. [arn:aws:iam::123456789012:role/platform-admin]; [] for none"),
    "owner": NON_EMPTY,
    "costCenter": NON_EMPTY,
}


@dataclass(frozen=True)
class BootstrapSettings:
    stack: str
    github_repository: str
    # GitHub environments (= pipeline stacks) deployed into this account, each with its own role.
    environments: tuple[str, ...]
    # This account hosts the pull requests' previews and PR stacks (their roles and permissions boundary).
    pull_requests: bool
    # Its scheduled runs (the PR-stack reaper, the drift check) may use the pull request roles.
    default_branch: str
    # "" creates the account's GitHub OIDC provider; an ARN reuses the one that exists.
    oidc_provider_arn: str
    # Longest session a deploy role grants: a release (deploy, verify, canary bake) must finish within it.
    deploy_session_hours: int
    # People who run Pulumi by hand (break glass): the secrets key is otherwise the workflow roles' only.
    secrets_key_users: tuple[str, ...]
    owner: str
    cost_center: str

    @property
    def tags(self) -> dict[str, str]:
        return {"project": PROJECT, "stack": self.stack, "owner": self.owner, "cost-center": self.cost_center,
                "managed-by": "pulumi"}


def parse_settings(stack: str, raw: Mapping[str, Any]) -> BootstrapSettings:
    """Validate raw config (key without namespace -> value); raise ConfigError listing every problem."""
    problems: list[str] = []
    check_stack_name(stack, problems)
    values = read_fields(PROJECT, FIELDS, raw, problems)
    if values.get("environments") == [] and values.get("pullRequests") is False:
        problems.append(f"{PROJECT}:environments = [] with {PROJECT}:pullRequests = false: the stack would "
                        "create no role; list the environments this account hosts, or set pullRequests to true")
    if problems:
        raise ConfigError(stack, problems)
    return BootstrapSettings(
        stack=stack,
        github_repository=values["githubRepository"],
        environments=tuple(values["environments"]),
        pull_requests=values["pullRequests"],
        default_branch=values["defaultBranch"],
        oidc_provider_arn=values["oidcProviderArn"],
        deploy_session_hours=values["deploySessionHours"],
        secrets_key_users=tuple(values["secretsKeyUsers"]),
        owner=values["owner"],
        cost_center=values["costCenter"],
    )


def load_settings() -> BootstrapSettings:
    """Read this stack's `pulumi.Config` once and validate it."""
    import pulumi

    config = pulumi.Config(PROJECT)
    return parse_settings(pulumi.get_stack(), {key: config.get(key) for key in FIELDS})


# --- GitHub's side (bootstrap/github_settings.py): its own keys, checked with the ones above ---------------------

# Ids, since GitHub's environment API takes ids: `gh api orgs/ORG/teams/TEAM --jq .id`, `gh api users/LOGIN --jq .id`.
_IDS = Field(list, lambda v: all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in v),
             "a list of positive GitHub ids (numbers), e.g. [4321987]; [] for none")
GITHUB_FIELDS: dict[str, Field] = {
    "manageRepository": BOOLEAN,
    "reviewerTeams": _IDS,
    "reviewerUsers": _IDS,
}
# GitHub lets an environment name up to 6 reviewers (users or teams); one approval suffices.
MAX_REVIEWERS = 6


@dataclass(frozen=True)
class GithubSettings:
    # This stack also owns the repository-wide settings (OIDC subject template, ruleset): exactly one stack may.
    manage_repository: bool
    # Required reviewers of the protected environments (prod) this account hosts.
    reviewer_teams: tuple[int, ...]
    reviewer_users: tuple[int, ...]


def parse_github_settings(stack: str, raw: Mapping[str, Any], environments: tuple[str, ...]) -> GithubSettings:
    """Validate the GitHub keys; raise ConfigError listing every problem."""
    from policies.guardrails.framework import PROTECTED_STACKS

    problems: list[str] = []
    values = read_fields(PROJECT, GITHUB_FIELDS, raw, problems)
    reviewers = len(values.get("reviewerTeams") or []) + len(values.get("reviewerUsers") or [])
    protected = [e for e in environments if e in PROTECTED_STACKS]
    keys = f"{PROJECT}:reviewerTeams + {PROJECT}:reviewerUsers"
    if protected and not 1 <= reviewers <= MAX_REVIEWERS:
        problems.append(f"{keys} = {reviewers} reviewer(s): the protected environment(s) {', '.join(protected)} need "
                        f"1 to {MAX_REVIEWERS} required reviewers (team or user ids)")
    elif not protected and reviewers:
        problems.append(f"{keys} = {reviewers} reviewer(s): this account hosts no protected environment "
                        f"({', '.join(PROTECTED_STACKS)}) for them to review; set both to []")
    if problems:
        raise ConfigError(stack, problems)
    return GithubSettings(manage_repository=values["manageRepository"], reviewer_teams=tuple(values["reviewerTeams"]),
                          reviewer_users=tuple(values["reviewerUsers"]))


def load_github_settings(environments: tuple[str, ...]) -> GithubSettings:
    import pulumi

    config = pulumi.Config(PROJECT)
    return parse_github_settings(pulumi.get_stack(), {key: config.get(key) for key in GITHUB_FIELDS}, environments)
