"""What every component reads from the stack it belongs to, as one value in its Args."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from settings import naming

from .aws_context import AwsContext


@dataclass(frozen=True, kw_only=True)
class StackContext:
    """The stack's names (physical names, IAM path), the tags of its resources, the account, region and partition
    it deploys into, the bootstrap's permissions boundary capping every role it creates, and how long it keeps
    logs."""

    names: naming.StackNames
    tags: dict[str, str]
    account_id: pulumi.Input[str]
    region: pulumi.Input[str]
    partition: pulumi.Input[str]
    # The bootstrap's policy capping the stack's roles (settings/naming.py permissions_boundary_arn): its deploy
    # role may create no other.
    permissions_boundary_arn: pulumi.Input[str]
    log_retention_days: int

    @classmethod
    def current(cls, names: naming.StackNames, tags: dict[str, str], log_retention_days: int) -> StackContext:
        """The stack's context in the account and region this program run deploys into."""
        account = AwsContext.current()
        boundary = pulumi.Output.all(partition=account.partition, account_id=account.account_id).apply(
            lambda a: naming.permissions_boundary_arn(a["partition"], a["account_id"], names))
        return cls(names=names, tags=tags, account_id=account.account_id, region=account.region,
                   partition=account.partition, permissions_boundary_arn=boundary,
                   log_retention_days=log_retention_days)
