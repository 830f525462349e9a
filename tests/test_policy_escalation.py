"""The privilege-escalation analysis (policies/guardrails/escalation.py) over the bootstrap's roles, run under
Pulumi's mocks as tests/test_bootstrap.py runs it: the deploy roles create and change the pipeline's roles, and each
such grant must be bounded by the scope's permissions boundary (the ChangeRoles statement's condition, or the
OnlyBoundedRoles Deny). The analysis follows the roles' attached managed policies, so editing one statement of
them changes what it finds."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

import pytest

from harness.policy_report import PolicyInput, evaluate, inputs_from_run
from harness.program import ProgramRun
from policies.guardrails import ALL_POLICIES
from stack_files import ROOT

pytestmark = pytest.mark.tier("program")

STACKS = tuple(sorted(path.name.split(".")[1] for path in (ROOT / "bootstrap").glob("Pulumi.*.yaml")))
POLICY = "iam-no-privilege-escalation"
(ESCALATION,) = [policy for policy in ALL_POLICIES if policy.name == POLICY]
Edit = Callable[[list[dict]], list[dict]]


def findings(run: ProgramRun, edit: Edit | None = None) -> list[str]:
    """The escalation policy's messages for the run, its managed policies' statements changed by `edit`."""
    def changed(item: PolicyInput) -> PolicyInput:
        if edit is None or item.type != "aws:iam/policy:Policy":
            return item
        document = json.loads(item.props["policy"])
        document["Statement"] = edit(document["Statement"])
        return replace(item, props={**item.props, "policy": json.dumps(document)})

    stack_inputs = [changed(item) for item in inputs_from_run(run, for_stack_policies=True)]
    report = evaluate(inputs_from_run(run, for_stack_policies=False), stack=run.stack, mode=run.mode,
                      stack_inputs=stack_inputs, policies=[ESCALATION], project=run.project)
    assert report.errors == []
    return [finding.message for finding in report.findings]


def deployers(run: ProgramRun) -> set[str]:
    """The managed policies that change roles, one per deploy or PR-stacks role."""
    return {policy.name for policy in run.of_type("aws:iam/policy:Policy")
            if "ChangeRoles" in {s.get("Sid") for s in json.loads(policy.inputs["policy"])["Statement"]}}


def without(*sids: str) -> Edit:
    return lambda statements: [s for s in statements if s.get("Sid") not in sids]


def unconditioned(sid: str) -> Edit:
    return lambda statements: [{k: v for k, v in s.items() if k != "Condition" or s.get("Sid") != sid}
                               for s in statements]


@pytest.mark.parametrize("stack", STACKS)
def test_bootstrap_roles_change_roles_only_within_their_boundary(stack, evaluations):
    assert findings(evaluations.bootstrap(stack)) == []


@pytest.mark.parametrize("stack", STACKS)
def test_a_role_change_is_bounded_by_the_statements_condition_or_by_the_deny(stack, evaluations):
    run = evaluations.bootstrap(stack)
    # Either bound alone holds: without the ChangeRoles condition the OnlyBoundedRoles Deny still bounds the grant,
    # and without the Deny the condition does.
    assert findings(run, unconditioned("ChangeRoles")) == []
    assert findings(run, without("OnlyBoundedRoles")) == []
    unbounded = findings(run, lambda s: unconditioned("ChangeRoles")(without("OnlyBoundedRoles")(s)))
    put = [m for m in unbounded if "iam:PutRolePolicy" in m and "statement 'ChangeRoles'" in m]
    assert len(put) == len(deployers(run)) >= 1, unbounded
    assert all("escalation path(s) PutRolePolicy" in m for m in put)
