"""The pack's IAM facts come from the pinned IAM databases (requirements-dev.txt), not from hand lists: the committed
policies/guardrails/iam_data.json is what policies/generate_iam_data.py writes from them, and the pack's view of
"actions allowed on Resource '*'" and of the escalation paths is that file's."""

from __future__ import annotations

import json
import runpy

import pytest
from cloudsplaining.shared.constants import PRIVILEGE_ESCALATION_METHODS
from policy_sentry.querying.actions import get_actions_that_support_wildcard_arns_only, get_actions_with_access_level

from harness.policy_report import PolicyInput, evaluate
from policies.guardrails import escalation, iam_data
from stack_files import ROOT

pytestmark = pytest.mark.tier("unit")

GENERATOR = ROOT / "policies" / "generate_iam_data.py"


def wildcard_grant(actions: list[str]) -> list[PolicyInput]:
    policy = json.dumps({"Statement": [{"Sid": "S", "Effect": "Allow", "Action": actions, "Resource": "*"}]})
    return [PolicyInput(type="aws:iam/rolePolicy:RolePolicy", name="p", props={"role": "r", "policy": policy})]


def refused_on_star(actions: list[str]) -> list[str]:
    report = evaluate(wildcard_grant(actions), stack="dev", mode="update")
    (finding,) = [f for f in report.findings if f.policy == "iam-no-wildcard-resources"] or [None]
    return [] if finding is None else [a for a in actions if repr(a) in finding.message]


def test_the_committed_data_file_is_what_the_pinned_databases_give():
    generator = runpy.run_path(str(GENERATOR))
    assert iam_data.DATA_FILE.read_text() == generator["render"](generator["build"]()), \
        "run: .venv/bin/python policies/generate_iam_data.py"


# The services the stacks' and the bootstrap's policies use (Lake Formation has no resource types at all).
@pytest.mark.parametrize("service", ["cloudwatch", "xray", "logs", "kms", "glue", "sns", "states", "s3", "iam"])
def test_the_pack_allows_on_star_exactly_the_actions_policy_sentry_says_have_no_resource(service):
    wildcard_only = get_actions_that_support_wildcard_arns_only(service)
    assert wildcard_only, service
    assert refused_on_star(wildcard_only) == []
    scoped = sorted(set(get_actions_with_access_level(service, "Write")) - set(wildcard_only))
    assert scoped and refused_on_star(scoped) == scoped


def test_lake_formation_data_access_may_use_star_and_s3_reads_may_not():
    """The issue's false positive: AWS has no narrower resource for lakeformation:GetDataAccess."""
    assert refused_on_star(["lakeformation:GetDataAccess", "s3:GetObject"]) == ["s3:GetObject"]


def test_the_escalation_analysis_uses_cloudsplainings_paths_and_the_boundary_paths():
    assert {name: tuple(sorted(actions)) for name, actions in PRIVILEGE_ESCALATION_METHODS.items()} == \
        iam_data.ESCALATION_PATHS
    assert set(escalation.PATHS) == set(PRIVILEGE_ESCALATION_METHODS) | set(escalation.BOUNDARY_PATHS)
    assert {"iam:putrolepolicy", "iam:attachrolepolicy", "iam:createpolicyversion", "iam:setdefaultpolicyversion",
            "iam:updateassumerolepolicy", "iam:deleterolepermissionsboundary"} <= escalation.ROLE_CHANGING
    assert "iam:passrole" not in escalation.ROLE_CHANGING
    assert "iam:putrolepolicy" in iam_data.PERMISSIONS_BOUNDARY_ACTIONS
    assert "iam:createpolicyversion" not in iam_data.PERMISSIONS_BOUNDARY_ACTIONS
