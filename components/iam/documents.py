"""Small builders for IAM policy documents, so every document has the same shape."""

from __future__ import annotations

from typing import Any

VERSION = "2012-10-17"


def statement(sid: str, actions: list[str], resources: list[str] | str, *, effect: str = "Allow",
              principal: dict[str, Any] | None = None, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"Sid": sid, "Effect": effect}
    if principal is not None:
        result["Principal"] = principal
    result["Action"] = sorted(actions)
    result["Resource"] = resources
    if condition:
        result["Condition"] = condition
    return result


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": list(statements)}


def service_trust_policy(service: str, account_id: str) -> dict[str, Any]:
    """Lets one AWS service assume the role, only on behalf of this account (confused-deputy guard)."""
    return document({
        "Sid": "TrustedService",
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
    })
