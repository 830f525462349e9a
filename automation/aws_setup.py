"""The AWS set-up a command needs, checked before its first call so that a missing piece is one line, not a
boto3 traceback: the region (AWS_REGION / AWS_DEFAULT_REGION, else the stack file's `aws:region`, the same one
`pulumi up` deploys to) and credentials. Errors from expired credentials later on are named the same way."""

from __future__ import annotations

import os
from pathlib import Path

import boto3
from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError

from stack_files import StackFileError, config_section

REGION_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")
# What botocore answers when the session's credentials ran out mid-command.
EXPIRED_CODES = ("ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId")


class AwsSetupMissing(RuntimeError):
    """No region, no credentials (or expired ones): the message says which and how to provide it."""


def stack_file_region(path: Path) -> str | None:
    """The `aws:region` of a stack file (or of a PR profile, which has the same `config:` layout)."""
    if not path.is_file():
        return None
    try:
        return config_section(path).get("aws:region")
    except StackFileError as error:  # read as `pulumi up` reads it: a broken file has no region to take
        raise AwsSetupMissing(f"no AWS region: {error}") from None


def use_region(config_file: Path) -> str:
    """The region this process works in; without AWS_REGION / AWS_DEFAULT_REGION it is the stack file's (the one
    `pulumi up` deploys to), set as AWS_DEFAULT_REGION so every boto3 client of the command agrees."""
    for variable in REGION_VARIABLES:
        if os.environ.get(variable):
            return os.environ[variable]
    region = stack_file_region(config_file)
    if not region:
        raise AwsSetupMissing(f"no AWS region: set AWS_REGION, or aws:region in {config_file.name}")
    os.environ["AWS_DEFAULT_REGION"] = region
    return region


def session_for(config_file: Path) -> boto3.Session:
    """A boto3 session in the region of `config_file` (a stack file or PR profile), with credentials, or
    AwsSetupMissing."""
    session = boto3.Session(region_name=use_region(config_file))
    if session.get_credentials() is None:
        raise AwsSetupMissing("no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
                              "(in CI: the workflow's role), then run again")
    return session


def setup_problem(error: BaseException) -> str | None:
    """The one-line reason when `error` is a missing or expired piece of AWS set-up, else None."""
    if isinstance(error, NoCredentialsError):
        return "no AWS credentials (or they could not be loaded)"
    if isinstance(error, NoRegionError):
        return "no AWS region: set AWS_REGION"
    if isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") in EXPIRED_CODES:
        return f"AWS credentials expired or invalid ({error.response['Error']['Code']}): renew them and run again"
    return None
