"""The grouped command line (`python -m automation <group> <command>`, automation/cli.py): its groups and commands,
the one exit-code table in every --help, old flat verbs answered with their new name, --commit defaulting to the
checkout's HEAD, a documentation-only change needing neither the Pulumi CLI nor AWS, and every command line written
in the Markdown files, the workflows and the automation's own texts parsed by the real parser."""

from __future__ import annotations

import argparse
import ast
import contextlib
import functools
import io
import json
import re
import shlex
import subprocess
import tokenize
from collections.abc import Iterator
from pathlib import Path

import pytest

from automation import cli, exit_codes, pr_cli
from stack_files import ROOT
from tests.test_workflows import WORKFLOWS, all_workflows, commands_of

pytestmark = pytest.mark.tier("unit")

# The contract's command list (issue 22): group -> commands.
COMMANDS = {
    "pr": {"run", "check-code", "update-base", "deploy", "check", "destroy", "reap"},
    "release": {"deploy", "rollback", "status"},
    "stack": {"drift", "cost"},
    "data": {"rollback"},
    "github": {"comment", "drift-issue"},
}


def test_the_groups_and_commands_are_the_contracts():
    found: dict[str, set[str]] = {}
    for words, _ in cli.every_command():
        group, _, command = words.partition(" ")
        if group:
            found.setdefault(group, set()).update({command} - {""})
    assert found == COMMANDS


def test_every_help_ends_with_the_one_exit_code_table():
    parsers = list(cli.every_command())
    assert len(parsers) == 1 + len(COMMANDS) + sum(map(len, COMMANDS.values()))
    table = exit_codes.describe()
    for words, parser in parsers:
        assert parser.format_help().rstrip().endswith(table), f"python -m automation {words} --help"
    assert len({code for code, _ in exit_codes.TABLE}) == len(exit_codes.TABLE) and exit_codes.USAGE == 2


@pytest.mark.parametrize(("old", "new"), sorted(cli.RENAMED.items()))
def test_an_old_flat_verb_exits_2_with_one_line_naming_the_new_command(old, new, capsys):
    assert cli.main([old, "--stack", "prod"]) == exit_codes.USAGE
    out, err = capsys.readouterr()
    assert (out, err) == ("", f"renamed: python -m automation {new}\n")
    group, command = new.split()
    assert command in COMMANDS[group]


def test_a_group_named_like_an_old_verb_is_still_the_group(capsys):
    """`release` was a verb and is a group: `release --stack prod` is the old verb, `release --help` the group."""
    assert cli.renamed(["release", "--stack", "prod"]) == "release deploy"
    assert cli.renamed(["release", "deploy", "--stack", "prod"]) is None
    with pytest.raises(SystemExit) as done:
        cli.main(["release", "--help"])
    assert done.value.code == 0 and "rollback" in capsys.readouterr().out


def head() -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()


def reports(tmp_path: Path) -> list[str]:
    return ["--report-json", str(tmp_path / "report.json"), "--report-md", str(tmp_path / "report.md")]


def with_commit() -> list[tuple[str, argparse.ArgumentParser]]:
    return [(words, parser) for words, parser in cli.every_command()
            if any("--commit" in action.option_strings for action in parser._actions)]


def test_commit_defaults_to_github_sha_else_the_checkouts_head_everywhere(monkeypatch):
    commands = with_commit()
    assert {"pr run", "pr check-code", "release deploy"} <= {words for words, _ in commands}
    for words, parser in commands:
        needed = ["--stack", "prod"] if any("--stack" in a.option_strings and a.required for a in parser._actions) \
            else []
        monkeypatch.delenv("GITHUB_SHA", raising=False)
        assert cli.arguments([*words.split(), *needed]).commit == head(), words
        monkeypatch.setenv("GITHUB_SHA", "abc1234")
        assert cli.arguments([*words.split(), *needed]).commit == "abc1234", words
        assert cli.arguments([*words.split(), *needed, "--commit", "1234abc"]).commit == "1234abc", words


@pytest.fixture
def no_pulumi_no_aws(monkeypatch):
    """No Pulumi CLI on PATH, no GitHub commit, and any AWS set-up attempt fails the test."""
    monkeypatch.delenv("GITHUB_SHA", raising=False)
    monkeypatch.setattr(pr_cli.shutil, "which", lambda _name: None)

    def no_aws(_profile):
        raise AssertionError("looked for AWS set-up")

    monkeypatch.setattr(pr_cli, "session_for", no_aws)


def test_check_code_takes_the_checkouts_head_without_commit(tmp_path, capsys, no_pulumi_no_aws):
    """check-code needed --commit; it now gets past the PR's identity to the first thing this machine lacks."""
    code = cli.main(["pr", "check-code", "--pr", "7", "--creator", "me", *reports(tmp_path)])
    assert code == exit_codes.USAGE and "the Pulumi CLI is not on PATH" in capsys.readouterr().err
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["commit"] == head() and report["failure"].startswith("the Pulumi CLI is not on PATH")


@pytest.mark.parametrize("changed", [["README.md"], [
    "docs/operators/release.md", "docs/hooks.py", "mkdocs.yml", "tests/test_cli.py"], []])
def test_a_documentation_only_change_takes_the_none_path_without_pulumi_or_aws(changed, tmp_path, capsys,
                                                                              no_pulumi_no_aws):
    listed = tmp_path / "changed.txt"
    listed.write_text("".join(f"{path}\n" for path in changed))
    code = cli.main(["pr", "run", "--pr", "7", "--creator", "me", "--changed-files", str(listed),
                     *reports(tmp_path)])
    out, err = capsys.readouterr()
    assert code == exit_codes.OK, err
    assert err.startswith("path: none: ") and err.rstrip().endswith("nothing to check")
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["outcome"] == "skipped" and report["path"]["path"] == "none" and report["commit"] == head()
    assert {phase["status"] for phase in report["phases"].values()} == {"skipped"}
    assert out == (tmp_path / "report.md").read_text() + "\n"


@pytest.mark.parametrize(("change", "check_stack_jobs"), [("tests/test_customers_transforms.py", ["orders"]),
                                                          ("jobs/common/quality.py", [])])
def test_job_changes_for_no_job_the_check_stack_has_are_skipped_once_its_outputs_are_read(
        tmp_path, capsys, monkeypatch, change, check_stack_jobs):
    """The early look counts every job as on the check stack; the check stack's own jobs may still leave nothing to
    check, and then no PR stack is opened, let alone deployed."""
    import automation.stacks

    opened = []

    class CheckStackOnly:
        def __init__(self, name, config=None, tags=None):
            opened.append(name)

        def outputs(self):
            return {"glue_jobs": {job: f"data-pipeline-pr-base-{job}" for job in check_stack_jobs}}

    monkeypatch.setattr(pr_cli.shutil, "which", lambda _name: "/usr/local/bin/pulumi")
    monkeypatch.setattr(pr_cli, "session_for", lambda _profile: None)
    monkeypatch.setattr(automation.stacks, "AutomationStack", CheckStackOnly)
    listed = tmp_path / "changed.txt"
    listed.write_text(f"{change}\n")
    code = cli.main(["pr", "run", "--pr", "7", "--creator", "me", "--changed-files", str(listed),
                     *reports(tmp_path)])
    err = capsys.readouterr().err
    assert code == exit_codes.OK, err
    assert opened == ["pr-base"] and err.rstrip().endswith("nothing to check")
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["outcome"] == "skipped" and report["path"]["path"] == "none"


@pytest.mark.parametrize("change", ["components/data_lake.py", "jobs/common/quality.py", "jobs/__init__.py",
                                    "jobs/orders/transforms.py", "tests/test_orders_transforms.py"])
def test_a_change_to_deployed_or_job_code_still_needs_the_pulumi_cli(tmp_path, capsys, no_pulumi_no_aws, change):
    """Infrastructure, the jobs' shared library, a job or its tests: a check (fast or full), never "none"."""
    listed = tmp_path / "changed.txt"
    listed.write_text(f"README.md\n{change}\n")
    code = cli.main(["pr", "run", "--pr", "7", "--creator", "me", "--changed-files", str(listed)])
    assert code == exit_codes.USAGE and "the Pulumi CLI is not on PATH" in capsys.readouterr().err


# --- every command line the repository writes down parses ---------------------------------------------------------

PROGRAM = re.compile(r"python -m automation\b")
# A usage pattern (`python -m automation <group> --help`), not a command line.
PATTERN_WORDS = {"<group>", "<command>"}


def written_commands(text: str, first_line: int = 1) -> Iterator[tuple[int, str]]:
    """(line, what follows `python -m automation`) for each command line in the text: inside `inline code` up to its
    closing backtick (a wrapped line included), else to the end of the line, backslash continuations joined."""
    for match in PROGRAM.finditer(text):
        if text[:match.start()].replace("```", "").count("`") % 2:  # inside `inline code` (fences aside)
            end = text.index("`", match.end())
        else:
            end = match.end()
            while (end := text.find("\n", end)) != -1 and text[end - 1] == "\\":
                end += 1
            end = len(text) if end == -1 else end
        yield first_line + text.count("\n", 0, match.start()), text[match.end():end].replace("\\\n", " ")


def words_of(command: str) -> list[str]:
    """The command's arguments: shell quoting, comments and the rest of a pipeline removed; a shell variable or a
    Python placeholder ({stack.name}) stands for a value ("1" is a valid int, float, path and string). A quote left
    open at the end closes a string the command sits in (sh "... python -m automation ...")."""
    try:
        return _words(command)
    except ValueError:
        return _words(command[:max(command.rfind('"'), command.rfind("'"))])


def _words(command: str) -> list[str]:
    lexer = shlex.shlex(command, posix=True, punctuation_chars="();|&")  # not <>: a <placeholder> is a value
    lexer.whitespace_split = True
    words = []
    for word in lexer:
        if set(word) <= set("();|&"):
            break
        words.append("1" if "$" in word or "{" in word else word)
    return words


def python_texts(path: Path) -> Iterator[tuple[int, str]]:
    """A module's strings (docstrings, help texts and messages; an f-string's placeholders kept as {…}) and
    comments, each with the line it starts on."""
    tree = ast.parse(path.read_text())
    parts = {id(value) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for value in node.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in parts:
            yield node.lineno, node.value
        elif isinstance(node, ast.JoinedStr):
            yield node.lineno, "".join(v.value if isinstance(v, ast.Constant) else "{…}" for v in node.values)
    with path.open() as source:
        for token in tokenize.generate_tokens(source.readline):
            if token.type == tokenize.COMMENT:
                yield token.start[0], token.string


def workflow_commands() -> Iterator[tuple[str, int, list[str]]]:
    """Each workflow's `python -m automation` calls as bash runs them (arrays expanded), on their lines; and the
    command lines its comments write."""
    for name, workflow in all_workflows().items():
        text = (WORKFLOWS / name).read_text()
        lines = [n for n, line in enumerate(text.splitlines(), 1)
                 if "-m automation" in line and not line.lstrip().startswith("#")]
        calls = [c.argv[i + 2:] for job in workflow["jobs"].values() for c in commands_of(job)
                 for i in range(len(c.argv)) if c.argv[i:i + 2] == ["-m", "automation"]]
        assert len(calls) == len(lines), f"{name}: one `python -m automation` call a line"
        for line, argv in zip(lines, calls, strict=True):
            yield f".github/workflows/{name}", line, ["1" if "$" in arg else arg for arg in argv]
        for n, line in enumerate(text.splitlines(), 1):
            if line.lstrip().startswith("#"):
                for offset, command in written_commands(line):
                    yield f".github/workflows/{name}", n + offset - 1, words_of(command)


def documented_commands() -> Iterator[tuple[str, int, list[str]]]:
    """(where, line, argv) of every `python -m automation ...` in the repository's files (Markdown, Python strings and
    comments, YAML, JSON; not tests/, which write refused ones on purpose), the workflows and every --help."""
    sources: list[tuple[str, int, str]] = []
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for path in sorted(ROOT / name for name in files if not name.startswith("tests/")):
        where = str(path.relative_to(ROOT))
        if path.suffix == ".py":
            sources += [(where, line, text) for line, text in python_texts(path)]
        elif path.is_file() and path.suffix in (".md", ".yaml", ".json"):
            sources.append((where, 1, path.read_text()))
    for words, parser in cli.every_command():  # below the usage line argparse writes itself
        usage, text = parser.format_usage(), parser.format_help()
        assert text.startswith(usage)
        sources.append((f"python -m automation {words} --help".replace("  ", " "), usage.count("\n") + 1,
                        text[len(usage):]))
    for where, first, text in sources:
        for line, command in written_commands(text, first):
            try:
                yield where, line, words_of(command)
            except ValueError as error:  # unbalanced quotes
                yield where, line, [f"(the shell cannot split {command.strip()!r}: {error})"]
    yield from workflow_commands()


@functools.cache
def real_parser() -> argparse.ArgumentParser:
    """Built once: parsing (or asking for --help) leaves a parser as it was."""
    return cli.parser()


def refusal(argv: list[str]) -> str | None:
    """Why the real parser refuses argv, or None (a --help counts as accepted). Words without an option name a
    command (`python -m automation release status` lists ...): it must exist; a group that was a verb (`release`)
    alone is the old verb."""
    if len(argv) == 1 and argv[0] in cli.GROUPS.keys() & cli.RENAMED.keys():
        return f"the old verb: {cli.PROGRAM} {cli.RENAMED[argv[0]]} (or name a command of the group)"
    if not any(word.startswith("-") for word in argv):
        argv = [*argv, "--help"]
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            real_parser().parse_args(argv)
    except SystemExit as done:
        return errors.getvalue().strip().splitlines()[-1] if done.code else None
    return None


def test_every_written_command_line_parses_with_the_real_parser():
    found, refused = [], []
    for where, line, argv in documented_commands():
        if not argv or PATTERN_WORDS & set(argv):
            continue  # the program's name alone, or a usage pattern
        found.append(where)
        if problem := refusal(argv):
            refused.append(f"{where}:{line}: python -m automation {shlex.join(argv)}: {problem}")
    assert not refused, "\n".join(refused)
    # Each kind of source was read: a reader that finds nothing cannot pass.
    for source in (".github/workflows/rollback.yml", "automation/release.py", "automation/pr_cli.py",
                   "python -m automation pr --help"):
        assert source in found, f"no command line found in {source}"


@pytest.mark.parametrize(("text", "expected"), [
    ("run `python -m automation stack cost --all\n--base <base>` then", [(1, ["stack", "cost", "--all", "--base",
                                                                               "<base>"])]),
    ('  .venv/bin/python -m automation stack drift --stack "$STACK" \\\n  --report-md d.md || status=$?',
     [(1, ["stack", "drift", "--stack", "1", "--report-md", "d.md"])]),
    ("python -m automation pr reap --closed 40,41 # dry run\n(python -m automation pr update-base): x",
     [(1, ["pr", "reap", "--closed", "40,41"]), (2, ["pr", "update-base"])]),
    ("`python -m automation release status --stack {…}`", [(1, ["release", "status", "--stack", "1"])]),
    ('```\nx `a`\n```\nrun `python -m automation pr run --a\nb` and `python -m automation pr reap`',
     [(4, ["pr", "run", "--a", "b"]), (5, ["pr", "reap"])]),
    ('sh "PATH=$P python -m automation release deploy --stack ${stack}"', [(1, ["release", "deploy", "--stack", "1"])]),
])
def test_the_reader_finds_command_lines_in_prose_code_and_scripts(text, expected):
    assert [(line, words_of(command)) for line, command in written_commands(text)] == expected


def test_a_stale_command_line_is_refused_with_its_reason():
    assert refusal(["release", "--stack", "prod"]) is not None
    assert refusal(["release"]).startswith("the old verb: python -m automation release deploy")
    assert refusal(["stack"]) is refusal(["release", "status"]) is None
    assert refusal(["pr", "check-stack"]).startswith("python -m automation pr: error: argument command: invalid")
    assert refusal(["release", "deploy", "--help"]) is None
