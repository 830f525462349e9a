"""Bucket policy shared by every bucket of the data lake."""

from __future__ import annotations

from typing import Any

from .documents import document, statement


def tls_only_bucket_policy(bucket_arn: str) -> dict[str, Any]:
    """Deny every request that does not use TLS (a Deny: the broad action list is intended)."""
    return document(statement(
        "DenyInsecureTransport", ["s3:*"], [bucket_arn, f"{bucket_arn}/*"], effect="Deny", principal={"AWS": "*"},
        condition={"Bool": {"aws:SecureTransport": "false"}},
    ))
