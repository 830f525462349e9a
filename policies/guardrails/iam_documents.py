"""Reading IAM policy documents as the engine sends them: a JSON string (or an object), statements in any of
the shapes IAM accepts (one statement or a list, strings or lists, NotAction/NotResource, conditions)."""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .framework import UNKNOWN


class MalformedDocument(ValueError):
    pass


def as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


@dataclass(frozen=True)
class Statement:
    sid: str
    effect: str
    actions: list[str] = field(default_factory=list)
    not_actions: list[str] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)
    not_resources: list[str] = field(default_factory=list)
    principal: Any = None
    not_principal: Any = None
    condition: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"statement '{self.sid}'" if self.sid else "a statement without Sid"

    def condition_keys(self) -> set[str]:
        return {key.lower() for operator in self.condition.values() if isinstance(operator, dict) for key in operator}

    def tag_scoped(self) -> bool:
        """Scoped by tags (attribute-based access): a restricting condition pins a resource or request tag to a value
        that is not just a wildcard, so the statement reaches only resources carrying that tag."""
        return any(key.startswith(("aws:resourcetag/", "aws:requesttag/")) and values
                   and all(isinstance(v, str) and v.strip("*?") for v in values)
                   for key, values in self.restricting_conditions().items())

    def restricting_conditions(self) -> dict[str, list]:
        """Condition key (lower case) -> values, for the operators that only let matching requests through:
        a negated operator (`StringNotEquals`), `Null`, `...IfExists` or `ForAllValues:` also lets through
        requests without the key."""
        keys: dict[str, list] = {}
        for operator, block in self.condition.items():
            qualified = str(operator).lower()
            name = qualified.split(":")[-1]
            if "not" in name or name == "null" or name.endswith("ifexists") or qualified.startswith("forallvalues:") \
                    or not isinstance(block, dict):
                continue
            for key, values in block.items():
                keys.setdefault(key.lower(), []).extend(as_list(values))
        return keys


def parse(document: Any) -> list[Statement] | object:
    """Statements of the document, `UNKNOWN` if a preview does not know it yet; MalformedDocument if broken."""
    if document is UNKNOWN:
        return UNKNOWN
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as error:
            raise MalformedDocument(f"is not valid JSON ({error.msg} at line {error.lineno} column {error.colno})") \
                from None
    if not isinstance(document, dict):
        raise MalformedDocument(f"must be a JSON object, got {type(document).__name__}")
    raw = document.get("Statement")
    if raw is None:
        raise MalformedDocument("has no Statement")
    statements = []
    for index, item in enumerate(as_list(raw)):
        if not isinstance(item, dict):
            raise MalformedDocument(f"statement {index} must be an object, got {type(item).__name__}")
        effect = item.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise MalformedDocument(f"statement {index} has Effect {effect!r}; expected Allow or Deny")
        condition = item.get("Condition") or {}
        if not isinstance(condition, dict):
            raise MalformedDocument(f"statement {index} has a Condition that is not an object")
        statements.append(Statement(
            sid=str(item.get("Sid", "")), effect=effect,
            actions=[str(a) for a in as_list(item.get("Action"))],
            not_actions=[str(a) for a in as_list(item.get("NotAction"))],
            resources=[str(r) for r in as_list(item.get("Resource"))],
            not_resources=[str(r) for r in as_list(item.get("NotResource"))],
            principal=item.get("Principal"), not_principal=item.get("NotPrincipal"), condition=condition,
        ))
    return statements


def located(where: str, document: Any) -> tuple[str, list[Statement] | object | str]:
    """(where, statements or UNKNOWN), or (where, message) for a malformed document, which cannot be shown safe."""
    try:
        return where, parse(document)
    except MalformedDocument as error:
        return where, f"{where} {error}"


def allow_statements(documents: Iterable[tuple[str, Any]]) -> Iterable[tuple[str, Any]]:
    """(where, Allow statement) of located documents; an unknown or malformed document passes through as is."""
    for where, parsed in documents:
        if isinstance(parsed, str) or parsed is UNKNOWN:
            yield where, parsed
            continue
        for statement in parsed:
            if statement.effect == "Allow":
                yield where, statement


def is_service_wildcard(action: str) -> bool:
    """`*` or `service:*` (a whole service), as opposed to a prefix such as `s3:Get*`."""
    return action == "*" or action.endswith(":*")


def matches(pattern: str, action: str) -> bool:
    """IAM action matching: case-insensitive, `*` and `?` wildcards."""
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


_ONLY_WILDCARDS = re.compile(r"^[*?/:]*\*[*?/:]*$")
ACCOUNT_ID = re.compile(r"^\d{12}$")


def _wild(text: str) -> bool:
    return "*" in text or "?" in text


def widens_to_all(resource: str) -> bool:
    """`*`, or an ARN that covers every resource of its service, which IAM treats no differently: a wildcard
    service, region or account, or a resource part that is only wildcards after its type
    (`arn:aws:s3:::*`, `arn:aws:kms:*:*:key/*`, `arn:aws:iam::123456789012:role/*`)."""
    if _ONLY_WILDCARDS.match(resource):
        return True
    if not resource.startswith("arn:"):
        return False
    parts = resource.split(":", 5)
    if len(parts) < 6:
        return _wild(resource)
    _, _partition, service, region, account, rest = parts
    if _wild(service) or _wild(region) or _wild(account):
        return True
    if service == "s3" and not region and not account:  # arn:aws:s3:::<bucket>/<key>
        return bool(_ONLY_WILDCARDS.match(rest.split("/", 1)[0]))
    resource_id = re.split(r"[/:]", rest, maxsplit=1)[-1]  # after the resource type, e.g. `key/`
    return bool(_ONLY_WILDCARDS.match(rest) or _ONLY_WILDCARDS.match(resource_id))


def account_of(value: Any) -> str | None:
    """The AWS account a principal or condition value names: a bare account ID or an ARN's account field."""
    if not isinstance(value, str):
        return None
    if ACCOUNT_ID.match(value):
        return value
    parts = value.split(":", 5)
    return parts[4] if value.startswith("arn:") and len(parts) == 6 and ACCOUNT_ID.match(parts[4]) else None


def principal_values(principal: Any) -> list[tuple[str, Any]]:
    """(kind, value) pairs of a Principal: `"*"` is ("*", "*"); {"AWS": [a, b]} gives ("AWS", a), ("AWS", b)."""
    if principal is None:
        return []
    if not isinstance(principal, dict):
        return [("*", value) for value in as_list(principal)]
    return [(kind, value) for kind, values in principal.items() for value in as_list(values)]
