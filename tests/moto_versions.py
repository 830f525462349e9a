"""The two Step Functions version calls moto 5.2.5 lacks (ListStateMachineVersions, DeleteStateMachineVersion),
added to its server's responses as AWS documents them: newest first, and a version an alias routes to cannot be
deleted (ConflictException). The release controller, rollback and status then run against moto unchanged, in
tests and in the release benchmark (its moto server runs in the benchmark's process)."""

from __future__ import annotations

from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult, EmptyResult
from moto.stepfunctions.responses import StepFunctionResponse


def _machine(response: StepFunctionResponse, version_arn: str):
    return response.stepfunction_backend.describe_state_machine(version_arn.rsplit(":", 1)[0])


def list_state_machine_versions(self: StepFunctionResponse) -> ActionResult:
    machine = self.stepfunction_backend.describe_state_machine(self._get_param("stateMachineArn"))
    versions = sorted(machine.versions.values(), key=lambda v: v.version, reverse=True)
    return ActionResult({"stateMachineVersions": [
        {"stateMachineVersionArn": v.arn, "creationDate": v.creation_date} for v in versions]})


def delete_state_machine_version(self: StepFunctionResponse) -> EmptyResult:
    arn = self._get_param("stateMachineVersionArn")
    machine = _machine(self, arn)
    if any(route["stateMachineVersionArn"] == arn for alias in machine.aliases.values()
           for route in alias.routing_configuration):
        raise JsonRESTError("ConflictException", f"Version {arn} is referenced by an alias")
    machine.versions.pop(int(arn.rsplit(":", 1)[1]), None)
    return EmptyResult()


def install() -> None:
    StepFunctionResponse.list_state_machine_versions = list_state_machine_versions
    StepFunctionResponse.delete_state_machine_version = delete_state_machine_version
