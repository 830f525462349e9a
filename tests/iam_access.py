"""Enough of IAM's policy evaluation to test what a role may do: Allow and Deny statements, `*`/`?` wildcards in
actions (case-insensitive) and resources, and the condition operators the project's documents use. An operator
or element it does not know fails the test instead of being skipped."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping

Context = Mapping[str, str | list[str]]


def _list(value) -> list:
    return value if isinstance(value, list) else [value]


def _glob(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    # IAM wildcards are `*` and `?` only; fnmatch's `[` classes never occur in ARNs or actions.
    if not case_sensitive:
        pattern, value = pattern.lower(), value.lower()
    if "*" not in pattern and "?" not in pattern:  # most are plain ARNs and actions: no pattern to match
        return pattern == value
    return fnmatch.fnmatchcase(value, pattern)


def _values(context: Context, key: str) -> list[str] | None:
    for name, value in context.items():
        if name.lower() == key.lower():
            return _list(value)
    return None


def _condition_holds(operator: str, key: str, expected, context: Context) -> bool:
    actual = _values(context, key)
    expected = [str(e) for e in _list(expected)]
    if operator == "Null":
        return (actual is None) == (expected == ["true"])
    if operator in ("StringNotLike", "StringNotEquals"):
        # A negated operator matches when the key is absent (AWS's rule).
        like = operator == "StringNotLike"
        return actual is None or not any(_glob(e, a) if like else e == a for e in expected for a in actual)
    if actual is None:
        return False
    if operator == "StringEquals":
        return any(a == e for a in actual for e in expected)
    if operator in ("StringLike", "ArnLike"):
        return any(_glob(e, a) for a in actual for e in expected)
    if operator == "Bool":
        return any(a.lower() == e.lower() for a in actual for e in expected)
    raise NotImplementedError(f"condition operator {operator} is not evaluated by tests/iam_access.py")


def _applies(statement: dict, action: str, resource: str, context: Context) -> bool:
    unknown = set(statement) - {"Sid", "Effect", "Action", "Resource", "Condition"}
    if unknown:
        raise NotImplementedError(f"statement elements {sorted(unknown)} are not evaluated by tests/iam_access.py")
    if not any(_glob(pattern, action, case_sensitive=False) for pattern in _list(statement["Action"])):
        return False
    if not any(_glob(pattern, resource) for pattern in _list(statement["Resource"])):
        return False
    return all(_condition_holds(operator, key, expected, context)
               for operator, conditions in (statement.get("Condition") or {}).items()
               for key, expected in conditions.items())


def allows(documents: Iterable[dict], action: str, resource: str, context: Context | None = None) -> bool:
    """Whether the identity policies allow `action` on `resource` (an explicit Deny wins)."""
    allowed = False
    for document in documents:
        for statement in _list(document["Statement"]):
            if _applies(statement, action, resource, context or {}):
                if statement["Effect"] == "Deny":
                    return False
                allowed = True
    return allowed


def permitted(documents: Iterable[dict], action: str, resource: str, context: Context | None = None, *,
              boundary: dict | None = None) -> bool:
    """What a role with these policies and (optionally) this permissions boundary may do: both must allow it."""
    return allows(documents, action, resource, context) and (
        boundary is None or allows([boundary], action, resource, context))


def assumable_with_web_identity(trust: dict, provider_arn: str, claims: Context) -> bool:
    """Whether a token of the federated provider with these claims (`<host>:sub`, `<host>:aud`) may assume a role
    with this trust policy (an explicit Deny wins)."""
    allowed = False
    for statement in _list(trust["Statement"]):
        principal = statement.get("Principal", {})
        if provider_arn not in _list(principal.get("Federated", [])):
            continue
        rest = {key: value for key, value in statement.items() if key != "Principal"}
        if _applies({**rest, "Resource": "*"}, "sts:AssumeRoleWithWebIdentity", "*", claims):
            if statement["Effect"] == "Deny":
                return False
            allowed = True
    return allowed
