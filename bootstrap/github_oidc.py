"""GitHub Actions' OpenID Connect provider in the account: created once, or the one that already exists."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.outputs import expose

from .documents import GITHUB_OIDC_URL, STS_AUDIENCE


@dataclass(frozen=True)
class GithubOidcArgs:
    # An account has at most one provider per URL: "" creates it, an ARN uses the existing one.
    existing_provider_arn: str
    tags: dict[str, str]


class GithubOidc(pulumi.ComponentResource):
    provider_arn: pulumi.Output[str]

    def __init__(self, name: str, args: GithubOidcArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("data-pipeline-bootstrap:identity:GithubOidc", name, None, opts)
        if args.existing_provider_arn:
            provider_arn = pulumi.Output.from_input(args.existing_provider_arn)
        else:
            # No thumbprint: AWS validates GitHub's certificate against its own trusted CAs.
            provider = aws.iam.OpenIdConnectProvider(
                f"{name}-provider",
                url=GITHUB_OIDC_URL,
                client_id_lists=[STS_AUDIENCE],
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            provider_arn = provider.arn
        expose(self, provider_arn=provider_arn)
