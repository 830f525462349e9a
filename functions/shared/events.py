"""Reading events and settings with errors that say which field, what it held and what is allowed.

Events are parsed into pydantic models with Powertools' parser, settings into models read from the function's
environment; either way a bad value is one line naming it (`event field 'detail.jobName' is missing; expected a
string`, `environment variable TTL_DAYS = 'x': expected an integer`), never a pydantic report.
"""

from __future__ import annotations

import os
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

from aws_lambda_powertools.utilities.parser import BaseModel, ValidationError, parse
from pydantic import ConfigDict, Json

Model = TypeVar("Model", bound=BaseModel)


class MalformedEvent(ValueError):
    """The event does not have the shape the handler documents (Step Functions sees `MalformedEvent`)."""


class ConfigurationError(RuntimeError):
    """A setting (environment variable) is missing or invalid: the function was deployed wrongly."""


class FunctionSettings(BaseModel):
    """A function's settings: each field is read from the environment variable of its name in upper case."""

    model_config = ConfigDict(alias_generator=str.upper, frozen=True, str_min_length=1)


def parse_event(event: Any, model: type[Model], what: str) -> Model:
    """`event` as `model` (`what` it is, for the message); MalformedEvent names every field that is off."""
    try:
        return parse(event=event, model=model)
    except ValidationError as error:
        problems = _problems(error, model, _event_field, unset="is missing")
        raise MalformedEvent(f"malformed event, expected {what}: {'; '.join(problems)}") from None


def read_settings(model: type[Model]) -> Model:
    """The function's settings from its environment; ConfigurationError names every variable that is off."""
    try:
        return model.model_validate(dict(os.environ))
    except ValidationError as error:
        raise ConfigurationError("; ".join(_problems(error, model, _variable, unset="is not set"))) from None


def split_s3_uri(uri: str, what: str) -> tuple[str, str]:
    """`s3://bucket/key` -> (bucket, key)."""
    if not isinstance(uri, str) or not uri.startswith("s3://") or "/" not in uri[5:] or uri[5:].startswith("/"):
        raise MalformedEvent(f"{what} = {uri!r}: expected s3://<bucket>/<key or prefix>")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key


def _event_field(loc: Sequence[str | int]) -> str:
    return f"event field '{'.'.join(map(str, loc))}'" if loc else "event"


def _variable(loc: Sequence[str | int]) -> str:
    """`environment variable JOBS`, or inside its JSON value `environment variable JOBS['orders']['source']`."""
    name, *path = loc
    return f"environment variable {name}{''.join(f'[{part!r}]' for part in path)}"


# pydantic's error types -> what the value must be instead.
_EXPECTED = {
    "string_type": "a string", "string_too_short": "a non-empty string",
    "bool_type": "true or false", "bool_parsing": "true or false",
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "dict_type": "an object", "model_type": "an object", "model_attributes_type": "an object",
    "list_type": "a list", "json_invalid": "valid JSON", "json_type": "JSON text",
    "datetime_type": "a date and time", "datetime_from_date_parsing": "an ISO 8601 date and time",
    "datetime_parsing": "an ISO 8601 date and time", "timezone_aware": "a date and time with a UTC offset",
}


def _problems(error: ValidationError, model: type[BaseModel], where: Callable[[Sequence[str | int]], str], *,
              unset: str) -> list[str]:
    """One entry per error: where (`where(loc)`), the value or that it is missing (`unset` at the top level), and
    what is allowed."""
    problems = []
    for item in error.errors(include_url=False):
        loc, kind = item["loc"], item["type"]
        if kind == "missing":
            missing = unset if len(loc) == 1 else "is missing"
            problems.append(f"{where(loc)} {missing}; expected {_describe(_annotation(model, loc))}")
        elif kind == "value_error":
            problems.append(f"{where(loc)} = {_shown(item['input'])}: {item['ctx']['error']}")
        else:
            problems.append(f"{where(loc)} = {_shown(item['input'])}: expected {_expected(item)}")
    return problems


def _expected(item: dict) -> str:
    context = item.get("ctx", {})
    if item["type"] == "literal_error":
        return context["expected"]
    if item["type"] == "greater_than":
        return f"a number greater than {context['gt']}"
    return _EXPECTED.get(item["type"], item["msg"])


def _shown(value: Any, limit: int = 120) -> str:
    """The value as the message shows it: its repr, cut short when it is long (a whole object where one was due)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}…"


def _annotation(model: type[BaseModel], loc: Sequence[str | int]) -> Any:
    """The declared type at `loc` (as pydantic reports it: field aliases, keys, indexes), for what a missing field
    must be."""
    current: Any = model
    for part in loc:
        current = _member(current, part)
    return current


def _member(annotation: Any, part: str | int) -> Any:
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _member(arguments[0], part)
    if origin in (typing.Union, types.UnionType):
        return next((m for m in (_member(a, part) for a in arguments) if m is not None), None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        declared = next((f for name, f in annotation.model_fields.items() if (f.alias or name) == part), None)
        if declared is None:
            return None
        return typing.Annotated[(declared.annotation, *declared.metadata)] if declared.metadata else declared.annotation
    if origin is dict:
        return arguments[1]
    if origin is list:
        return arguments[0]
    return None


def _describe(annotation: Any) -> str:
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return " or ".join(repr(value) for value in arguments)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in arguments if a is not type(None))
    if origin is typing.Annotated:
        described = _describe(arguments[0])
        return f"JSON, {described}" if any(isinstance(m, Json) for m in arguments[1:]) else described
    plain = origin or annotation
    if isinstance(plain, type) and issubclass(plain, BaseModel | dict):
        return "an object"
    return {str: "a string", bool: "true or false", int: "an integer", list: "a list"}.get(plain, "a value")
