"""What a component exposes and what it registers with the engine are one list: `expose` sets each output as an
attribute and registers them all, so none can be left out of the stack's state (GlueJob's `job_arn` was)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from typing import Any

import pulumi


def expose(component: pulumi.ComponentResource, **outputs: Any) -> None:
    """Make each of `outputs` an attribute of `component` and register all of them as its outputs."""
    for key, value in outputs.items():
        setattr(component, key, value)
    component.register_outputs({key: registrable(value) for key, value in outputs.items()})


def registrable(value: Any) -> Any:
    """`value` as the engine takes an output: a reference (a dataclass of Outputs, e.g. BucketRef) as the dict of its
    fields, inside dicts and lists too; everything else as it is."""
    if is_dataclass(value) and not isinstance(value, type):
        return {field.name: registrable(getattr(value, field.name)) for field in fields(value)}
    if isinstance(value, Mapping):
        return {key: registrable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [registrable(item) for item in value]
    return value
