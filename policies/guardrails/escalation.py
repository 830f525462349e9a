"""Privilege escalation as an analysis of each role's effective permissions: its inline policies, its role
policies, the customer-managed policies attached to it (by RolePolicyAttachment, PolicyAttachment or
managedPolicyArns) and the AWS managed policies whose grants the pack knows, read together against the escalation
paths cloudsplaining documents (iam_data.py).

A grant that changes roles or policies (iam:PutRolePolicy, iam:AttachRolePolicy, iam:CreatePolicyVersion,
iam:UpdateAssumeRolePolicy …) counts on any resource, named ones included: a role that may rewrite its own policy
owns every permission. It is allowed only when a permissions boundary bounds it: a condition on
iam:PermissionsBoundary in the granting statement, or a Deny of the action unless the request carries the boundary
(`StringNotEquals iam:PermissionsBoundary`, as the bootstrap's deploy roles have). The other paths (pass a role to
new compute, change a function's code …) count as cloudsplaining counts them: when each action is granted on
every resource.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource, Severity

from . import iam_data, iam_documents
from .framework import UNKNOWN, Rule, get, known, stack_policy
from .iam_documents import Statement

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
MANAGED_POLICY = "aws:iam/policy:Policy"
# Attachment type -> the property naming the role(s) it attaches to.
ATTACHMENTS = {"aws:iam/rolePolicyAttachment:RolePolicyAttachment": "role",
               "aws:iam/policyAttachment:PolicyAttachment": "roles"}
BOUNDARY_KEY = "iam:permissionsboundary"
# Replacing or removing a role's boundary lifts its cap: paths cloudsplaining's list (older than boundaries) lacks.
BOUNDARY_PATHS = {"DeleteRolePermissionsBoundary": ("iam:deleterolepermissionsboundary",),
                  "PutRolePermissionsBoundary": ("iam:putrolepermissionsboundary",)}
PATHS = {**iam_data.ESCALATION_PATHS, **BOUNDARY_PATHS}
# The actions of those paths that change a role, user, group or policy (passing a role changes none).
ROLE_CHANGING = frozenset(action for actions in PATHS.values() for action in actions
                          if action.startswith("iam:") and action != "iam:passrole")
_EVERYTHING = {"Effect": "Allow", "Action": "*", "Resource": "*"}
# AWS managed policies whose grants include IAM changes, as AWS publishes them (reduced to what matters here).
KNOWN_MANAGED_POLICIES: dict[str, dict[str, Any]] = {
    "AdministratorAccess": {"Statement": [_EVERYTHING]},
    "IAMFullAccess": {"Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]},
    "PowerUserAccess": {"Statement": [{"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"],
                                       "Resource": "*"}]},
}


def _names_of(resource: PolicyResource) -> set[str]:
    return {v for v in (get(resource.props, "name"), get(resource.props, "id"), get(resource.props, "arn"))
            if isinstance(v, str)}


def _refers_to(resource: PolicyResource, prop: str, target: PolicyResource) -> bool:
    """`resource.<prop>` (a value or a list) names `target`: by dependency, else by name, id or ARN."""
    if target.urn in {d.urn for d in resource.property_dependencies.get(prop, [])}:
        return True
    value = get(resource.props, prop)
    values = value if isinstance(value, Sequence) and not isinstance(value, str) else [value]
    return bool(set(v for v in values if isinstance(v, str)) & _names_of(target))


def _attached_policy(arn: Any, attachment: PolicyResource | None,
                     policies: list[PolicyResource]) -> tuple[str, Any] | None:
    """(where, document) of an attached policy: one of the stack's, or a known AWS managed one."""
    for policy in policies:
        if (attachment is not None and _refers_to(attachment, "policyArn", policy)) or \
                (isinstance(arn, str) and arn == get(policy.props, "arn")):
            return f"policy '{policy.name}'", get(policy.props, "policy")
    if isinstance(arn, str) and ":iam::aws:policy/" in arn:
        name = arn.rsplit("/", 1)[-1]
        if name in KNOWN_MANAGED_POLICIES:
            return f"AWS managed policy {name}", KNOWN_MANAGED_POLICIES[name]
    return None


def role_documents(role: PolicyResource, resources: list[PolicyResource]) -> list[tuple[str, Any]]:
    """(where, document) of every policy that gives the role permissions."""
    documents: list[tuple[str, Any]] = []
    inline = get(role.props, "inlinePolicies", [])
    if known(inline):
        documents += [(f"inline policy '{get(p, 'name', i)}'", get(p, "policy")) for i, p in enumerate(inline)]
    documents += [(f"role policy '{r.name}'", get(r.props, "policy")) for r in resources
                  if r.resource_type == ROLE_POLICY and _refers_to(r, "role", role)]
    policies = [r for r in resources if r.resource_type == MANAGED_POLICY]
    attached = [(get(r.props, "policyArn"), r) for r in resources
                if r.resource_type in ATTACHMENTS and _refers_to(r, ATTACHMENTS[r.resource_type], role)]
    arns = get(role.props, "managedPolicyArns", [])
    attached += [(arn, None) for arn in (arns if known(arns) else [])]
    documents += [found for arn, attachment in attached
                  if (found := _attached_policy(arn, attachment, policies)) is not None]
    return [(where, document) for where, document in documents if document is not None]


def _grants(statement: Statement, action: str) -> bool:
    if statement.not_actions:
        return not any(iam_documents.matches(pattern, action) for pattern in statement.not_actions)
    return any(iam_documents.matches(pattern, action) for pattern in statement.actions)


def _everywhere(statement: Statement) -> bool:
    return bool(statement.not_resources) or any(iam_documents.widens_to_all(r) for r in statement.resources)


def _specific(values: list) -> bool:
    return bool(values) and all(v is UNKNOWN or (isinstance(v, str) and v.strip("*?")) for v in values)


def _bounded(statement: Statement) -> bool:
    """The Allow grants only requests that carry a named permissions boundary."""
    return _specific(statement.restricting_conditions().get(BOUNDARY_KEY, []))


def _denies_unbounded(statement: Statement) -> bool:
    """A Deny on every resource of requests whose boundary is not the named one (the OnlyBoundedRoles pattern)."""
    negated = [values for operator, block in statement.condition.items() if "not" in str(operator).lower()
               and isinstance(block, dict) for key, values in block.items() if key.lower() == BOUNDARY_KEY]
    return _everywhere(statement) and bool(negated) and all(
        _specific(iam_documents.as_list(values)) for values in negated)


class Permissions:
    """A role's Allow and Deny statements, each with where it comes from."""

    def __init__(self, statements: list[tuple[str, Statement]]):
        self.allows = [(where, s) for where, s in statements if s.effect == "Allow"]
        self.denies = [s for _, s in statements if s.effect == "Deny"]

    def grants(self, action: str) -> list[tuple[str, Statement]]:
        """The Allow statements that grant `action`, unless a Deny without condition takes it away everywhere."""
        if any(_grants(d, action) and _everywhere(d) and not d.condition for d in self.denies):
            return []
        return [(where, s) for where, s in self.allows if _grants(s, action)]

    def unbounded(self, action: str) -> list[tuple[str, Statement]]:
        if any(_grants(d, action) and _denies_unbounded(d) for d in self.denies):
            return []
        return [(where, s) for where, s in self.grants(action) if not _bounded(s)]


def _permissions(role: PolicyResource, resources: list[PolicyResource]) -> Permissions | None:
    """None while a document is unknown (a preview); malformed documents are other policies' findings."""
    statements: list[tuple[str, Statement]] = []
    for where, parsed in (iam_documents.located(w, d) for w, d in role_documents(role, resources)):
        if parsed is UNKNOWN:
            return None
        if not isinstance(parsed, str):
            statements += [(where, s) for s in parsed]
    return Permissions(statements)


def _shown(action: str, grants: list[tuple[str, Statement]]) -> str:
    """The action as the statement grants it (`iam:PutRolePolicy`, or `iam:Put*` …), where, and on what."""
    where, statement = grants[0]
    granted = next((a for a in statement.actions if iam_documents.matches(a, action)),
                   f"NotAction {statement.not_actions}")
    resources = statement.resources or [f"NotResource {statement.not_resources}"]
    return f"{granted} ({where}: {statement.label}, on {resources})"


def escalations(role: PolicyResource, resources: list[PolicyResource]) -> Iterable[str]:
    permissions = _permissions(role, resources)
    if permissions is None:
        return
    opened: dict[str, list[str]] = {}
    for path, actions in sorted(PATHS.items()):
        if not all(permissions.grants(action) for action in actions):
            continue
        changing = [a for a in actions if a in ROLE_CHANGING]
        if changing:
            for action in changing:
                if permissions.unbounded(action):
                    opened.setdefault(action, []).append(path)
        elif all(any(_everywhere(s) for _, s in permissions.grants(action)) for action in actions):
            yield (f"role '{role.name}' may {', '.join(actions)} on every resource: escalation path {path} "
                   "(cloudsplaining) lets it act with the permissions of another role")
    for action, paths in sorted(opened.items()):
        boundable = "" if action in iam_data.PERMISSIONS_BOUNDARY_ACTIONS else \
            " (IAM cannot bound this action by a boundary: do not grant it)"
        yield (f"role '{role.name}' may change roles or policies with {_shown(action, permissions.unbounded(action))} "
               f"and no iam:PermissionsBoundary condition bounds it{boundable}: escalation path(s) "
               f"{', '.join(paths)}")


def check_privilege_escalation(resources: list[PolicyResource], _config: Mapping
                               ) -> Iterable[tuple[PolicyResource, str]]:
    for role in (r for r in resources if r.resource_type == ROLE):
        for message in escalations(role, resources):
            yield role, message


POLICIES = [
    stack_policy(Rule(
        "iam-no-privilege-escalation",
        "No role can raise its own permissions: its inline, role and attached policies (customer-managed and known "
        "AWS managed ones) together open none of the escalation paths cloudsplaining documents; a grant that "
        "changes roles or policies, even on named resources, is bounded by an iam:PermissionsBoundary condition.",
        Severity.CRITICAL,
        "Remove the IAM write actions from the role; a deployer that must create or change roles gets them in a "
        "statement with Condition StringEquals iam:PermissionsBoundary '<the boundary ARN>' plus a Deny of them "
        "with StringNotEquals on the same key (bootstrap/documents.py, ChangeRoles and OnlyBoundedRoles). Never "
        "grant iam:CreatePolicyVersion or iam:SetDefaultPolicyVersion, which no boundary condition bounds."),
        check_privilege_escalation),
]
