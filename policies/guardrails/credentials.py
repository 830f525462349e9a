"""Secrets stay out of plaintext configuration: a password in a Lambda environment variable, a Glue job argument
or a Glue connection property is readable by anyone who may describe the resource, and lands in the state."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from pulumi_policy import Severity

from .framework import Rule, get, known, resource_policy

# Resource types -> the maps of name -> value they keep in plaintext.
SETTING_MAPS = {
    "aws:lambda/function:Function": ("environment.variables",),
    "aws:glue/job:Job": ("defaultArguments", "nonOverridableArguments"),
    "aws:glue/connection:Connection": ("connectionProperties",),
}
# A name is a secret's when its last word (or last two) says so: DB_PASSWORD, apiKey, client_secret; a name that
# ends in another word refers to a secret rather than holds one (DB_PASSWORD_SECRET_ARN, SECRET_ID, TOKEN_TTL).
SECRET_WORDS = {"password", "passwd", "pwd", "passphrase", "secret", "token", "credential", "credentials",
                "apikey", "privatekey"}
SECRET_WORD_PAIRS = {("api", "key"), ("private", "key"), ("access", "key"), ("secret", "key"), ("auth", "key"),
                     ("signing", "key"), ("client", "secret")}
WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
# Values that point at a secret store instead of holding the secret.
SECRET_REFERENCE = re.compile(r"^(arn:aws[\w-]*:(secretsmanager|ssm):|\{\{resolve:(secretsmanager|ssm|ssm-secure):)")
# Credentials inside a value: a URL's user:password@, or password=… in a JDBC URL or connection string.
EMBEDDED_CREDENTIALS = re.compile(r"://[^/\s:@]+:[^/\s@]+@|(?i:\b(password|pwd)=[^&;\s]+)")


def secret_name(name: str) -> bool:
    words = [word.lower() for word in WORDS.findall(name)]
    return bool(words) and (words[-1] in SECRET_WORDS or tuple(words[-2:]) in SECRET_WORD_PAIRS)


def _literal(value) -> bool:
    return isinstance(value, str) and bool(value.strip()) and not SECRET_REFERENCE.match(value)


def check_plaintext_secrets(resource_type: str, props: Mapping, _config) -> Iterable[str]:
    for path in SETTING_MAPS[resource_type]:
        settings = get(props, path, {})
        if not known(settings):
            continue
        for name in sorted(settings):
            value = get(settings, (name,))
            if not known(value) or not _literal(value):
                continue
            if secret_name(name):
                yield f"{path}.{name} holds a literal secret (the name says so); reference it instead"
            elif EMBEDDED_CREDENTIALS.search(value):
                yield f"{path}.{name} embeds credentials in its value; reference them instead"


SSM_PARAMETER = "aws:ssm/parameter:Parameter"
PLAIN_PARAMETER_TYPES = ("String", "StringList")


def check_parameter_type(_type, props: Mapping, _config) -> Iterable[str]:
    kind, name, value = get(props, "type"), get(props, "name"), get(props, "value")
    if kind not in PLAIN_PARAMETER_TYPES:
        return
    leaf = name.rsplit("/", 1)[-1] if isinstance(name, str) else ""
    if secret_name(leaf):
        yield f"parameter {name!r} of type {kind!r} holds a secret (the name says so) in plaintext"
    elif known(value) and _literal(value) and EMBEDDED_CREDENTIALS.search(value):
        yield f"parameter {name!r} of type {kind!r} embeds credentials in its value in plaintext"


POLICIES = [
    resource_policy(Rule(
        "no-plaintext-secrets",
        "No password, token, API key or private key as a literal value in a Lambda environment variable, a Glue "
        "job argument or a Glue connection property (by its name, or embedded in a URL or connection string).",
        Severity.CRITICAL,
        "Keep the secret in AWS Secrets Manager (or SSM Parameter Store SecureString) and pass its ARN or name "
        "(e.g. DB_SECRET_ARN) for the code to read at run time, with secretsmanager:GetSecretValue on that one "
        "secret in the role's policy; a Glue connection names it in SECRET_ID (or authentication_configuration) "
        "instead of USERNAME/PASSWORD."),
        list(SETTING_MAPS), check_plaintext_secrets),
    resource_policy(Rule(
        "ssm-parameter-secure-string",
        "An SSM parameter whose name says it holds a secret (password, token, API key …), or whose value embeds "
        "credentials, is a SecureString, not a String or StringList readable by anyone who may read parameters.",
        Severity.CRITICAL,
        "Make it type 'SecureString' with key_id the stack's key ARN, or keep the secret in Secrets Manager and "
        "store only its ARN."),
        [SSM_PARAMETER], check_parameter_type),
]
