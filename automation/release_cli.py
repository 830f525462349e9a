"""The release controller's commands (automation/release.py), and the others that act on one deployed stack:

    python -m automation release deploy --stack prod   # publish (aliases held), verify, then AWS shifts, prune
    python -m automation release rollback --stack prod --reason "bad totals"  # previous versions, pinned, at once
    python -m automation release rollback --stack prod --job orders --to 41   # a named version
    python -m automation release status --stack prod   # what is live, a rollback's pin, the newest versions
    python -m automation stack drift --stack prod      # read-only: 0 no drift, 1 drift, 3 could not check
    python -m automation data rollback --stack prod --job orders --snapshot 7212019266135408001
    python -m automation data rollback --stack prod --job orders --before-run jr_0123 --yes
                                                       # a job's table back (automation/data_rollback.py)

`release deploy`, `stack drift` and `data rollback` need the Pulumi CLI and the stack's backend (data rollback reads
the stack's outputs); `release rollback` and `release status` need only AWS credentials that may read and update the
stack's state machine and function aliases. Every command takes its region from AWS_REGION / AWS_DEFAULT_REGION,
else from the stack file's aws:region.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3

from components.release_info import COMMIT, COMMIT_VARIABLE
from settings.validation import STACK_NAME
from stack_files import stack_file, stack_names

from . import exit_codes
from .aws_setup import AwsSetupMissing, session_for, setup_problem
from .health_check import HealthCheck
from .progress import Progress
from .release import ReleaseController, ReleaseReport, RollbackIncomplete, rollback, status
from .release_client import AwsReleaseClient, ReleaseError
from .stacks import ROOT

# Each command, as `<group> <command>`.
RELEASE, STATUS = "release deploy", "release status"
DRIFT, DATA_ROLLBACK = "stack drift", "data rollback"


def _actor() -> str:
    return os.environ.get("GITHUB_ACTOR") or os.environ.get("USER", "")


def _with_stack(commands: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=help_text, description=help_text)
    parser.add_argument("--stack", required=True, help="stack name: a Pulumi.<stack>.yaml of this repository")
    parser.set_defaults(run=run)
    return parser


def add_release_commands(commands: argparse._SubParsersAction) -> None:
    """The `release` group: deploy, rollback, status."""
    release = _with_stack(commands, "deploy", "publish new pipeline versions with the aliases held, verify them, "
                                              "then let the managed deployments move the live aliases")
    release.add_argument("--commit", default=os.environ.get("GITHUB_SHA", ""),
                         help="commit being released (default: $GITHUB_SHA, else the checkout's HEAD)")
    release.add_argument("--actor", default=_actor(), help="who releases (default: $GITHUB_ACTOR, else $USER)")
    release.add_argument("--deadline", type=float, default=1800, help="seconds a verification run may take")
    release.add_argument("--report-json", type=Path, help="write the release report as JSON here")
    release.add_argument("--report-md", type=Path, help="write the release report as Markdown here")
    back = _with_stack(commands, "rollback", "move every live alias back to its previous (or a named) version at "
                                             "once and pin it there until a newer release")
    back.add_argument("--job", help="only this pipeline (its Glue job's name); required with --to on many jobs")
    back.add_argument("--to", type=int, help="version number to make live (default: the one live before)")
    back.add_argument("--reason", default="", help="why: recorded on the alias and in the output")
    back.add_argument("--actor", default=_actor(), help="who rolls back (default: $GITHUB_ACTOR, else $USER)")
    show = _with_stack(commands, "status", "show what is live, a rollback's pin, and the newest versions with their "
                                           "commits")
    show.add_argument("--json", action="store_true", help="print JSON instead of text")


def add_drift_command(commands: argparse._SubParsersAction) -> None:
    """`stack drift`."""
    drift = _with_stack(commands, "drift", "compare the stack's state with AWS without changing either")
    drift.add_argument("--report-json", type=Path, help="write the drift report as JSON here")
    drift.add_argument("--report-md", type=Path, help="write the drift report as Markdown here")


def add_data_commands(commands: argparse._SubParsersAction) -> None:
    """The `data` group: rollback."""
    data = _with_stack(commands, "rollback", "roll a job's table back to an earlier snapshot, undoing the runs "
                                             "after it")
    data.add_argument("--job", required=True, help="the job whose table to roll back (a key of the tables output)")
    target = data.add_mutually_exclusive_group(required=True)
    target.add_argument("--snapshot", type=int, help="snapshot id of main to return to (a release report's "
                                                      "table_snapshot)")
    target.add_argument("--before-run", metavar="GLUE_RUN_ID", help="return to main as this Glue run found it")
    data.add_argument("--yes", action="store_true", help="roll back without asking (needed without a terminal)")


def _check_stack(stack: str) -> str | None:
    if not STACK_NAME.match(stack):
        return f"--stack {stack!r}: must match {STACK_NAME.pattern}"
    if not stack_file(stack).is_file():
        return f"--stack {stack!r}: no Pulumi.{stack}.yaml in {ROOT}; stacks: {', '.join(sorted(stack_names()))}"
    return None


def _write(report: Any, json_path: Path | None, md_path: Path | None) -> None:
    if json_path:
        json_path.write_text(report.to_json())
    if md_path:
        md_path.write_text(report.to_markdown())


def _pipelines(client: AwsReleaseClient, stack: str, job: str | None) -> dict[str, str]:
    aliases = client.live_aliases(stack)
    if not aliases:
        raise AwsSetupMissing(f"stack {stack} has no pipeline with a live alias in this account and region "
                              f"({client.sfn.meta.region_name}): is it deployed here?")
    if job:
        key = job.replace("_", "-")
        if key not in aliases:
            raise ReleaseError(f"--job {job!r}: stack {stack} has pipelines {', '.join(sorted(aliases))}")
        return {key: aliases[key]}
    return aliases


def _fail(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    command = f"{args.group} {args.command}"
    problem = _check_stack(args.stack)
    if problem is None and command == RELEASE and not COMMIT.match(args.commit):
        problem = f"--commit {args.commit!r}: expected a git commit hash, 7-40 hex characters"
    if problem is None and command in (RELEASE, DRIFT) and shutil.which("pulumi") is None:
        problem = "the Pulumi CLI is not on PATH; install it (https://www.pulumi.com/docs/install/)"
    if problem:
        if command == RELEASE:  # the report says why nothing was released
            report = ReleaseReport(stack=args.stack, commit=args.commit, actor=args.actor).fail(
                "failed", exit_codes.USAGE, problem)
            _write(report, args.report_json, args.report_md)
        return _fail(problem, exit_codes.USAGE)
    try:
        session = session_for(stack_file(args.stack))
    except AwsSetupMissing as error:
        if command == RELEASE:
            _write(ReleaseReport(stack=args.stack, commit=args.commit, actor=args.actor).fail(
                "failed", exit_codes.NO_AWS_SETUP, str(error)), args.report_json, args.report_md)
        return _fail(str(error), exit_codes.NO_AWS_SETUP)
    if command == RELEASE:
        return _release(args, session)
    if command == DRIFT:
        return _drift(args)
    if command == DATA_ROLLBACK:
        return _data_rollback(args)
    try:
        client = AwsReleaseClient(session)
        pipelines = _pipelines(client, args.stack, getattr(args, "job", None))
        if command == STATUS:
            return _status(client, pipelines, args)
        results = rollback(client, pipelines, stack=None if args.job else args.stack, to=args.to,
                           reason=args.reason, actor=args.actor)
    except AwsSetupMissing as error:
        return _fail(f"{error}; nothing was changed", exit_codes.NO_AWS_SETUP)
    except RollbackIncomplete as error:
        return _fail(str(error), exit_codes.FAILED)
    except ReleaseError as error:
        return _fail(f"{error}; nothing was changed", exit_codes.USAGE)
    except Exception as error:  # AccessDenied, throttling, …: one line, not a traceback
        problem = setup_problem(error)
        return _fail(f"{problem or str(error).strip().splitlines()[-1]}; nothing was changed",
                     exit_codes.NO_AWS_SETUP if problem else exit_codes.FAILED)
    for result in results:
        print(f"{result.target}: live is now v{result.to_version}"
              + (f" (commit {result.to_commit})" if result.to_commit else "") + f", was v{result.from_version}"
              + (f" (commit {result.from_commit})" if result.from_commit else "") + f" — {result.pin}")
    bad = sorted({r.from_commit for r in results if r.from_commit})
    print("\nTo reconcile the code: revert the rolled-back change on main"
          + (f" (git revert {' '.join(c[:12] for c in bad)} … or the PR that brought it)" if bad else "")
          + " and merge. Each alias is pinned: `pulumi up` and releases keep it where it is until a release "
            "publishes a version newer than the pin's `over`.")
    print(json.dumps([r.to_dict() for r in results], indent=2))
    return exit_codes.OK


def _release(args: argparse.Namespace, session: boto3.Session) -> int:
    from .stacks import AutomationStack

    report = ReleaseReport(stack=args.stack, commit=args.commit, actor=args.actor)
    progress = Progress()

    def verify(outputs: Mapping[str, Any], job: str, version_arn: str) -> dict:
        return HealthCheck(outputs, jobs=[job], state_machine_arns={job: version_arn},
                           deadline_seconds=args.deadline).run().to_dict()

    try:
        stack = AutomationStack(args.stack, env={COMMIT_VARIABLE: args.commit})
        ReleaseController(client=AwsReleaseClient(session), verify=verify, progress=progress).release(stack, report)
    except Exception as error:  # backend unreachable, wrong passphrase, …: say it plainly, keep the report
        report.fail("failed", exit_codes.FAILED, f"cannot open stack {args.stack}: "
                                                  f"{str(error).strip().splitlines()[-1]}")
    _write(report, args.report_json, args.report_md)
    print(report.to_markdown())
    return report.exit_code


def _drift(args: argparse.Namespace) -> int:
    from .drift import DriftReport, check_drift
    from .stacks import AutomationStack

    try:
        report = check_drift(AutomationStack(args.stack))
    except Exception as error:  # the stack could not even be opened
        report = DriftReport(stack=args.stack, error=str(error).strip().splitlines()[-1])
    _write(report, args.report_json, args.report_md)
    print(report.to_markdown())
    return report.exit_code


def _status(client: AwsReleaseClient, pipelines: Mapping[str, str], args: argparse.Namespace) -> int:
    shown = status(client, pipelines)
    if args.json:
        print(json.dumps(shown, indent=2))
        return exit_codes.OK
    for pipeline in shown:
        routing = ", ".join(f"v{r['version']} {r['weight']}%" for r in pipeline["routing"])
        print(f"{pipeline['pipeline']}: {routing}  ({pipeline['description'] or 'no description'})")
        routed = {r["version"] for r in pipeline["routing"]}
        for version in pipeline["versions"]:
            label = "live" if version["version"] in routed else ""
            print(f"  {label:5} v{version['version']:<5} commit {version['commit'] or 'unknown':12.12} "
                  f"published {version['published'] or 'unknown'}")
    return exit_codes.OK


def stack_outputs(stack: str) -> dict[str, Any]:
    """The stack's outputs from its backend (the engine is imported only when needed)."""
    from .data_rollback import DataRollbackError

    if shutil.which("pulumi") is None:
        raise DataRollbackError("the Pulumi CLI is not on PATH; install it (https://www.pulumi.com/docs/install/)")
    from .stacks import AutomationStack

    try:
        return AutomationStack(stack).outputs()
    except Exception as error:  # backend unreachable, wrong passphrase, …: say it plainly
        raise DataRollbackError(f"cannot read the outputs of stack {stack}: "
                                f"{str(error).strip().splitlines()[-1]}") from None


def _data_rollback(args: argparse.Namespace) -> int:
    # pyiceberg, only for this command.
    from .data_rollback import (
        DataRollbackError,
        glue_catalog,
        load_table,
        plan,
        publishing_runs,
        roll_back,
        snapshot_before_run,
        table_identifier,
    )

    try:
        outputs = stack_outputs(args.stack)
        identifier = table_identifier(outputs, args.job)
        curated, s3 = (outputs.get("buckets") or {}).get("curated"), boto3.client("s3")
        if not curated:
            raise DataRollbackError("the stack has no buckets.curated output (where its runs' quality results are)")
        target = args.snapshot
        if args.before_run:
            target = snapshot_before_run(s3, curated, args.job, args.before_run)
        table = load_table(glue_catalog(), identifier)
        planned = plan(table, identifier, target)
        print("\n".join(planned.describe(publishing_runs(s3, curated, args.job, planned.undone))))
        if not args.yes:
            if not sys.stdin.isatty():
                raise DataRollbackError("no terminal to confirm on: pass --yes to roll back")
            if input(f"Roll {identifier} back to snapshot {target}? [y/N] ").strip().lower() not in ("y", "yes"):
                print("Not rolled back: nothing was changed.", file=sys.stderr)
                return exit_codes.NOT_DONE
        roll_back(table, planned)
    except DataRollbackError as error:
        print(f"error: {error}\nNothing was changed.", file=sys.stderr)
        return exit_codes.USAGE
    print(f"{identifier}: main is now snapshot {target} (was {planned.current}). The undone runs' input is not "
          "read again by itself (their bookmark has moved on): rerun it to redo those runs with the code now live.")
    return 0
