"""The validation kit of every settings reader (the pipeline's stacks, settings/parse.py; the bootstrap's,
bootstrap/config.py): a key's rule (`Field`), reading typed values from raw config and reporting every problem at
once, one line each (key, value, what is allowed), and the closest known name for a typo."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Stack names end up in bucket prefixes (37 characters at most) and role names (64 at most).
STACK_NAME = re.compile(r"^[a-z][a-z0-9-]{0,11}$")


class ConfigError(ValueError):
    """Every problem found in a stack's configuration, one line each."""

    def __init__(self, stack: str, problems: list[str]):
        self.stack = stack
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"stack '{stack}' has {len(problems)} invalid config value(s):\n{lines}")


@dataclass(frozen=True)
class Field:
    """One config key: how to read it and which values are allowed."""

    kind: type
    check: Callable[[Any], bool]
    allowed: str


def int_range(low: int, high: int) -> Field:
    return Field(int, lambda v: low <= v <= high, f"an integer from {low} to {high}")


NON_EMPTY = Field(str, lambda v: bool(v.strip()), "a non-empty string")
BOOLEAN = Field(bool, lambda v: True, "true or false")


def _coerce(value: Any, kind: type) -> Any:
    """Config arrives as strings from the engine (objects as JSON); typed YAML values pass through."""
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    if not isinstance(value, str):
        raise ValueError
    if kind is bool:
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError
    if kind is int:
        return int(value.strip())
    if kind is list:
        parsed = json.loads(value)
        if not isinstance(parsed, list):
            raise ValueError
        return parsed
    return value


def read_fields(namespace: str, fields: Mapping[str, Field], raw: Mapping[str, Any], problems: list[str],
                defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The typed value of each key (its default when `raw` lacks it; None where invalid); every missing or invalid
    key adds a problem naming it (`namespace:key`), its value and what is allowed."""
    values: dict[str, Any] = {}
    for key, field in fields.items():
        value = (defaults or {}).get(key) if raw.get(key) is None else raw[key]
        if value is None:
            problems.append(f"{namespace}:{key} is missing: must be {field.allowed}")
            continue
        values[key] = check_value(f"{namespace}:{key}", value, field, problems)
    return values


def check_stack_name(stack: str, problems: list[str]) -> None:
    if not STACK_NAME.match(stack):
        problems.append(f"stack name {stack!r}: must match {STACK_NAME.pattern} (it prefixes bucket and role names)")


def check_value(key: str, value: Any, field: Field, problems: list[str]) -> Any:
    try:
        typed = _coerce(value, field.kind)
    except ValueError:  # json.JSONDecodeError is a ValueError too
        problems.append(f"{key} = {value!r}: must be {field.allowed}")
        return None
    if not field.check(typed):
        problems.append(f"{key} = {value!r}: must be {field.allowed}")
        return None
    return typed


def closest(word: str, known: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The known name a typo most likely meant (case forgiven): the shortest one containing it or contained in it
    (`workers` -> `numberOfWorkers`), else the most similar (difflib ratio >= cutoff), or None when none is close."""
    by_lower = {name.lower(): name for name in known}
    word = word.lower()
    overlapping = sorted((name for name in by_lower if word in name or name in word), key=len)
    match = overlapping[:1] or difflib.get_close_matches(word, list(by_lower), n=1, cutoff=cutoff)
    return by_lower[match[0]] if match else None


def unknown(key: str, word: str, known: Iterable[str], what: str, otherwise: str) -> str:
    """`<key>: unknown <what>; did you mean <the closest known one>?`, or `otherwise` when none is close."""
    guess = closest(word, known)
    return f"{key}: unknown {what}; " + (f"did you mean {key.removesuffix(word)}{guess}?" if guess else otherwise)
