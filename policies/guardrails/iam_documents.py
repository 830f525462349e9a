"""Reading IAM policy documents as the engine sends them: a JSON string (or an object), statements in any of
the shapes IAM accepts (one statement or a list, strings or lists, NotAction/NotResource, conditions)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .framework import UNKNOWN


class MalformedDocument(ValueError):
    pass


def _as_list(value: Any) -> list:
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
    condition: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"statement '{self.sid}'" if self.sid else "a statement without Sid"

    def condition_keys(self) -> set[str]:
        return {key.lower() for operator in self.condition.values() if isinstance(operator, dict) for key in operator}


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
    for index, item in enumerate(_as_list(raw)):
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
            actions=[str(a) for a in _as_list(item.get("Action"))],
            not_actions=[str(a) for a in _as_list(item.get("NotAction"))],
            resources=[str(r) for r in _as_list(item.get("Resource"))],
            not_resources=[str(r) for r in _as_list(item.get("NotResource"))],
            principal=item.get("Principal"), condition=condition,
        ))
    return statements


def is_service_wildcard(action: str) -> bool:
    """`*` or `service:*` (a whole service), as opposed to a prefix such as `s3:Get*`."""
    return action == "*" or action.endswith(":*")


def matches(pattern: str, action: str) -> bool:
    """IAM action matching: case-insensitive, `*` and `?` wildcards."""
    import fnmatch

    return fnmatch.fnmatchcase(action.lower(), pattern.lower())
