"""GitHub's side of the delivery set-up (bootstrap/github_settings.py) under Pulumi's mocks, for each example
bootstrap stack: the environments with their default-branch-only deployment and prod's reviewers, the OIDC subject
template, the variables each workflow job can read in the scope it runs in, the default branch's ruleset and the
CODEOWNERS it enforces; and that every job that assumes a role runs from the workflow file and in the environment
that role is for."""

from __future__ import annotations

import fnmatch
import re
import subprocess
from collections import defaultdict

import pulumi
import pytest
import yaml

from bootstrap.config import MAX_REVIEWERS, PROJECT, parse_github_settings
from bootstrap.documents import ROLE_WORKFLOWS, RunsIn, drift_environment, preview_environment
from bootstrap.github_settings import GITHUB_ACTIONS_APP_ID, required_checks
from bootstrap.variables import REPOSITORY_VARIABLES, deploy_role_variable, preview_role_variable
from settings.validation import ConfigError
from stack_files import ROOT, SHIPPED_STACKS, stack_config
from tests.test_bootstrap import (
    BOOTSTRAP,
    PROD_REVIEWERS,
    STACKS,
    bootstrap_run_with,
    one,
    prod_with_provider_and_reviewers,
    settings_of,
)
from tests.test_workflows import WORKFLOWS, all_workflows, role_assumed, steps

pytestmark = pytest.mark.tier("program")

ENVIRONMENT = "github:index/repositoryEnvironment:RepositoryEnvironment"
BRANCH_POLICY = "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy"
REPOSITORY_VARIABLE = "github:index/actionsVariable:ActionsVariable"
ENVIRONMENT_VARIABLE = "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable"
SUBJECT_TEMPLATE = ("github:index/actionsRepositoryOidcSubjectClaimCustomizationTemplate:"
                    "ActionsRepositoryOidcSubjectClaimCustomizationTemplate")
RULESET = "github:index/repositoryRuleset:RepositoryRuleset"

# The role each variable names, and the environment a job using it runs in (None: none). Which workflow files may
# assume each kind of role is bootstrap/documents.py's ROLE_WORKFLOWS, the roles' own trust conditions.
ROLE_KINDS = {
    **{deploy_role_variable(stack): ("deploy", stack) for stack in SHIPPED_STACKS},
    **{preview_role_variable(stack): ("preview", preview_environment(stack)) for stack in SHIPPED_STACKS},
    "AWS_PR_STACKS_ROLE_ARN": ("pr-stacks", None),
    "AWS_CHECK_STACK_ROLE_ARN": ("check-stack", None),
    **{f"AWS_DRIFT_ROLE_ARN@{drift_environment(stack)}": ("drift", drift_environment(stack))
       for stack in SHIPPED_STACKS},
}
DEPLOY_WORKFLOWS = tuple(workflow.file for workflow in ROLE_WORKFLOWS["deploy"])


def resources(stack: str, evaluations, type_: str, *, allow_empty: bool = False) -> list:
    return evaluations.bootstrap(stack).of_type(type_, allow_empty=allow_empty)


def environments_of(stack: str) -> set[str]:
    hosted = settings_of(stack).environments
    return {*hosted, *(drift_environment(e) for e in hosted), *(preview_environment(e) for e in hosted)}


def deploying_environments_of(stack: str) -> set[str]:
    """The environments only the default branch's jobs run in (all but the pull requests' previews)."""
    return environments_of(stack) - {preview_environment(e) for e in settings_of(stack).environments}


# --- environments ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_each_environment_deploys_only_from_the_default_branch(stack, evaluations):
    settings = settings_of(stack)
    every = {r.inputs["environment"]: r.inputs for r in resources(stack, evaluations, ENVIRONMENT)}
    assert set(every) == environments_of(stack)
    created = {name: inputs for name, inputs in every.items() if name in deploying_environments_of(stack)}
    for environment, inputs in created.items():
        assert inputs["repository"] == settings.github_repository.split("/")[1]
        assert inputs["deploymentBranchPolicy"] == {"protectedBranches": False, "customBranchPolicies": True}
        assert inputs["canAdminsBypass"] is False, environment
    policies = [(r.inputs["environment"], r.inputs["branchPattern"], r.inputs.get("tagPattern"))
                for r in resources(stack, evaluations, BRANCH_POLICY)]
    assert sorted(policies) == sorted((e, settings.default_branch, None) for e in created), "one rule each: the branch"


@pytest.mark.parametrize("stack", STACKS)
def test_previews_run_from_pull_requests_in_their_own_environment_reviewed_where_the_stack_is(stack, evaluations):
    """A pull request's branch is any: its preview environments have no branch rule (GitHub checks the head branch),
    so a protected stack's preview, which reads that stack's state and secrets, waits for one of its reviewers."""
    previews = {preview_environment(e): e for e in settings_of(stack).environments}
    created = {r.inputs["environment"]: r.inputs for r in resources(stack, evaluations, ENVIRONMENT)
               if r.inputs["environment"] in previews}
    assert set(created) == set(previews)
    assert not [r for r in resources(stack, evaluations, BRANCH_POLICY) if r.inputs["environment"] in previews]
    config = stack_config(stack, BOOTSTRAP)
    for environment, inputs in created.items():
        assert "deploymentBranchPolicy" not in inputs and inputs["canAdminsBypass"] is False, environment
        if previews[environment] == "prod":
            assert inputs["reviewers"] == [{"teams": config[f"{PROJECT}:reviewerTeams"],
                                            "users": config[f"{PROJECT}:reviewerUsers"]}]
            assert inputs["preventSelfReview"] is True, "a pull request's author cannot approve its own preview"
        else:
            assert "reviewers" not in inputs, environment


def test_prod_needs_its_configured_reviewers_and_no_other_environment_has_any(evaluations):
    for stack in STACKS:
        for environment in resources(stack, evaluations, ENVIRONMENT):
            inputs = environment.inputs
            if inputs["environment"] in ("prod", preview_environment("prod")):
                config = stack_config(stack, BOOTSTRAP)
                assert inputs["reviewers"] == [{"teams": config[f"{PROJECT}:reviewerTeams"],
                                                "users": config[f"{PROJECT}:reviewerUsers"]}]
                assert inputs["preventSelfReview"] is True
            else:
                assert "reviewers" not in inputs and inputs["preventSelfReview"] is False, inputs["environment"]
    run = prod_with_provider_and_reviewers()
    prod = one(r for r in run.of_type(ENVIRONMENT) if r.inputs["environment"] == "prod")
    assert prod.inputs["reviewers"] == [{"teams": PROD_REVIEWERS["reviewerTeams"],
                                         "users": PROD_REVIEWERS["reviewerUsers"]}]


@pytest.mark.tier("unit")
@pytest.mark.parametrize(("environments", "changes", "message"), [
    (("prod",), {"reviewerTeams": [], "reviewerUsers": []},
     "reviewerTeams + data-pipeline-bootstrap:reviewerUsers = 0 reviewer(s): the protected environment(s) prod need "
     "1 to 6 required reviewers"),
    (("prod",), {"reviewerTeams": list(range(1, MAX_REVIEWERS + 1)), "reviewerUsers": [99]},
     "= 7 reviewer(s): the protected environment(s) prod need 1 to 6"),
    (("dev", "qa"), {"reviewerTeams": [5]}, "= 1 reviewer(s): this account hosts no protected environment (prod)"),
    (("prod",), {"reviewerTeams": ["data-platform"]},
     "data-pipeline-bootstrap:reviewerTeams = ['data-platform']: must be a list of positive GitHub ids"),
    (("prod",), {"manageRepository": "yes"}, "data-pipeline-bootstrap:manageRepository = 'yes': must be true or false"),
])
def test_bad_github_settings_are_reported_with_key_value_and_allowed(environments, changes, message):
    raw = {"manageRepository": False, "reviewerTeams": [1], "reviewerUsers": [], **changes}
    with pytest.raises(ConfigError) as error:
        parse_github_settings("prod", raw, environments)
    assert message in str(error.value)


def test_the_program_stops_cleanly_when_prod_has_no_reviewers():
    with pytest.raises(pulumi.RunError) as error:
        bootstrap_run_with("prod", reviewerTeams=[])
    assert "the protected environment(s) prod need 1 to 6 required reviewers" in str(error.value)
    assert error.value.__cause__ is None and error.value.__suppress_context__


# --- the OIDC subject and the ruleset: once, from the stack that manages the repository ---------------------------

def managing(evaluations) -> str:
    # One stack manages the repository: the others have none.
    (stack,) = [s for s in STACKS if resources(s, evaluations, SUBJECT_TEMPLATE, allow_empty=True)]
    return stack


def test_the_oidc_subject_names_the_workflow_file_and_its_ref(evaluations):
    stack = managing(evaluations)
    assert stack_config(stack, BOOTSTRAP)[f"{PROJECT}:manageRepository"] is True
    template = one(resources(stack, evaluations, SUBJECT_TEMPLATE)).inputs
    assert template == {"repository": "data-pipeline", "useDefault": False,
                        "includeClaimKeys": ["repo", "context", "job_workflow_ref"]}


def test_the_default_branch_ruleset_requires_review_by_code_owners_and_the_checks(evaluations):
    ruleset = one(resources(managing(evaluations), evaluations, RULESET)).inputs
    assert {k: ruleset[k] for k in ("target", "enforcement", "conditions")} == {
        "target": "branch", "enforcement": "active",
        "conditions": {"refName": {"includes": ["refs/heads/main"], "excludes": []}}}
    assert ruleset.get("bypassActors", []) == [], "nobody, administrators included, skips it"
    checks = ["test", "preview (dev)", "preview (qa)", "preview (staging)", "preview (prod)"]
    assert ruleset["rules"] == {
        "pullRequest": {"requiredApprovingReviewCount": 1, "requireCodeOwnerReview": True,
                        "dismissStaleReviewsOnPush": True, "requireLastPushApproval": True},
        "requiredStatusChecks": {"requiredChecks": [{"context": c, "integrationId": GITHUB_ACTIONS_APP_ID}
                                                    for c in checks],
                                 "strictRequiredStatusChecksPolicy": True},
        "nonFastForward": True, "deletion": True}


@pytest.mark.tier("unit")
def test_required_checks_are_the_names_github_gives_the_test_and_preview_jobs(tmp_path):
    jobs = yaml.safe_load((WORKFLOWS / "pull-request.yml").read_text())["jobs"]
    assert required_checks() == ("test", *(f"preview ({s})" for s in jobs["preview"]["strategy"]["matrix"]["stack"]))
    renamed = tmp_path / "w.yml"
    renamed.write_text(yaml.safe_dump({"jobs": {"test": {"name": "Tests"}, "preview": {
        "strategy": {"matrix": {"stack": ["a"]}}}}}))
    assert required_checks(renamed) == ("Tests", "preview (a)")


# --- variables: what each job reads exists where it runs ------------------------------------------------------------

def variables_by_scope(evaluations) -> dict[str | None, dict[str, str]]:
    """Scope (None: the repository; else an environment) -> variable -> value, over every example stack."""
    scopes: dict[str | None, dict[str, str]] = defaultdict(dict)
    for stack in STACKS:
        for variable in resources(stack, evaluations, REPOSITORY_VARIABLE):
            assert variable.inputs["variableName"] not in scopes[None], "one stack owns each repository variable"
            scopes[None][variable.inputs["variableName"]] = variable.inputs["value"]
        for variable in resources(stack, evaluations, ENVIRONMENT_VARIABLE):
            scopes[variable.inputs["environment"]][variable.inputs["variableName"]] = variable.inputs["value"]
    return scopes


def test_every_variable_a_job_reads_is_set_where_the_job_runs(evaluations):
    scopes = variables_by_scope(evaluations)
    for label, environment, text in job_scopes():
        read = set(re.findall(r"vars\.(\w+)", text)) | {
            deploy_role_variable(s) for s in SHIPPED_STACKS if "AWS_DEPLOY_ROLE_ARN_{0}" in text}
        available = {**scopes[None], **scopes.get(environment, {})}
        assert read <= set(available), f"{label} in {environment or 'no environment'}: {read - set(available)}"
    assert {name for scope in scopes.values() for name in scope} == set(REPOSITORY_VARIABLES)


def test_each_environment_gets_its_own_accounts_backend_and_roles(evaluations):
    scopes = variables_by_scope(evaluations)
    for stack in STACKS:
        exports = evaluations.bootstrap(stack).exports
        for environment in environments_of(stack):
            expected = {k: exports[k] for k in ("AWS_REGION", "PULUMI_BACKEND_URL", "PULUMI_SECRETS_PROVIDER",
                                                "AWS_DEPLOY_SESSION_SECONDS")}
            if environment.startswith("drift-"):
                expected["AWS_DRIFT_ROLE_ARN"] = exports["AWS_DRIFT_ROLE_ARN"]
            if environment.startswith("preview-"):
                variable = preview_role_variable(environment.removeprefix("preview-"))
                expected[variable] = exports[variable]
            assert scopes[environment] == expected, environment
        for environment in settings_of(stack).environments:
            variable = deploy_role_variable(environment)
            assert scopes[None][variable] == exports[variable]


def job_scopes():
    """(label, environment, the job's text with its stack bound) for every job and each stack it may run for."""
    for name, workflow in all_workflows().items():
        for job_name, job in workflow["jobs"].items():
            text = yaml.safe_dump(job)
            for stack in bound_stacks(workflow, job):
                bound = bind(text, stack)
                yield f"{name}/{job_name}", yaml.safe_load(bound).get("environment"), bound


def bound_stacks(workflow: dict, job: dict) -> list[str | None]:
    """The stacks a job runs for: its matrix's, its dispatch choices, its callers' (reusable), else none."""
    if "matrix" in job.get("strategy", {}):
        return job["strategy"]["matrix"].get("stack", [None])
    if "workflow_dispatch" in workflow["on"] and "inputs" in (workflow["on"]["workflow_dispatch"] or {}):
        return workflow["on"]["workflow_dispatch"]["inputs"]["stack"]["options"]
    return [None]


def bind(text: str, stack: str | None) -> str:
    if stack is None:
        return text
    for expression in ("${{ matrix.stack }}", "${{ inputs.stack }}"):
        text = text.replace(expression, stack)
    # A role chosen by the stack: `vars[format('<NAME>_{0}', inputs.stack)]` reads the variable <NAME>_<STACK>.
    return re.sub(r"vars\[format\('(\w+)_\{0\}', \w+\.stack\)\]", lambda m: f"vars.{m[1]}_{stack.upper()}", text)


# --- who assumes which role --------------------------------------------------------------------------------------

def role_assumptions() -> list[tuple[str, str, str | None, str]]:
    """(caller label, workflow file the job is defined in, its environment, the role's variable) for every job
    that assumes a role; a reusable workflow's job once per caller, with the caller's inputs."""
    callers = defaultdict(list)
    for name, workflow in all_workflows().items():
        for job_name, job in workflow["jobs"].items():
            if "uses" in job:
                callers[job["uses"].removeprefix("./.github/workflows/")].append((f"{name}/{job_name}", job["with"]))
    found = []
    for name, workflow in all_workflows().items():
        for job_name, job in workflow["jobs"].items():
            if not any(s.get("uses", "").startswith("aws-actions/configure-aws-credentials@") for s in steps(job)):
                continue
            calls = callers[name] if "workflow_call" in workflow["on"] else [
                (f"{name}/{job_name}", {"stack": stack}) for stack in bound_stacks(workflow, job)]
            for label, inputs in calls:
                bound = yaml.safe_load(bind(yaml.safe_dump(job), inputs.get("stack")))
                role = role_assumed(bound).replace("${{ inputs.role-to-assume }}", inputs.get("role-to-assume", ""))
                variable = re.fullmatch(r"\$\{\{ vars\.(\w+) \}\}", role)[1]
                environment = bound.get("environment")
                key = f"{variable}@{environment}" if f"{variable}@{environment}" in ROLE_KINDS else variable
                found.append((label, name, environment, key))
    return found


@pytest.mark.tier("unit")
@pytest.mark.parametrize("assumption", role_assumptions(), ids=lambda a: a[0])
def test_every_job_assuming_a_role_runs_from_the_file_and_environment_the_role_trusts(assumption):
    label, workflow, environment, role = assumption
    kind, role_environment = ROLE_KINDS[role]
    trusted = {w.file: w.runs_in for w in ROLE_WORKFLOWS[kind]}
    assert workflow in trusted, f"{label}: {role} may be assumed only from {sorted(trusted)}"
    in_environment = trusted[workflow] in (RunsIn.ENVIRONMENT, RunsIn.PULL_REQUEST_ENVIRONMENT)
    expected = role_environment if in_environment else None
    assert environment == expected, f"{label}: {role} needs environment {expected}"


@pytest.mark.tier("unit")
def test_every_deploy_role_is_assumed_by_release_and_rollback_in_every_environment():
    seen = {(workflow, environment) for _, workflow, environment, role in role_assumptions()
            if role.startswith("AWS_DEPLOY_ROLE_ARN_")}
    assert seen == {(workflow, stack) for workflow in DEPLOY_WORKFLOWS for stack in SHIPPED_STACKS}


# --- CODEOWNERS --------------------------------------------------------------------------------------------------

CODEOWNERS = ROOT / ".github" / "CODEOWNERS"


def owners_of(path: str, rules: list[tuple[str, list[str]]]) -> list[str]:
    """The owners of a repository path: GitHub takes the last matching rule (anchored patterns, `dir/` for a tree)."""
    owners: list[str] = []
    for pattern, rule_owners in rules:
        anchored = pattern.lstrip("/")
        if (anchored.endswith("/") and path.startswith(anchored)) or fnmatch.fnmatchcase(path, anchored):
            owners = rule_owners
    return owners


def codeowner_rules() -> list[tuple[str, list[str]]]:
    lines = [line.split() for line in CODEOWNERS.read_text().splitlines() if line.strip() and not line.startswith("#")]
    return [(pattern, owners) for pattern, *owners in lines]


@pytest.mark.tier("unit")
def test_codeowners_cover_the_guardrails_the_delivery_and_the_stack_files():
    rules = codeowner_rules()
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    guarded = [p for p in tracked if p.startswith(("policies/", "bootstrap/", ".github/"))
               or re.fullmatch(r"Pulumi(\.[\w-]+)?\.yaml", p)]
    assert {"policies/guardrails/framework.py", "bootstrap/program.py", ".github/workflows/delivery.yml",
            ".github/CODEOWNERS", "Pulumi.prod.yaml", "Pulumi.yaml"} <= set(guarded)
    assert [p for p in guarded if not owners_of(p, rules)] == []
    assert owners_of("jobs/orders/transform.py", rules) == [], "the rest is reviewed as usual, not by code owners"
    # Placeholder team of the repository's owner (example-org), the same owner every bootstrap stack names.
    owner_names = {stack_config(s, BOOTSTRAP)[f"{PROJECT}:githubRepository"].split("/")[0] for s in STACKS}
    assert {owner.split("/")[0] for _, owners in rules for owner in owners} == {f"@{o}" for o in owner_names}
