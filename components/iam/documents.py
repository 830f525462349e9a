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


def prefix_condition(prefixes: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Limits s3:ListBucket to listings of these prefixes (each ends in '/') and below."""
    return {"StringLike": {"s3:prefix": sorted({p.rstrip("/") for p in prefixes} | {f"{p}*" for p in prefixes})}}


def glue_table_arns(partition: str, region: str, account_id: str, database: str, table: str) -> list[str]:
    """What a Glue table action is authorized against: the catalog, the database and the table."""
    glue_arn = f"arn:{partition}:glue:{region}:{account_id}"
    return [f"{glue_arn}:catalog", f"{glue_arn}:database/{database}", f"{glue_arn}:table/{database}/{table}"]


def service_trust_policy(service: str, account_id: str) -> dict[str, Any]:
    """Lets one AWS service assume the role, only on behalf of this account (confused-deputy guard)."""
    return document({
        "Sid": "TrustedService",
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
    })
