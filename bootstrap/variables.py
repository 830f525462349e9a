"""The GitHub repository variables the workflows read, named in one place: the bootstrap program outputs them
(output name = variable name) and the workflows' tests check that they read nothing else."""

from __future__ import annotations

from stack_files import SHIPPED_STACKS

AWS_REGION = "AWS_REGION"
PULUMI_BACKEND_URL = "PULUMI_BACKEND_URL"
PULUMI_SECRETS_PROVIDER = "PULUMI_SECRETS_PROVIDER"
# How long a deploy job's credentials last (the workflows' role-duration-seconds): the deploy roles' maximum session,
# so that credentials outlive the longest release or rollback the job may run.
AWS_DEPLOY_SESSION_SECONDS = "AWS_DEPLOY_SESSION_SECONDS"
AWS_PR_STACKS_ROLE_ARN = "AWS_PR_STACKS_ROLE_ARN"
# Read by the drift workflow in the environment `drift-<stack>` (the variables of the stack's account).
AWS_DRIFT_ROLE_ARN = "AWS_DRIFT_ROLE_ARN"
# Read by the delivery workflow's job that deploys the fast PR check's stack from the default branch.
AWS_CHECK_STACK_ROLE_ARN = "AWS_CHECK_STACK_ROLE_ARN"

# Every account's bootstrap stack outputs these (the drift role where the account hosts an environment).
ACCOUNT_VARIABLES = (AWS_REGION, PULUMI_BACKEND_URL, PULUMI_SECRETS_PROVIDER, AWS_DEPLOY_SESSION_SECONDS,
                     AWS_DRIFT_ROLE_ARN)
# Only the stack of the account that hosts pull requests (previews and PR stacks) outputs these.
PULL_REQUEST_VARIABLES = (AWS_PR_STACKS_ROLE_ARN, AWS_CHECK_STACK_ROLE_ARN)


def deploy_role_variable(environment: str) -> str:
    """`AWS_DEPLOY_ROLE_ARN_<ENVIRONMENT>`: the role the delivery workflow assumes in that GitHub environment."""
    return f"AWS_DEPLOY_ROLE_ARN_{environment.upper().replace('-', '_')}"


def preview_role_variable(environment: str) -> str:
    """`AWS_PREVIEW_ROLE_ARN_<ENVIRONMENT>`: the role a pull request's preview of that stack assumes, a variable of
    its preview environment (documents.preview_environment) only."""
    return f"AWS_PREVIEW_ROLE_ARN_{environment.upper().replace('-', '_')}"


# Everything the workflows may read: the account's, the pull requests', and per stack the role of its deploys and
# the role of its previews.
REPOSITORY_VARIABLES = (*ACCOUNT_VARIABLES, *PULL_REQUEST_VARIABLES,
                        *(deploy_role_variable(environment) for environment in SHIPPED_STACKS),
                        *(preview_role_variable(environment) for environment in SHIPPED_STACKS))
