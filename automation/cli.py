"""Command line of the PR-stack loop and of releases (`release`, `rollback`, `status`, `drift`: see
automation/release_cli.py).

    python -m automation run --pr 42            # deploy pr-42, health-check it, destroy and remove it (always)
    python -m automation deploy --pr 42         # the phases one by one
    python -m automation check --pr 42
    python -m automation destroy --pr 42
    python -m automation reap --closed 40,41    # dry run: what would go; add --execute to destroy

Needs the Pulumi CLI on PATH, AWS credentials (or an endpoint) for boto3 and Pulumi, and a backend:
PULUMI_BACKEND_URL (s3://bucket, file://dir) or Pulumi Cloud (PULUMI_ACCESS_TOKEN); secrets with
PULUMI_CONFIG_PASSPHRASE or PULUMI_SECRETS_PROVIDER (awskms://…). In GitHub Actions the PR number, commit and
author default to the event's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from datetime import timedelta
from pathlib import Path

from . import github_cli, release_cli
from .health_check import HealthCheck, HealthCheckFailed
from .lifecycle import EXIT_CHECK_FAILED, EXIT_DEPLOY_FAILED, EXIT_TEARDOWN_FAILED, Lifecycle
from .profile import InvalidPullRequest, PullRequest, pull_request, stack_config
from .progress import Progress
from .reaper import reap
from .report import Report

EXIT_USAGE = 2


def _github_pr_number() -> str:
    """The PR number of a GitHub Actions `pull_request` event, if this is one."""
    event = os.environ.get("GITHUB_EVENT_PATH")
    if event and Path(event).is_file():
        return str((json.loads(Path(event).read_text()).get("pull_request") or {}).get("number", ""))
    return ""


def _add_pr(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pr", default=os.environ.get("PR_NUMBER") or _github_pr_number(),
                        help="pull request number (default: $PR_NUMBER or the GitHub event's)")
    parser.add_argument("--commit", default=os.environ.get("GITHUB_SHA", ""), help="commit (default: $GITHUB_SHA)")
    parser.add_argument("--creator", default=os.environ.get("GITHUB_ACTOR", os.environ.get("USER", "")),
                        help="PR author, recorded as owner (default: $GITHUB_ACTOR, else $USER)")


def _add_check(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--deadline", type=float, default=1200, help="seconds the pipeline may take (default 1200)")
    parser.add_argument("--report-json", type=Path, help="write the report as JSON here")
    parser.add_argument("--report-md", type=Path, help="write the report as Markdown here (for a PR comment)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m automation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    run = commands.add_parser("run", help="deploy, health-check, then destroy and remove the PR stack (always)")
    _add_pr(run)
    _add_check(run)
    deploy = commands.add_parser("deploy", help="create or update the PR stack pr-<n> from the PR profile")
    _add_pr(deploy)
    check = commands.add_parser("check", help="run the pipeline of a deployed PR stack on the sample and check it")
    _add_pr(check)
    _add_check(check)
    destroy = commands.add_parser("destroy", help="destroy the PR stack's resources and remove the stack")
    _add_pr(destroy)
    reaper = commands.add_parser("reap", help="destroy PR stacks older than a TTL or whose PR is closed")
    reaper.add_argument("--ttl-hours", type=float, default=24, help="maximum age of a PR stack (default 24)")
    reaper.add_argument("--closed", default="", help="comma-separated numbers of closed pull requests")
    reaper.add_argument("--execute", action="store_true", help="destroy for real (default: dry run, report only)")
    release_cli.add_commands(commands)
    github_cli.add_commands(commands)
    return parser


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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in release_cli.COMMANDS:
        return release_cli.run(args)
    if args.command in github_cli.COMMANDS:
        return github_cli.run(args)
    deploying = args.command in ("deploy", "run")
    number = str(getattr(args, "pr", ""))
    report = Report(stack=f"pr-{number}", pr=int(number) if number.isdigit() else 0,
                    commit=getattr(args, "commit", ""))
    if args.command != "reap":
        try:
            pr: PullRequest = pull_request(args.pr, args.commit, args.creator, deploying=deploying)
        except InvalidPullRequest as error:
            return _stop(report, args, EXIT_USAGE, str(error))
    if shutil.which("pulumi") is None:
        return _stop(report, args, EXIT_USAGE, "the Pulumi CLI is not on PATH; install it "
                                    "(https://www.pulumi.com/docs/install/)")
    from .stacks import AutomationBackend, AutomationStack, EngineError  # pulumi.automation, only when needed

    progress = Progress()
    if args.command == "reap":
        closed = [int(n) for n in args.closed.split(",") if n.strip()]
        decisions = reap(AutomationBackend(), ttl=timedelta(hours=args.ttl_hours), closed_prs=closed,
                         dry_run=not args.execute, on_output=progress.engine)
        print(json.dumps([d.to_dict() for d in decisions], indent=2))
        return 1 if any(d.action == "failed" for d in decisions) else 0
    try:
        stack = AutomationStack(pr.stack_name, stack_config(pr) if deploying else None,
                                pr.tags() if deploying else None)
    except Exception as error:  # backend unreachable, wrong passphrase, …: say it plainly
        return _stop(report, args, EXIT_DEPLOY_FAILED, f"cannot open stack {pr.stack_name}: "
                                    f"{str(error).strip().splitlines()[-1]}",
                                    "the backend (PULUMI_BACKEND_URL) and secrets (PULUMI_CONFIG_PASSPHRASE)")

    def health(outputs):
        return HealthCheck(outputs, deadline_seconds=args.deadline)

    try:
        if args.command == "run":
            report = Lifecycle(stack=stack, health_check=health, report=report, progress=progress).run()
        elif args.command == "deploy":
            stack.deploy(progress.engine)
            return 0
        elif args.command == "destroy":
            stack.destroy(progress.engine)
            stack.remove()
            return 0
        else:
            try:
                result = health(stack.outputs()).run()
                report.health, report.outcome = result.to_dict(), "passed"
            except HealthCheckFailed as failed:
                report.outcome, report.exit_code = "failed", EXIT_CHECK_FAILED
                report.failure, report.where_to_look = failed.reason, failed.where
                report.health = failed.result.to_dict() if failed.result else {}
    except EngineError as error:
        return _stop(report, args, EXIT_TEARDOWN_FAILED if args.command == "destroy"
                                    else EXIT_DEPLOY_FAILED, str(error))
    _write_reports(report, args)
    print(report.to_markdown())
    return report.exit_code
