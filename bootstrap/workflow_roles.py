"""The roles the workflows assume through GitHub's OIDC provider: each trusts named subjects of this repository
only, and holds its permissions in managed policies built by bootstrap/documents.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.outputs import expose
from settings import naming
from settings.delivery import CHECK_STACK

from .config import NAMESPACE
from .documents import (
    DEPLOYER_POLICIES,
    PR_STACKS_POLICIES,
    Account,
    Repository,
    StackArns,
    StackScope,
    StateArns,
    deployer_policies,
    github_trust_policy,
    permissions_boundary,
    pr_stacks_policies,
    role_subjects,
)

IAM_PATH = f"/{NAMESPACE}/"
# A PR job (deploy, health check, destroy) is cancelled after 45 minutes; previews take minutes.
PULL_REQUEST_SESSION_HOURS = 1
# A drift check is one refresh preview of one stack: minutes.
DRIFT_SESSION_HOURS = 1


def role_name(purpose: str) -> str:
    return f"{NAMESPACE}-{purpose}"


def boundary_policy(name: str, account: pulumi.Output[Account], scope: StackScope, description: str,
                    tags: dict[str, str], opts: pulumi.ResourceOptions) -> aws.iam.Policy:
    """The permissions boundary of every role the scope's stacks create, named where the pipeline program looks
    for it (settings/naming.py permissions_boundary_arn)."""
    return aws.iam.Policy(
        name,
        name=naming.permissions_boundary_name(scope),
        path=IAM_PATH,
        description=description,
        policy=pulumi.Output.json_dumps(account.apply(lambda a: permissions_boundary(StackArns(a, scope)))),
        tags=tags,
        opts=opts,
    )


@dataclass(frozen=True)
class WorkflowRoleArgs:
    purpose: str
    description: str
    provider_arn: pulumi.Input[str]
    # The OIDC subjects (`repo:OWNER/REPO:…`) allowed to assume the role.
    subjects: tuple[str, ...]
    # Managed policy suffix -> its document; `policy_names` are the keys, known before the documents are.
    policies: pulumi.Output[dict[str, dict[str, Any]]]
    policy_names: tuple[str, ...]
    max_session_hours: int
    tags: dict[str, str]


class WorkflowRole(pulumi.ComponentResource):
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: WorkflowRoleArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("data-pipeline-bootstrap:identity:WorkflowRole", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-role",
            name=role_name(args.purpose),
            path=IAM_PATH,
            description=args.description,
            assume_role_policy=pulumi.Output.json_dumps(pulumi.Output.from_input(args.provider_arn).apply(
                lambda provider: github_trust_policy(provider, list(args.subjects)))),
            max_session_duration=args.max_session_hours * 3600,
            tags=args.tags,
            opts=child,
        )
        for suffix in args.policy_names:
            policy = aws.iam.Policy(
                f"{name}-{suffix}",
                name=role_name(f"{args.purpose}-{suffix}"),
                path=IAM_PATH,
                description=f"{args.description} ({suffix})",
                policy=pulumi.Output.json_dumps(args.policies.apply(lambda documents, s=suffix: documents[s])),
                tags=args.tags,
                opts=child,
            )
            aws.iam.RolePolicyAttachment(f"{name}-{suffix}-attachment", role=role.name, policy_arn=policy.arn,
                                         opts=child)
        expose(self, arn=role.arn)


@dataclass(frozen=True)
class PullRequestRolesArgs:
    # Its default branch's reviewed code runs the reaper of leaked PR stacks and deploys the check stack.
    repository: Repository
    provider_arn: pulumi.Input[str]
    account: pulumi.Output[Account]
    state: pulumi.Output[StateArns]
    pr_stack_prefix: str
    tags: dict[str, str]


class PullRequestRoles(pulumi.ComponentResource):
    """What pull requests' own stacks run with (their previews of the shipped stacks have a role per stack, made
    beside its deploy role): PR stacks deploy only `pr-*` stacks, and every role they create carries the
    permissions boundary defined here. The fast check's stack, which pull requests'
    code runs on, is deployed by the default branch only, with a role of its own."""

    pr_stacks_role_arn: pulumi.Output[str]
    check_stack_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: PullRequestRolesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("data-pipeline-bootstrap:identity:PullRequestRoles", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        scope = StackScope(f"{args.pr_stack_prefix}*")
        pr_stacks = args.account.apply(lambda account: StackArns(account, scope))
        boundary = boundary_policy(f"{name}-boundary", args.account, scope,
                                   "The most any role of a PR stack can do: PR stacks' data, nothing of IAM",
                                   args.tags, child)
        stacks = WorkflowRole(f"{name}-pr-stacks", WorkflowRoleArgs(
            purpose="pr-stacks",
            description="Pull request stacks: deploys, checks and destroys pr-* stacks only",
            provider_arn=args.provider_arn,
            subjects=tuple(role_subjects("pr-stacks", args.repository)),
            policies=pulumi.Output.all(arns=pr_stacks, state=args.state, boundary=boundary.arn).apply(
                lambda v: pr_stacks_policies(v["arns"], v["state"], permissions_boundary_arn=v["boundary"],
                                             check_stack=StackArns(v["arns"].account, StackScope(CHECK_STACK)))),
            policy_names=PR_STACKS_POLICIES, max_session_hours=PULL_REQUEST_SESSION_HOURS, tags=args.tags,
        ), opts=child)
        check_stack = WorkflowRole(f"{name}-check-stack", WorkflowRoleArgs(
            purpose="check-stack",
            description=f"The fast PR check's stack ({CHECK_STACK}): deploys it from the default branch only",
            provider_arn=args.provider_arn,
            subjects=tuple(role_subjects("check-stack", args.repository)),
            policies=pulumi.Output.all(account=args.account, state=args.state, boundary=boundary.arn).apply(
                lambda v: deployer_policies(StackArns(v["account"], StackScope(CHECK_STACK)), v["state"],
                                            permissions_boundary_arn=v["boundary"])),
            policy_names=DEPLOYER_POLICIES, max_session_hours=PULL_REQUEST_SESSION_HOURS, tags=args.tags,
        ), opts=child)

        expose(self, pr_stacks_role_arn=stacks.arn, check_stack_role_arn=check_stack.arn)
