"""Reading events and settings with errors that say which field, what it held and what is allowed."""

from __future__ import annotations

import json
import os
from typing import Any

_MISSING = object()


class MalformedEvent(ValueError):
    """The event does not have the shape the handler documents (Step Functions sees `MalformedEvent`)."""


class ConfigurationError(RuntimeError):
    """A required environment variable is missing or invalid: the function was deployed wrongly."""


def field(event: Any, path: str, kind: type | tuple[type, ...], default: Any = _MISSING) -> Any:
    """`event["a"]["b"]` for path `a.b`, checked against `kind`; MalformedEvent names the path when it is off."""
    current = event
    for part in path.split("."):
        if not isinstance(current, dict):
            raise MalformedEvent(f"event field '{path}': expected an object at '{part}', got {type(current).__name__}")
        if part not in current or current[part] is None:
            if default is not _MISSING:
                return default
            raise MalformedEvent(f"event field '{path}' is missing; expected {_kind_name(kind)}")
        current = current[part]
    if not isinstance(current, kind) or (kind is int and isinstance(current, bool)):
        raise MalformedEvent(f"event field '{path}' = {current!r}: expected {_kind_name(kind)}")
    return current


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", bool: "true or false", dict: "an object", list: "a list"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set")
    return value


def env_json(name: str) -> Any:
    try:
        return json.loads(env(name))
    except json.JSONDecodeError as error:
        raise ConfigurationError(f"environment variable {name} is not valid JSON: {error}") from None


def split_s3_uri(uri: str, what: str) -> tuple[str, str]:
    """`s3://bucket/key` -> (bucket, key)."""
    if not isinstance(uri, str) or not uri.startswith("s3://") or "/" not in uri[5:] or uri[5:].startswith("/"):
        raise MalformedEvent(f"{what} = {uri!r}: expected s3://<bucket>/<key or prefix>")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key
