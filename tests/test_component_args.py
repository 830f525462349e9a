"""Components take small Args: what they read from the stack as one StackContext, a bucket (or any resource) as
one reference rather than its name and ARN apart, and few fields (PipelineArgs once had 26)."""

from __future__ import annotations

import functools
from dataclasses import fields, is_dataclass

import pytest

import components
from components.stack_context import StackContext
from tests.package_classes import classes_defined_in

pytestmark = pytest.mark.tier("unit")

# The widest Args now (GlueJob's and PipelineFunctions'): a component needing more takes a settings slice or a
# reference instead.
MAX_FIELDS = 13
# SecureBucket also makes the bootstrap's state bucket, which belongs to no stack: it takes its own tags.
WITHOUT_STACK = {"SecureBucketArgs"}
STACK_VALUES = {field.name for field in fields(StackContext)}


@functools.cache
def component_args() -> dict[str, type]:
    """Every Args dataclass defined in the components package, by name (one walk of the package)."""
    return {cls.__name__: cls for cls in classes_defined_in(components)
            if cls.__name__.endswith("Args") and is_dataclass(cls)}


def name_and_arn_apart(args: type) -> list[str]:
    """Pairs like `raw_bucket` and `raw_bucket_arn`, or `glue_job_name` and `glue_job_arn`: one resource in two
    fields."""
    names = {field.name for field in fields(args)}
    return sorted(f"{name} + {name.removesuffix('_arn')}{suffix}" for name in names if name.endswith("_arn")
                  for suffix in ("", "_name") if f"{name.removesuffix('_arn')}{suffix}" in names)


def test_the_components_args_are_found():
    assert {"PipelineArgs", "GlueJobArgs", "DataLakeArgs", "SecureBucketArgs"} <= set(component_args())


@pytest.mark.parametrize("name", sorted(set(component_args()) - WITHOUT_STACK))
def test_args_take_the_stack_as_one_context(name):
    args = component_args()[name]
    types = {field.name: field.type for field in fields(args)}
    assert types.get("context") in (StackContext, StackContext.__name__), f"{name} has no StackContext"
    assert not STACK_VALUES & set(types), f"{name} takes {STACK_VALUES & set(types)} beside its StackContext"


@pytest.mark.parametrize("name", sorted(component_args()))
def test_args_are_small_and_take_a_resource_as_one_reference(name):
    args = component_args()[name]
    assert len(fields(args)) <= MAX_FIELDS, f"{name} has {len(fields(args))} fields"
    assert not name_and_arn_apart(args), f"{name} takes a resource's name and ARN apart: {name_and_arn_apart(args)}"


def test_a_resource_in_two_fields_is_found():
    from dataclasses import make_dataclass

    wide = make_dataclass("WideArgs", ["raw_bucket", "raw_bucket_arn", "glue_job_name", "glue_job_arn", "topic_arn"])
    assert name_and_arn_apart(wide) == ["glue_job_arn + glue_job_name", "raw_bucket_arn + raw_bucket"]
