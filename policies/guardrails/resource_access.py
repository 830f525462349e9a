"""Access granted from the resource side: resource-based policies (bucket, key, queue, topic, secret, event bus,
Lambda permission …), function URLs and S3 ACLs. Identity policies are `least_privilege.py`'s concern."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import PolicyResource, Severity

from . import iam_documents
from .framework import UNKNOWN, Rule, deferred, get, known, resource_policy, stack_policy

# Resource types that hold a resource-based policy document, and the property it is in.
POLICY_DOCUMENTS = {
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:s3/bucket:Bucket": "policy",
    "aws:s3/bucketV2:BucketV2": "policy",
    "aws:s3control/bucketPolicy:BucketPolicy": "policy",
    "aws:s3control/accessPointPolicy:AccessPointPolicy": "policy",
    "aws:kms/key:Key": "policy",
    "aws:kms/keyPolicy:KeyPolicy": "policy",
    "aws:sqs/queue:Queue": "policy",
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
    "aws:sns/topic:Topic": "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
    "aws:secretsmanager/secret:Secret": "policy",
    "aws:secretsmanager/secretPolicy:SecretPolicy": "policy",
    "aws:cloudwatch/eventBusPolicy:EventBusPolicy": "policy",
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": "policyDocument",
    "aws:glue/resourcePolicy:ResourcePolicy": "policy",
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "policy",
}
KMS_KEY_POLICIES = ("aws:kms/key:Key", "aws:kms/keyPolicy:KeyPolicy")
# Lambda's resource policy is written one statement at a time, as a permission resource.
LAMBDA_PERMISSION = "aws:lambda/permission:Permission"
LAYER_PERMISSION = "aws:lambda/layerVersionPermission:LayerVersionPermission"
PERMISSION_CONDITIONS = {  # property -> (operator, condition key) AWS adds to the statement
    "sourceArn": ("ArnLike", "aws:SourceArn"),
    "sourceAccount": ("StringEquals", "aws:SourceAccount"),
    "principalOrgId": ("StringEquals", "aws:PrincipalOrgID"),
    "organizationId": ("StringEquals", "aws:PrincipalOrgID"),
}
FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
RESOURCE_POLICY_TYPES = [*POLICY_DOCUMENTS, LAMBDA_PERMISSION, LAYER_PERMISSION]

# Condition keys that pin who may call: a service acting for one resource, account or organization, or a network.
CALLER_PINS = {"aws:sourcearn", "aws:sourceaccount", "aws:sourceowner", "aws:sourceorgid", "aws:sourceorgpaths",
               "aws:principalarn", "aws:principalaccount", "aws:principalorgid", "aws:principalorgpaths",
               "aws:sourcevpce", "aws:sourcevpc"}
# kms:CallerAccount pins the account only together with kms:ViaService (the AWS managed key pattern).
KMS_CALLER_PIN = {"kms:calleraccount", "kms:viaservice"}
ACCOUNT_KEYS = {"aws:sourceaccount", "aws:sourceowner", "aws:principalaccount", "kms:calleraccount",
                "aws:sourcearn", "aws:principalarn"}

# What lets a principal read data through the key, as opposed to administering it.
KEY_USE_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:CreateGrant",
                   "kms:Sign", "kms:Verify", "kms:GenerateMac", "kms:VerifyMac", "kms:DeriveSharedSecret")
# Conditions that narrow key use to some roles, services, AWS resources or encryption contexts.
KEY_USE_SCOPES = {"aws:principalarn", "kms:viaservice", "kms:grantisforawsresource", "aws:sourcearn",
                  "aws:sourceaccount", "aws:sourcevpce"}

ACCOUNT_PRINCIPAL_SOURCES = ("aws:iam/role:Role", "aws:kms/key:Key")

PUBLIC_CANNED_ACLS = {"public-read": "everyone", "public-read-write": "everyone (and lets them write)",
                      "authenticated-read": "every AWS account"}
PUBLIC_GROUPS = {"http://acs.amazonaws.com/groups/global/AllUsers": "AllUsers (everyone)",
                 "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "AuthenticatedUsers (every AWS account)"}
# Resource types with a canned `acl`, and where their grants are.
ACL_TYPES = {
    "aws:s3/bucket:Bucket": "grants",
    "aws:s3/bucketV2:BucketV2": "grants",
    "aws:s3/bucketAcl:BucketAcl": "accessControlPolicy.grants",
    "aws:s3/bucketAclV2:BucketAclV2": "accessControlPolicy.grants",
    "aws:s3/bucketObject:BucketObject": None,
    "aws:s3/bucketObjectv2:BucketObjectv2": None,
}


def _permission_principal(principal: str) -> Any:
    if principal == "*":
        return "*"
    return {"Service": principal} if principal.endswith(".amazonaws.com") else {"AWS": principal}


def _permission_statements(props: Mapping) -> list[iam_documents.Statement] | object:
    """A Lambda (layer) permission as the statement AWS adds to the function's (layer's) policy."""
    principal, action = get(props, "principal"), get(props, "action")
    if not known(principal) or not known(action):
        return UNKNOWN
    condition: dict[str, dict[str, Any]] = {}
    for prop, (operator, key) in PERMISSION_CONDITIONS.items():
        value = get(props, prop)
        if value is not None:  # an unknown value still pins: it is the rule or account the program names
            condition.setdefault(operator, {})[key] = value
    return [iam_documents.Statement(sid=str(get(props, "statementId", "") or ""), effect="Allow",
                                    actions=[str(action)], principal=_permission_principal(str(principal)),
                                    condition=condition)]


def policy_documents(resource_type: str, props: Mapping) -> Iterable[tuple[str, Any]]:
    """(where, statements or UNKNOWN or a malformed document's message) of the resource's resource policy."""
    if resource_type in (LAMBDA_PERMISSION, LAYER_PERMISSION):
        yield "permission", _permission_statements(props)
        return
    path = POLICY_DOCUMENTS.get(resource_type)
    document = get(props, path) if path else None
    if document is not None:
        yield iam_documents.located(path, document)


def _allow_statements(resource_type: str, props: Mapping) -> Iterable[tuple[str, iam_documents.Statement]]:
    """The known Allow statements (unknown documents are skipped: their checks run at update time)."""
    for where, statement in iam_documents.allow_statements(policy_documents(resource_type, props)):
        if isinstance(statement, iam_documents.Statement):
            yield where, statement


def _specific(value: Any) -> bool:
    """A condition value that names one thing (an unknown value is the program's own reference)."""
    return value is UNKNOWN or isinstance(value, bool) or (
        isinstance(value, str) and bool(value.strip("*?")) and not iam_documents.widens_to_all(value))


def _pins(statement: iam_documents.Statement) -> set[str]:
    return {key for key, values in statement.restricting_conditions().items()
            if values and all(_specific(v) for v in values)}


def _pinned(statement: iam_documents.Statement) -> bool:
    pins = _pins(statement)
    return bool(pins & CALLER_PINS) or pins >= KMS_CALLER_PIN


def _public(kind: str, value: Any) -> bool:
    return kind != "Service" and isinstance(value, str) and iam_documents.widens_to_all(value)


def check_public_access(resource_type: str, props: Mapping, _config) -> Iterable[str]:
    if resource_type == FUNCTION_URL:
        if get(props, "authorizationType") == "NONE":
            yield ("function URL has authorizationType NONE: anyone on the internet can invoke the function "
                   "without signing the request")
        return
    for _where, parsed in policy_documents(resource_type, props):
        if isinstance(parsed, str):
            yield parsed  # a malformed document cannot be shown to be private
    for where, statement in _allow_statements(resource_type, props):
        if statement.not_principal is not None:
            yield f"{where}: {statement.label} allows everyone except {statement.not_principal} (Allow + NotPrincipal)"
        public = [value for kind, value in iam_documents.principal_values(statement.principal) if _public(kind, value)]
        if public and not _pinned(statement):
            yield (f"{where}: {statement.label} allows principal {public} {statement.actions} with no condition "
                   "that pins the caller")


# What pins an AWS service acting on a resource to the caller it acts for: the resource, account or organization
# that made the request, or (for a key) the encryption context naming the resource it protects.
SERVICE_PINS = {"aws:sourcearn", "aws:sourceaccount", "aws:sourceowner", "aws:sourceorgid", "aws:sourceorgpaths"}
TRUST_POLICY_ROLE = "aws:iam/role:Role"


def _service_documents(resource_type: str, props: Mapping) -> Iterable[tuple[str, Any]]:
    if resource_type == TRUST_POLICY_ROLE:
        yield iam_documents.located("trust policy", get(props, "assumeRolePolicy"))
    else:
        yield from policy_documents(resource_type, props)


def check_service_principal_pinned(resource_type: str, props: Mapping, _config) -> Iterable[str]:
    for where, statement in iam_documents.allow_statements(_service_documents(resource_type, props)):
        if not isinstance(statement, iam_documents.Statement):
            continue
        services = [value for kind, value in iam_documents.principal_values(statement.principal)
                    if kind == "Service"]
        pins = _pins(statement)
        if services and not (pins & SERVICE_PINS or any(p.startswith("kms:encryptioncontext:") for p in pins)):
            yield (f"{where}: {statement.label} lets {', '.join(map(str, services))} {statement.actions} on behalf of "
                   "anyone (confused deputy): no aws:SourceArn, aws:SourceAccount or kms:EncryptionContext condition "
                   "pins the caller")


def check_wildcard_actions(resource_type: str, props: Mapping, _config) -> Iterable[str]:
    for where, statement in _allow_statements(resource_type, props):
        if statement.not_actions:
            yield f"{where}: {statement.label} allows every action except {statement.not_actions} (NotAction)"
        wild = [action for action in statement.actions if "*" in action or "?" in action]
        if wild:
            yield f"{where}: {statement.label} allows {wild} to {statement.principal}; name each action"


def check_key_use_is_scoped(resource_type: str, props: Mapping, _config) -> Iterable[str]:
    for where, statement in _allow_statements(resource_type, props):
        accounts = [value for kind, value in iam_documents.principal_values(statement.principal) if kind == "AWS"]
        used = sorted({action for action in statement.actions for use in KEY_USE_ACTIONS
                       if iam_documents.matches(action, use.rstrip("*")) or iam_documents.matches(use, action)})
        scoped = any(key in KEY_USE_SCOPES or key.startswith("kms:encryptioncontext") for key in _pins(statement))
        if accounts and used and not scoped:
            yield (f"{where}: {statement.label} lets {accounts} use the key ({', '.join(used)}) with no condition "
                   "naming the roles or services: any identity policy in that account allowing kms:Decrypt on '*' "
                   "could read the data")


def _accounts(statement: iam_documents.Statement) -> set[str]:
    """The AWS accounts a statement lets in: its principals' and the accounts its conditions pin."""
    values = [value for kind, value in iam_documents.principal_values(statement.principal) if kind == "AWS"]
    values += [value for key, pinned in statement.restricting_conditions().items() if key in ACCOUNT_KEYS
               for value in pinned]
    return {account for account in map(iam_documents.account_of, values) if account}


def stack_accounts(resources: list[PolicyResource]) -> set[str] | object:
    """The accounts AWS created the stack's roles and keys in (from their ARNs); UNKNOWN in a preview, where
    they do not exist yet (no ARN, or an unknown one)."""
    arns = [get(r.props, "arn") for r in resources if r.resource_type in ACCOUNT_PRINCIPAL_SOURCES]
    if any(arn is None for arn in arns):
        return deferred("arn")
    if any(arn is UNKNOWN for arn in arns):
        return UNKNOWN
    return {account for account in map(iam_documents.account_of, arns) if account}


def check_cross_account(resources: list[PolicyResource], config: Mapping) -> Iterable[tuple[PolicyResource, str]]:
    allowed = set(config.get("allowedAccounts") or [])
    grants = [(resource, where, statement, _accounts(statement)) for resource in resources
              for where, statement in _allow_statements(resource.resource_type, resource.props)]
    grants = [grant for grant in grants if grant[3]]
    own = stack_accounts(resources) if grants else set()
    if own is UNKNOWN:
        return  # a preview of new roles and keys: checked at update time, when their ARNs are known
    for resource, where, statement, accounts in grants:
        foreign = sorted(accounts - own - allowed)
        if foreign:
            yield resource, (f"'{resource.name}' {where}: {statement.label} lets AWS account(s) {', '.join(foreign)} "
                             f"in; the stack's own account is {', '.join(sorted(own)) or 'unknown'} and "
                             f"allowedAccounts is {sorted(allowed)}")


def _acl_grants(resource_type: str, props: Mapping) -> list:
    path = ACL_TYPES.get(resource_type)
    grants = get(props, path, []) if path else []
    return grants if known(grants) else []


def check_public_acls(resource_type: str, props: Mapping, _config) -> Iterable[str]:
    acl = get(props, "acl")
    if acl in PUBLIC_CANNED_ACLS:
        yield f"canned ACL {acl!r} lets {PUBLIC_CANNED_ACLS[acl]} read it"
    for grant in _acl_grants(resource_type, props):
        uri = get(grant, "uri") or get(grant, "grantee.uri")
        if uri in PUBLIC_GROUPS:
            permissions = get(grant, "permissions") or get(grant, "permission")
            shown = permissions if isinstance(permissions, str) else ", ".join(map(str, permissions or []))
            yield f"ACL grants {shown} to {PUBLIC_GROUPS[uri]}"


def _rule(name: str, description: str, remediation: str, severity: Severity = Severity.HIGH,
          config: dict | None = None) -> Rule:
    return Rule(name=name, description=description, severity=severity, remediation=remediation, config=config)


POLICIES = [
    resource_policy(_rule(
        "resource-policy-no-public-access",
        "Resource policies (bucket, key, queue, topic, secret, event bus, Lambda permission …) and function URLs "
        "allow no public principal ('*', {'AWS': '*'}, a wildcard account, NotPrincipal) unless a condition pins "
        "the caller.",
        "Name the principal (a role ARN, or {'Service': '<service>.amazonaws.com'}); if it must stay '*', add a "
        "condition that pins the caller: aws:SourceArn, aws:SourceAccount, aws:PrincipalOrgID, aws:SourceVpce, or "
        "kms:CallerAccount together with kms:ViaService. Lambda: set source_arn or principal_org_id on the "
        "permission; function URLs use authorization_type 'AWS_IAM'.", Severity.CRITICAL),
        [*RESOURCE_POLICY_TYPES, FUNCTION_URL], check_public_access),
    resource_policy(_rule(
        "resource-policy-service-principal-pinned",
        "An AWS service principal in a resource, key or trust policy acts only for the stack's own resources or "
        "account: a condition on aws:SourceArn, aws:SourceAccount (aws:SourceOrgID …) or, in a key policy, "
        "kms:EncryptionContext:* pins the caller (no confused deputy).",
        "Add Condition StringEquals aws:SourceArn '<the one resource the service acts for>' (or aws:SourceAccount "
        "'<the stack's account>'); a key policy statement for CloudWatch Logs pins "
        "kms:EncryptionContext:aws:logs:arn to the stack's log groups (components/iam/kms_key_policy.py).",
        Severity.CRITICAL), [*RESOURCE_POLICY_TYPES, TRUST_POLICY_ROLE], check_service_principal_pinned),
    resource_policy(_rule(
        "resource-policy-no-wildcard-actions",
        "Allow statements of resource policies name each action: no '*', 'service:*', 'service:Prefix*' or "
        "NotAction. A key policy's account-administration statement keeps the account root and Resource '*' (this "
        "key), but lists its administration actions; it never holds kms:*.",
        "List the actions the principal needs (components/iam/kms_key_policy.py, KEY_ADMIN_ACTIONS and "
        "KEY_USE_ACTIONS, shows the split); replace NotAction with Action.", Severity.CRITICAL),
        RESOURCE_POLICY_TYPES, check_wildcard_actions),
    resource_policy(_rule(
        "kms-key-policy-scoped-use",
        "A key policy lets an AWS account or role use the key (Decrypt, Encrypt, GenerateDataKey*, ReEncrypt*, "
        "CreateGrant …) only under a condition naming the roles, services or AWS resources; the unconditioned "
        "account-administration statement cannot read data.",
        "Move the use actions out of the account statement into statements with aws:PrincipalArn (the stack's "
        "roles), kms:ViaService (with kms:CallerAccount) or kms:GrantIsForAWSResource, as "
        "components/iam/kms_key_policy.py does."),
        KMS_KEY_POLICIES, check_key_use_is_scoped),
    stack_policy(_rule(
        "resource-policy-no-cross-account",
        "Resource policies let in no AWS account other than the stack's own (read from its roles' and keys' ARNs) "
        "and the accounts on the pack's allow-list, neither as principal nor through an account condition.",
        "Remove the other account, or add it with the reason to allowedAccounts in the policy pack config "
        "(policies/config/<stack>.json: {\"resource-policy-no-cross-account\": {\"allowedAccounts\": [\"…\"]}}).",
        config={"allowedAccounts": {"type": "array", "items": {"type": "string", "pattern": r"^\d{12}$"},
                                    "default": [],
                                    "description": "AWS accounts besides the stack's own that resource policies "
                                                   "may grant access to."}}),
        check_cross_account),
    resource_policy(_rule(
        "s3-no-public-acls",
        "No bucket or object has a public canned ACL (public-read, public-read-write, authenticated-read) or an ACL "
        "grant to AllUsers or AuthenticatedUsers, on the bucket or through an aws.s3.BucketAcl.",
        "Remove the acl / grants (or the aws.s3.BucketAcl); keep object ownership BucketOwnerEnforced, which "
        "disables ACLs (components/secure_bucket.py), and grant access in the bucket policy instead.",
        Severity.CRITICAL), list(ACL_TYPES), check_public_acls),
]
