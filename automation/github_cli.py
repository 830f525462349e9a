"""Commands the workflows use to report on GitHub:

    python -m automation github comment --pr 42 --events previews/ --pr-stack-report report.md --post
    python -m automation github drift-issue --stack prod --exit-code 1 --report-md drift.md

`--post` and `drift-issue` call the GitHub API through `gh` (GH_TOKEN, GITHUB_REPOSITORY); without `--post`
the comment is printed (or written with `--output`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from stack_files import SHIPPED_STACKS

from . import exit_codes
from .drift_issue import sync_issue
from .github import GhCli, GitHubError
from .pr_comment import comment_from_files, upsert


def add_commands(commands: argparse._SubParsersAction) -> None:
    """The `github` group: comment, drift-issue."""
    repo = os.environ.get("GITHUB_REPOSITORY", "")
    about = "build (and post) the one PR comment: previews and PR-stack report"
    comment = commands.add_parser("comment", help=about, description=about)
    comment.set_defaults(run=run)
    comment.add_argument("--pr", type=int, required=True, help="pull request number")
    comment.add_argument("--events", type=Path, required=True, help="folder of preview-<stack>.jsonl event logs")
    comment.add_argument("--stacks", default=",".join(SHIPPED_STACKS), help="stacks previewed (comma-separated)")
    comment.add_argument("--pr-stack-report", type=Path, help="Markdown report of `python -m automation pr run`")
    comment.add_argument("--repo", default=repo, help="owner/name (default: $GITHUB_REPOSITORY)")
    comment.add_argument("--post", action="store_true", help="create or edit the comment on the pull request")
    comment.add_argument("--output", type=Path, help="also write the comment here")
    about = "open, update or close the drift issue of a stack"
    issue = commands.add_parser("drift-issue", help=about, description=about)
    issue.set_defaults(run=run)
    issue.add_argument("--stack", required=True)
    issue.add_argument("--exit-code", type=int, required=True, help="exit code of `python -m automation stack drift`")
    issue.add_argument("--report-md", type=Path, required=True, help="its Markdown report")
    issue.add_argument("--repo", default=repo, help="owner/name (default: $GITHUB_REPOSITORY)")
    issue.add_argument("--run-url", default="", help="link to the workflow run")


def run(args: argparse.Namespace) -> int:
    if (args.command == "drift-issue" or args.post) and "/" not in args.repo:
        print(f"error: --repo {args.repo!r}: expected owner/name (or set GITHUB_REPOSITORY)", file=sys.stderr)
        return exit_codes.USAGE
    try:
        if args.command == "comment":
            stacks = [s.strip() for s in args.stacks.split(",") if s.strip()]
            body = comment_from_files(args.events, stacks, args.pr_stack_report)
            if args.output:
                args.output.write_text(body)
            if args.post:
                print(f"comment {upsert(GhCli(), args.repo, args.pr, body)} on #{args.pr}")
            else:
                print(body)
            return 0
        report = args.report_md.read_text() if args.report_md.is_file() else "(no report)"
        print(f"drift issue of {args.stack}: "
              f"{sync_issue(GhCli(), args.repo, args.stack, args.exit_code, report, args.run_url)}")
        return 0
    except GitHubError as error:
        print(f"error: {error}", file=sys.stderr)
        return exit_codes.FAILED
