"""Bucket policies of the data lake: TLS only for every bucket, and what an AWS service may write."""

from __future__ import annotations

from typing import Any

from .documents import document, statement

CLOUDTRAIL = {"Service": "cloudtrail.amazonaws.com"}


def tls_only_bucket_policy(bucket_arn: str, service_grants: list[dict[str, Any]] | tuple = ()) -> dict[str, Any]:
    """Deny every request that does not use TLS (a Deny: the broad action list is intended), then let AWS
    services do what `service_grants` allow."""
    return document(statement(
        "DenyInsecureTransport", ["s3:*"], [bucket_arn, f"{bucket_arn}/*"], effect="Deny", principal={"AWS": "*"},
        condition={"Bool": {"aws:SecureTransport": "false"}},
    ), *service_grants)


def cloudtrail_delivery_statements(*, bucket_arn: str, trail_arn: str, account_id: str) -> list[dict[str, Any]]:
    """CloudTrail checks the bucket's ACL, then writes log files under AWSLogs/<account>/, for this trail only."""
    this_trail = {"aws:SourceArn": trail_arn}
    return [
        statement("TrailChecksBucketAcl", ["s3:GetBucketAcl"], [bucket_arn], principal=CLOUDTRAIL,
                  condition={"StringEquals": this_trail}),
        statement("TrailWritesLogFiles", ["s3:PutObject"], [f"{bucket_arn}/AWSLogs/{account_id}/*"],
                  principal=CLOUDTRAIL,
                  condition={"StringEquals": {**this_trail, "s3:x-amz-acl": "bucket-owner-full-control"}}),
    ]
