"""`python -m automation <group> <command>`: the repository's operations, by what they act on.

    python -m automation pr run --pr 42 --base origin/main    # the check a pull request needs (automation/pr_cli.py)
    python -m automation release deploy --stack prod          # release, roll back, status (automation/release_cli.py)
    python -m automation stack drift --stack prod             # a deployed stack's drift; any stack's monthly cost
    python -m automation data rollback --stack prod --job orders --snapshot 7212019266135408001
    python -m automation github comment --pr 42 --events previews/       # the PR comment, the drift issue

`python -m automation <group> --help` lists a group's commands, `python -m automation <group> <command> --help`
a command's options.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from components.release_info import checkout_commit

from . import cost_cli, exit_codes, github_cli, pr_cli, release_cli
from .stacks import ROOT

PROGRAM = "python -m automation"
# Each group: what it acts on, and the functions that add its commands.
GROUPS: dict[str, tuple[str, tuple[Callable[[argparse._SubParsersAction], None], ...]]] = {
    "pr": ("a pull request's check: the fast path on the check stack, or a PR stack deployed, checked and destroyed",
           (pr_cli.add_commands,)),
    "release": ("a stack's pipeline versions: release, roll back, see what is live",
                (release_cli.add_release_commands,)),
    "stack": ("a stack as a whole: drift against AWS, monthly cost",
              (release_cli.add_drift_command, cost_cli.add_commands)),
    "data": ("a job's data: roll its table back", (release_cli.add_data_commands,)),
    "github": ("reports on GitHub: the PR comment, the drift issue", (github_cli.add_commands,)),
}
# The flat commands before the groups, and what they are now.
RENAMED = {
    "run": "pr run", "check-code": "pr check-code", "check-stack": "pr update-base", "deploy": "pr deploy",
    "check": "pr check", "destroy": "pr destroy", "reap": "pr reap", "release": "release deploy",
    "rollback": "release rollback", "status": "release status", "drift": "stack drift", "cost": "stack cost",
    "data-rollback": "data rollback", "comment": "github comment", "drift-issue": "github drift-issue",
}


def parser() -> argparse.ArgumentParser:
    """The whole command line: every group and command, each --help ending with the exit-code table."""
    root = argparse.ArgumentParser(prog=PROGRAM, description=__doc__)
    groups = root.add_subparsers(dest="group", required=True, metavar="group")
    for name, (about, adders) in GROUPS.items():
        # A group's --help shows its modules' docstrings: examples, and what the commands need.
        guides = dict.fromkeys(sys.modules[add.__module__].__doc__ for add in adders)
        group = groups.add_parser(name, help=about, description="\n\n".join([about, *guides]))
        commands = group.add_subparsers(dest="command", required=True, metavar="command")
        for add in adders:
            add(commands)
        for command in commands.choices.values():
            _end_with_exit_codes(command)
    for each in (root, *groups.choices.values()):
        _end_with_exit_codes(each)
    return root


def every_command(root: argparse.ArgumentParser | None = None) -> list[tuple[str, argparse.ArgumentParser]]:
    """The root parser, each group's and each command's, with the words after `python -m automation` that reach it,
    in the order --help lists them (the docs' CLI reference and the tests walk these)."""
    root = parser() if root is None else root
    found = [("", root)]
    for action in root._actions:  # argparse keeps sub-commands only here
        if isinstance(action, argparse._SubParsersAction):
            for word, child in action.choices.items():
                found += [(f"{word} {words}".strip(), below) for words, below in every_command(child)]
    return found


def _end_with_exit_codes(command: argparse.ArgumentParser) -> None:
    command.epilog, command.formatter_class = exit_codes.describe(), argparse.RawDescriptionHelpFormatter


def renamed(argv: list[str]) -> str | None:
    """The grouped command an old flat command line names (`release --stack prod`: release deploy), else None."""
    if not argv or argv[0] not in RENAMED:
        return None
    if argv[0] in GROUPS and (len(argv) == 1 or not argv[1].startswith("-") or argv[1] in ("-h", "--help")):
        return None  # the group itself
    return RENAMED[argv[0]]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if new := renamed(argv):
        print(f"renamed: {PROGRAM} {new}", file=sys.stderr)
        return exit_codes.USAGE
    args = arguments(argv)
    return args.run(args)


def arguments(argv: list[str]) -> argparse.Namespace:
    """The parsed command line; --commit, where a command has it, defaults to $GITHUB_SHA, else the checkout's HEAD
    (its help says so)."""
    args = parser().parse_args(argv)
    if getattr(args, "commit", None) == "":
        args.commit = checkout_commit(ROOT)
    return args
