"""Least-privilege IAM: no wildcard grants, no admin policies, narrow PassRole, trusted services only."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

from pulumi_policy import Severity

from . import iam_documents
from .framework import UNKNOWN, Rule, get, known, resource_policy

# Resource types whose props hold IAM policy documents to check, and where.
POLICY_DOCUMENTS = {
    "aws:iam/rolePolicy:RolePolicy": ("policy",),
    "aws:iam/policy:Policy": ("policy",),
    "aws:iam/groupPolicy:GroupPolicy": ("policy",),
    "aws:iam/userPolicy:UserPolicy": ("policy",),
}
ROLE = "aws:iam/role:Role"

# Actions AWS offers no resource-level permission for: `Resource: "*"` is the only way to grant them.
RESOURCE_STAR_ALLOWED = {
    "cloudwatch:PutMetricData": "CloudWatch metrics have no ARN; scope with the cloudwatch:namespace condition",
    "xray:PutTraceSegments": "X-Ray trace writes have no resource-level permission",
    "xray:PutTelemetryRecords": "X-Ray telemetry writes have no resource-level permission",
    "xray:GetSamplingRules": "X-Ray sampling reads have no resource-level permission",
    "xray:GetSamplingTargets": "X-Ray sampling reads have no resource-level permission",
    "logs:CreateLogDelivery": "vended log delivery (Step Functions logging) has no resource-level permission",
    "logs:GetLogDelivery": "vended log delivery (Step Functions logging) has no resource-level permission",
    "logs:UpdateLogDelivery": "vended log delivery (Step Functions logging) has no resource-level permission",
    "logs:DeleteLogDelivery": "vended log delivery (Step Functions logging) has no resource-level permission",
    "logs:ListLogDeliveries": "vended log delivery (Step Functions logging) has no resource-level permission",
    "logs:PutResourcePolicy": "log delivery needs the account's CloudWatch Logs resource policy",
    "logs:DescribeResourcePolicies": "log delivery needs the account's CloudWatch Logs resource policy",
    "logs:DescribeLogGroups": "listing log groups has no resource-level permission",
}
# AWS managed policies that grant far more than a pipeline role needs.
ADMIN_POLICY = re.compile(r"^arn:aws[\w-]*:iam::aws:policy/(.*/)?"
                          r"(AdministratorAccess|PowerUserAccess|[A-Za-z0-9]*FullAccess)(-v\d+)?$")
IAM_IDENTITIES = ("aws:iam/user:User", "aws:iam/accessKey:AccessKey", "aws:iam/userLoginProfile:UserLoginProfile",
                  "aws:iam/userPolicy:UserPolicy", "aws:iam/userPolicyAttachment:UserPolicyAttachment",
                  "aws:iam/serviceSpecificCredential:ServiceSpecificCredential")
DEFAULT_TRUSTED_SERVICES = ["glue.amazonaws.com", "lambda.amazonaws.com", "states.amazonaws.com",
                            "scheduler.amazonaws.com"]


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
        if wide:
            broad = sorted(a for a in statement.actions if a not in RESOURCE_STAR_ALLOWED)
            if broad:
                shown = "'*'" if wide == ["*"] else f"{wide}, which is as wide as '*'"
                yield (f"{where}: {statement.label} grants {broad} on Resource {shown}; name the resources (only "
                       "actions without resource-level permissions may use '*')")


def check_admin_policies(resource_type: str, props: Mapping, _config) -> Iterable[str]:
    arns = get(props, "managedPolicyArns", []) if resource_type == ROLE else [get(props, "policyArn")]
    for arn in arns if known(arns) else []:
        if isinstance(arn, str) and ADMIN_POLICY.match(arn):
            yield f"attaches AWS managed policy {arn.rsplit('/', 1)[-1]}, which grants far more than the role needs"


def check_pass_role(resource_type: str, props: Mapping, _config) -> Iterable[str]:
    for where, statement in _allow_statements(resource_type, props):
        if isinstance(statement, str) or statement is UNKNOWN:
            continue
        if not any(iam_documents.matches(a, "iam:PassRole") for a in statement.actions):
            continue
        wide = [r for r in statement.resources if "*" in r] or statement.not_resources
        if wide:
            yield f"{where}: {statement.label} lets the role pass any role ({wide}); name the roles"
        if "iam:passedtoservice" not in statement.condition_keys():
            yield f"{where}: {statement.label} allows iam:PassRole without an iam:PassedToService condition"


def check_trust(resource_type: str, props: Mapping, config: Mapping) -> Iterable[str]:
    trusted = set(config.get("trustedServices") or DEFAULT_TRUSTED_SERVICES)
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
        others = sorted(set(principal) - {"Service"}) if isinstance(principal, dict) else [json.dumps(principal)]
        if others:
            yield f"trust policy lets {others} assume the role; only AWS services of the pipeline may"
        for service in iam_documents._as_list(services):
            if service not in trusted:
                yield f"trust policy lets service {service!r} assume the role; trusted: {', '.join(sorted(trusted))}"


def check_no_identities(resource_type: str, _props, _config) -> Iterable[str]:
    yield (f"defines an IAM user credential resource ({resource_type.rsplit(':', 1)[-1]}); people and CI use roles "
           "with short-lived credentials")


def check_permission_source(resource_type: str, props: Mapping, _config) -> Iterable[str]:
    principal = get(props, "principal")
    if known(principal) and isinstance(principal, str) and principal.endswith(".amazonaws.com") and \
            get(props, "sourceArn") is None:
        yield f"lets {principal} invoke the function from any source; set source_arn to the one rule or resource"


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
        "Replace '*' with the ARNs of the stack's own resources (components/naming.py has the patterns); actions "
        f"that may keep '*': {', '.join(sorted(RESOURCE_STAR_ALLOWED))}."),
        IAM_DOCUMENT_TYPES, check_wildcard_resources),
    resource_policy(_rule(
        "iam-no-admin-managed-policies",
        "No AWS managed administrator, power-user or *FullAccess policy is attached to a role, user or group.",
        "Detach the managed policy and grant the needed actions in an inline policy built in components/iam/.",
        Severity.CRITICAL),
        [ROLE, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/policyAttachment:PolicyAttachment",
         "aws:iam/groupPolicyAttachment:GroupPolicyAttachment", "aws:iam/userPolicyAttachment:UserPolicyAttachment"],
        check_admin_policies),
    resource_policy(_rule(
        "iam-pass-role-restricted", "iam:PassRole names its roles and is limited by iam:PassedToService.",
        "Name the role ARNs in Resource and add Condition StringEquals iam:PassedToService '<service>.amazonaws.com'."),
        IAM_DOCUMENT_TYPES, check_pass_role),
    resource_policy(_rule(
        "iam-trusted-service-principals", "Roles can be assumed only by the AWS services of the pipeline.",
        "Make the trust policy's Principal {'Service': '<service>.amazonaws.com'} for one of the trusted services "
        "(components/iam/documents.py, service_trust_policy).",
        config={"trustedServices": {"type": "array", "items": {"type": "string"},
                                    "default": DEFAULT_TRUSTED_SERVICES,
                                    "description": "Service principals allowed in trust policies."}}),
        [ROLE], check_trust),
    resource_policy(_rule(
        "iam-no-users-or-access-keys", "The stack creates no IAM users, access keys or other long-lived credentials.",
        "Remove the user resources; give people and CI roles to assume (SSO, OIDC for GitHub Actions).",
        Severity.CRITICAL), IAM_IDENTITIES, check_no_identities),
    resource_policy(_rule(
        "lambda-permission-source-arn", "Lambda permissions for AWS services name the source that may invoke.",
        "Set source_arn on the aws.lambda_.Permission (e.g. the EventBridge rule's ARN)."),
        ["aws:lambda/permission:Permission"], check_permission_source),
]
