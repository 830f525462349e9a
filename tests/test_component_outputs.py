"""Every component registers every output it exposes: what a component offers its callers (its public attributes
and the outputs its class declares) is exactly what it hands the engine with `register_outputs`, so the stack's
state holds all of it (GlueJob had left `job_arn` out).

The program runs for prod (every feature on) under the harness's mocks, with ComponentResource.register_outputs
wrapped to note each component and what it registered; every component type the program registers is checked,
and every component class in components/ must be among them."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pytest

import components
from components.outputs import registrable
from harness.program import ProgramRun, run_program
from tests.package_classes import classes_defined_in

pytestmark = pytest.mark.tier("program")

STACK = "prod"
# The program's components' type tokens (`data-pipeline:<module>:<Name>`; the root stack is the SDK's).
OWN_TYPES = "data-pipeline:"
# What the SDK itself sets on every component it registers.
SDK_ATTRIBUTES = {"urn", "id"}


@dataclass(frozen=True)
class Registration:
    urn: str
    component: pulumi.ComponentResource
    outputs: frozenset[str]

    @property
    def type(self) -> str:
        return self.urn.split("::")[2].rsplit("$", 1)[-1]


def exposed(component: object) -> set[str]:
    """A component's outputs as its callers see them: the public attributes it has and the ones its class declares."""
    declared = {name for cls in type(component).__mro__ for name in vars(cls).get("__annotations__", {})}
    return {name for name in declared | set(vars(component)) if not name.startswith("_")} - SDK_ATTRIBUTES


def unregistered(component: object, registered: frozenset[str]) -> set[str]:
    return exposed(component) - registered


def component_classes() -> set[type]:
    """Every ComponentResource subclass defined in the components package."""
    return {cls for cls in classes_defined_in(components) if issubclass(cls, pulumi.ComponentResource)}


@pytest.fixture(scope="module")
def registrations() -> tuple[ProgramRun, list[Registration]]:
    noted: list[Registration] = []
    register_outputs = pulumi.ComponentResource.register_outputs

    def noting(self: pulumi.ComponentResource, outputs) -> None:
        # The URN resolves within the run (the harness waits for every Output).
        self.urn.apply(lambda urn: noted.append(Registration(urn, self, frozenset(outputs))))
        register_outputs(self, outputs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pulumi.ComponentResource, "register_outputs", noting)
        run = run_program(STACK, strict=True)
    return run, [registration for registration in noted if registration.type.startswith(OWN_TYPES)]


def test_every_component_the_program_registers_registers_its_outputs_once(registrations):
    run, noted = registrations
    components_registered = sorted(r.urn for r in run.resources if r.type.startswith(OWN_TYPES))
    assert components_registered, "the program registered no component"
    assert sorted(r.urn for r in noted) == components_registered


def test_every_output_a_component_exposes_is_registered_and_nothing_else(registrations):
    _, noted = registrations
    problems = {f"{r.type} {r.urn.rsplit('::', 1)[1]}": (sorted(unregistered(r.component, r.outputs)),
                                                            sorted(r.outputs - exposed(r.component)))
                for r in noted if exposed(r.component) != r.outputs}
    assert not problems, f"component: (exposed, not registered), (registered, not exposed): {problems}"


def test_every_component_class_is_among_those_checked(registrations):
    _, noted = registrations
    assert component_classes() == {type(r.component) for r in noted}


@pytest.mark.tier("unit")
def test_an_exposed_output_left_out_of_the_registration_is_found():
    class GlueJobLike:
        job_name: pulumi.Output[str]
        job_arn: pulumi.Output[str]

    job = GlueJobLike()
    job.job_name, job.job_arn, job._private = "name", "arn", "kept to itself"
    assert unregistered(job, frozenset({"job_name"})) == {"job_arn"}
    # Declared but never set is exposed too (a caller reading it gets nothing).
    assert unregistered(GlueJobLike(), frozenset()) == {"job_name", "job_arn"}


@pytest.mark.tier("unit")
def test_a_reference_is_registered_as_the_dict_of_its_fields():
    @dataclass(frozen=True)
    class Ref:
        name: str
        arn: str

    assert registrable({"raw": Ref("b", "arn:b"), "list": [Ref("c", "arn:c")]}) == {
        "raw": {"name": "b", "arn": "arn:b"}, "list": [{"name": "c", "arn": "arn:c"}]}
