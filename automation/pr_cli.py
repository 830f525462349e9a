"""`python -m automation pr <command>`: the PR check, on the check stack (fast path) or a PR stack of its own.

    python -m automation pr run --pr 42 --base origin/main
                                                # the check the PR's changes need: job code only -> the fast
                                                # path on pr-base; infrastructure -> deploy pr-42, health-check
                                                # it, destroy and remove it (always); documentation only -> none
    python -m automation pr check-code --pr 42  # the fast path by hand: the PR's job code on pr-base
    python -m automation pr update-base         # create or update the fast path's stack pr-base
    python -m automation pr deploy --pr 42      # the phases one by one
    python -m automation pr check --pr 42
    python -m automation pr destroy --pr 42 --clear-locks
    python -m automation pr reap --closed 40,41 # dry run: what would go; add --execute to destroy (and clear
                                                # stale state locks, automation/locks.py)

Needs the Pulumi CLI on PATH, AWS credentials (or an endpoint) for boto3 and Pulumi, and a backend:
PULUMI_BACKEND_URL (s3://bucket, file://dir) or Pulumi Cloud (PULUMI_ACCESS_TOKEN); secrets with
PULUMI_CONFIG_PASSPHRASE or PULUMI_SECRETS_PROVIDER (awskms://…); a `run` whose changes need no check needs none
of them. In GitHub Actions the PR number, commit and author default to the event's; elsewhere the commit defaults
to the checkout's HEAD.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import shutil
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from jobs.common.catalog import job_names
from settings.delivery import CHECK_STACK

from . import exit_codes, paths
from .aws_setup import AwsSetupMissing, session_for
from .code_check import CodeCheck
from .health_check import HealthCheck, HealthCheckFailed
from .lifecycle import Lifecycle
from .locks import LONGEST_RUN, backend_locks, clear_stale_locks
from .profile import (
    PROFILE,
    InvalidPullRequest,
    PullRequest,
    check_stack_config,
    pull_request,
    stack_config,
)
from .progress import Progress
from .reaper import reap
from .report import Report


def _github_pr_number() -> str:
    """The PR number of a GitHub Actions `pull_request` event, if this is one."""
    event = os.environ.get("GITHUB_EVENT_PATH")
    if event and Path(event).is_file():
        return str((json.loads(Path(event).read_text()).get("pull_request") or {}).get("number", ""))
    return ""


def _add_pr(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pr", default=os.environ.get("PR_NUMBER") or _github_pr_number(),
                        help="pull request number (default: $PR_NUMBER or the GitHub event's)")
    parser.add_argument("--commit", default=os.environ.get("GITHUB_SHA", ""),
                        help="commit (default: $GITHUB_SHA, else the checkout's HEAD)")
    parser.add_argument("--creator", default=os.environ.get("GITHUB_ACTOR", os.environ.get("USER", "")),
                        help="PR author, recorded as owner (default: $GITHUB_ACTOR, else $USER)")


def _add_check(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--deadline", type=float, default=1200, help="seconds the pipeline may take (default 1200)")
    parser.add_argument("--report-json", type=Path, help="write the report as JSON here")
    parser.add_argument("--report-md", type=Path, help="write the report as Markdown here (for a PR comment)")


def _add_path(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--path", choices=("auto", *paths.PATHS), default="auto",
                        help="auto (default): from the changed files; fast: the PR's job code on the check stack; "
                             "full: deploy and destroy the PR stack")
    changes = parser.add_mutually_exclusive_group()
    changes.add_argument("--changed-files", type=Path,
                         help="file listing the changed files, one per line (- for standard input)")
    changes.add_argument("--base", help="git ref the PR is based on: the changes are git diff BASE...HEAD")


def add_commands(commands: argparse._SubParsersAction) -> None:
    """The `pr` group's commands, each run by `run`."""
    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        parser = commands.add_parser(name, help=help_text, description=help_text)
        parser.set_defaults(run=run)
        return parser

    run_ = command("run", "the check the PR's changes need: none (documentation only), the fast path (job code on "
                          "the check stack) or deploy, health-check, then destroy and remove the PR stack")
    _add_pr(run_)
    _add_check(run_)
    _add_path(run_)
    code = command("check-code", f"the fast path: run the PR's job code on the check stack ({CHECK_STACK}), "
                                 "deploying nothing")
    _add_pr(code)
    _add_check(code)
    code.add_argument("--jobs", default="", help="comma-separated jobs to check (default: every job it has)")
    command("update-base", f"create or update the fast path's long-lived check stack {CHECK_STACK}")
    _add_pr(command("deploy", "create or update the PR stack pr-<n> from the PR profile"))
    check = command("check", "run the pipeline of a deployed PR stack on the sample and check it")
    _add_pr(check)
    _add_check(check)
    destroy = command("destroy", "destroy the PR stack's resources and remove the stack")
    _add_pr(destroy)
    destroy.add_argument("--clear-locks", action="store_true",
                         help="first clear every state lock of the PR stack, however young: only where no other run "
                              "can hold it (the teardown job, after the PR's check job ended, e.g. killed when a "
                              "newer push cancelled it; the PR's concurrency group holds newer runs back)")
    reaper = command("reap", "destroy PR stacks older than a TTL or whose PR is closed")
    reaper.add_argument("--ttl-hours", type=float, default=24, help="maximum age of a PR stack (default 24)")
    reaper.add_argument("--closed", default="", help="comma-separated numbers of closed pull requests")
    reaper.add_argument("--execute", action="store_true", help="destroy for real (default: dry run, report only)")
    reaper.add_argument("--stale-lock-hours", type=float, default=LONGEST_RUN.total_seconds() / 3600,
                        help="clear a PR stack's DIY-backend lock older than this (default: the longest run, "
                             f"{LONGEST_RUN.total_seconds() / 3600:g} h; automation/locks.py)")


def _write_reports(report: Report, args: argparse.Namespace) -> None:
    if getattr(args, "report_json", None):
        args.report_json.write_text(report.to_json())
    if getattr(args, "report_md", None):
        args.report_md.write_text(report.to_markdown())


def _stop(report: Report, args: argparse.Namespace, code: int, message: str, where: str = "") -> int:
    """Stop (a precondition failed, or a single phase's engine call), with the reason on stderr and in the report
    files, so the PR comment says why even when the loop never started."""
    print(f"error: {message}", file=sys.stderr)
    report.outcome, report.exit_code, report.failure, report.where_to_look = "failed", code, message, where
    _write_reports(report, args)
    return code


def run(args: argparse.Namespace) -> int:
    deploying = args.command in ("deploy", "run", "check-code")
    number = str(getattr(args, "pr", ""))
    report = Report(stack=f"pr-{number}", pr=int(number) if number.isdigit() else 0,
                    commit=getattr(args, "commit", ""))
    if args.command == "update-base":
        report.stack = CHECK_STACK
    elif args.command != "reap":
        try:
            pr: PullRequest = pull_request(args.pr, args.commit, args.creator, deploying=deploying)
        except InvalidPullRequest as error:
            return _stop(report, args, exit_codes.USAGE, str(error))
    changed: list[str] | None = None
    if args.command == "run":
        try:
            changed = _changed(args)
        except paths.ChangedFilesError as error:
            return _stop(report, args, exit_codes.USAGE, str(error))
        if args.path == "auto" and changed is not None:  # a change that needs no check needs no engine either
            # Every job counted as on the check stack: none without the engine only when no file touches job code or
            # a job's tests; what the check stack lacks is decided once its outputs are read (below).
            choice = paths.choose(changed, job_names(), job_names())
            if choice.path == paths.NONE:
                return _skip(report, choice, args)
    if shutil.which("pulumi") is None:
        return _stop(report, args, exit_codes.USAGE, "the Pulumi CLI is not on PATH; install it "
                                    "(https://www.pulumi.com/docs/install/)")
    try:  # every PR stack (and the check stack) deploys to the PR profile's region
        session_for(PROFILE)
    except AwsSetupMissing as error:
        return _stop(report, args, exit_codes.NO_AWS_SETUP, str(error))
    from .stacks import AutomationBackend, AutomationStack, EngineError  # pulumi.automation, only when needed

    progress = Progress()
    if args.command == "reap":
        closed = [int(n) for n in args.closed.split(",") if n.strip()]
        decisions = reap(AutomationBackend(), ttl=timedelta(hours=args.ttl_hours), closed_prs=closed,
                         dry_run=not args.execute, on_output=progress.engine, locks=backend_locks(),
                         stale_after=timedelta(hours=args.stale_lock_hours))
        print(json.dumps([d.to_dict() for d in decisions], indent=2))
        return exit_codes.TEARDOWN_FAILED if any(d.action == "failed" for d in decisions) else exit_codes.OK

    def open_stack(name: str, config: dict[str, str] | None = None, tags: dict[str, str] | None = None):
        try:
            return AutomationStack(name, config, tags)
        except Exception as error:  # backend unreachable, wrong passphrase, …: say it plainly
            raise StackUnavailable(f"cannot open stack {name}: {str(error).strip().splitlines()[-1]}") from None

    # Opened once: the path choice reads its outputs, and the fast path then runs on it.
    check_stack = functools.cache(lambda: open_stack(CHECK_STACK))
    try:
        if args.command == "update-base":
            open_stack(CHECK_STACK, check_stack_config()).deploy(progress.engine)
            return 0
        if args.command == "check-code":
            jobs = [job for job in args.jobs.split(",") if job.strip()]
            report.path = paths.PathChoice(paths.FAST, "the fast path, by hand (check-code)", tuple(jobs)).to_dict()
            return _finish(_fast(check_stack(), pr, jobs, report, progress, args), args)
        if args.command == "run":
            choice = _choose_path(args.path, changed, check_stack)
            if choice.path == paths.NONE:  # job tests or shared job code, for no job the check stack has
                return _skip(report, choice, args)
            report.path = choice.to_dict()
            print(f"path: {choice.path}: {choice.reason}", file=sys.stderr)
            if choice.path == paths.FAST:
                return _finish(_fast(check_stack(), pr, list(choice.jobs), report, progress, args), args)
        stack = open_stack(pr.stack_name, stack_config(pr) if deploying else None, pr.tags() if deploying else None)
    except StackUnavailable as error:
        return _stop(report, args, exit_codes.FAILED, str(error),
                     "the backend (PULUMI_BACKEND_URL) and secrets (PULUMI_CONFIG_PASSPHRASE)")
    except EngineError as error:
        return _stop(report, args, exit_codes.FAILED, str(error))

    def health(outputs):
        return HealthCheck(outputs, deadline_seconds=args.deadline)

    try:
        if args.command == "run":
            report = Lifecycle(stack=stack, health_check=health, report=report, progress=progress).run()
        elif args.command == "deploy":
            stack.deploy(progress.engine)
            return 0
        elif args.command == "destroy":
            if args.clear_locks:  # the runs that took them have ended (see --help)
                for lock in clear_stale_locks(backend_locks(), stack.name, longest=timedelta(0))[0]:
                    print(f"cleared the lock of an ended run: {lock}", file=sys.stderr)
            stack.destroy(progress.engine)
            stack.remove()
            return 0
        else:
            try:
                result = health(stack.outputs()).run()
                report.health, report.outcome = result.to_dict(), "passed"
            except HealthCheckFailed as failed:
                report.outcome, report.exit_code = "failed", exit_codes.NOT_DONE
                report.failure, report.where_to_look = failed.reason, failed.where
                report.health = failed.result.to_dict() if failed.result else {}
    except EngineError as error:
        return _stop(report, args, exit_codes.TEARDOWN_FAILED if args.command == "destroy"
                                    else exit_codes.FAILED, str(error))
    return _finish(report, args)


class StackUnavailable(RuntimeError):
    pass


def _finish(report: Report, args: argparse.Namespace) -> int:
    _write_reports(report, args)
    print(report.to_markdown())
    return report.exit_code


def _changed(args: argparse.Namespace) -> list[str] | None:
    if args.changed_files:
        text = sys.stdin.read() if str(args.changed_files) == "-" else args.changed_files.read_text()
        return text.splitlines()
    return paths.changed_files(args.base) if args.base else None


def _skip(report: Report, choice: paths.PathChoice, args: argparse.Namespace) -> int:
    report.path, report.outcome = choice.to_dict(), "skipped"
    for phase in report.phases.values():
        phase.status = "skipped"
    print(f"path: {choice.path}: {choice.reason}: nothing to check", file=sys.stderr)
    return _finish(report, args)


def _choose_path(path: str, changed: list[str] | None, check_stack: Callable[[], Any]) -> paths.PathChoice:
    """The path `run` takes: forced, or from the changed files and the jobs the check stack has."""
    if path != "auto":
        return paths.choose(changed or [], (), job_names(), forced=path)
    if changed is None:
        return paths.PathChoice(paths.FULL, "no changed files given (--changed-files or --base)")
    try:
        check_jobs = check_stack().outputs().get("glue_jobs") or {}
    except RuntimeError as error:  # StackUnavailable, or the engine's EngineError reading its outputs
        return paths.PathChoice(paths.FULL, f"the check stack is unavailable ({error})", deciding=tuple(changed))
    choice = paths.choose(changed, check_jobs, job_names())
    if not check_jobs and choice.path == paths.FULL:
        # Not deployed yet (or deploys no job): every job change looks new to it.
        return dataclasses.replace(choice, reason=f"{choice.reason}; the check stack {CHECK_STACK} deploys no job "
                                                  "(create it with python -m automation pr update-base)")
    return choice


def _fast(stack, pr: PullRequest, jobs: list[str], report: Report, progress: Progress,
          args: argparse.Namespace) -> Report:
    """The PR's job code on the check stack: its outputs, then each job's run and check (no deploy, no teardown)."""
    report.stack = CHECK_STACK
    return Lifecycle(stack=stack, health_check=lambda outputs: CodeCheck(
        outputs, pr=pr.number, jobs=jobs or sorted(outputs.get("glue_jobs") or {}), deadline_seconds=args.deadline),
        report=report, progress=progress, ephemeral=False).run()
