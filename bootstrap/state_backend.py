"""The Pulumi backend of the account's stacks: an encrypted, versioned, TLS-only bucket for `pulumi login s3://…`
and a KMS key for the `awskms://` secrets provider, each key with its own alias and rotation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import pulumi
import pulumi_aws as aws

from components.outputs import expose
from components.secure_bucket import SecureBucket, SecureBucketArgs

from .documents import STATE_ROOT, Account, secrets_key_policy, state_key_policy

# Losing a state version loses the history needed to recover from a bad update: keep replaced ones 90 days.
STATE_VERSION_RETENTION_DAYS = 90
# The longest wait AWS allows before a scheduled key deletion (the keys are protected besides).
KEY_DELETION_WINDOW_DAYS = 30
# Marks the bucket as a project-scoped Pulumi backend (pkg/backend/diy/meta.go), so that roles that can only
# read or write their own stacks' state never have to create it.
BACKEND_META = (f"{STATE_ROOT}/meta.yaml", "version: 1\n")


@dataclass(frozen=True)
class StateBackendArgs:
    bucket_prefix: str
    # Aliases `<alias_prefix>/state` and `<alias_prefix>/secrets`.
    alias_prefix: str
    account: pulumi.Output[Account]
    # Who may use the secrets key besides the workflow roles under `role_path`: people running Pulumi by hand.
    role_path: str
    secrets_key_users: tuple[str, ...]
    tags: dict[str, str]


class StateBackend(pulumi.ComponentResource):
    bucket_arn: pulumi.Output[str]
    state_key_arn: pulumi.Output[str]
    secrets_key_arn: pulumi.Output[str]
    # `PULUMI_BACKEND_URL` and `PULUMI_SECRETS_PROVIDER` of every stack the workflows run.
    backend_url: pulumi.Output[str]
    secrets_provider: pulumi.Output[str]

    def __init__(self, name: str, args: StateBackendArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("data-pipeline-bootstrap:state:StateBackend", name, None, opts)
        account, region = args.account, args.account.apply(lambda a: a.region)
        state_key, _ = self._key(name, "state", "Encrypts the Pulumi state bucket", account, state_key_policy, args)
        secrets_key, secrets_alias = self._key(name, "secrets", "Encrypts Pulumi stack secrets (awskms://)",
                                               account, partial(secrets_key_policy, role_path=args.role_path,
                                                                        users=args.secrets_key_users), args)
        bucket = SecureBucket(f"{name}-bucket", SecureBucketArgs(
            bucket_prefix=args.bucket_prefix,
            kms_key_arn=state_key.arn,
            versioning=True,
            noncurrent_version_expiration_days=STATE_VERSION_RETENTION_DAYS,
            tags=args.tags,
            protect=True,
        ), opts=pulumi.ResourceOptions(parent=self))
        key, content = BACKEND_META
        aws.s3.BucketObjectv2(
            f"{name}-meta",
            bucket=bucket.bucket,
            key=key,
            content=content,
            content_type="application/yaml",
            # Explicit: the object may be written before the bucket's default encryption is in place.
            server_side_encryption="aws:kms",
            kms_key_id=state_key.arn,
            bucket_key_enabled=True,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )

        expose(self, bucket_arn=bucket.arn, state_key_arn=state_key.arn, secrets_key_arn=secrets_key.arn,
               backend_url=pulumi.Output.concat("s3://", bucket.bucket, "?region=", region),
               secrets_provider=pulumi.Output.concat("awskms://", secrets_alias.name, "?region=", region))

    def _key(self, name: str, purpose: str, description: str, account: pulumi.Output[Account],
             key_policy: Callable[[Account], dict[str, Any]],
             args: StateBackendArgs) -> tuple[aws.kms.Key, aws.kms.Alias]:
        """A rotating customer-managed key with its alias; protected, since losing it loses what it encrypts."""
        key = aws.kms.Key(
            f"{name}-{purpose}-key",
            description=description,
            enable_key_rotation=True,
            deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
            policy=pulumi.Output.json_dumps(account.apply(key_policy)),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        alias = aws.kms.Alias(
            f"{name}-{purpose}-key-alias",
            name=f"{args.alias_prefix}/{purpose}",
            target_key_id=key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return key, alias
