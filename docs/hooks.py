"""MkDocs hook: the reference pages are filled from the code at build time, so no figure in them is copied by hand.

A page asks for a generated section with a line of its own, `<!-- generated: NAME -->` (NAME one of SECTIONS); an
unknown name fails the build. The sections: the exit-code table (automation/exit_codes.py), every command's
`--help` from the real parser, every stack key with its type, default, rule and each stack's value (STACK_FIELDS
and the stack files), and every policy of the pack with its level and fix (policies/guardrails).
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parent.parent

MARKER = re.compile(r"^<!-- generated: ([a-z-]+) -->$", re.MULTILINE)
# Help text wrapped the same on every machine.
HELP_COLUMNS = "100"


def cell(value: Any) -> str:
    """A config value as a table cell, spelt as in a stack file (YAML/JSON): `true`, `""`, `[]`, `G.1X`."""
    text = value if isinstance(value, str) and value else json.dumps(value)
    return f"`{text}`"


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table; a `|` inside a cell is escaped here, once for every table."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(text.replace("|", "\\|") for text in row) + " |" for row in rows]
    return "\n".join(lines)


def exit_codes() -> str:
    from automation import exit_codes as codes

    return table(["code", "meaning"], [[f"`{code}`", meaning] for code, meaning in codes.TABLE])


def cli() -> str:
    from automation.cli import every_command

    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_COLUMNS
    try:
        sections = [f"### `{p.prog}`\n\n```text\n{p.format_help().rstrip()}\n```" for _, p in every_command()]
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous
    return "\n\n".join(sections)


def renamed() -> str:
    """The old flat verbs and the grouped commands that replace them (each old verb exits 2 naming its new one)."""
    from automation.cli import RENAMED

    return table(["old command", "now"], [[f"`{old}`", f"`{new}`"] for old, new in RENAMED.items()])


def configuration() -> str:
    from settings.schema import GLUE_JOBS_KEY as jobs_key
    from settings.schema import JOB_OVERRIDES as overrides
    from settings.schema import PROJECT as project
    from settings.schema import STACK_FIELDS as fields
    from stack_files import project_file, stack_config, stack_names

    declared = project_file(ROOT).get("config") or {}
    stacks = stack_names(ROOT)
    values = {stack: stack_config(stack, ROOT) for stack in stacks}

    def description(key: str) -> str:
        return (declared.get(f"{project}:{key}") or {}).get("description", "")

    keys = table(["key", "type", "default", "allowed", "what it sets"], [
        [f"`{key}`", setting.kind.__name__, "required" if setting.default is None else cell(setting.default),
         setting.rule.allowed, description(key)] for key, setting in fields.items()])
    per_stack = table(["key", *stacks], [
        [f"`{key}`", *(cell(values[stack].get(f"{project}:{key}", setting.default)) for stack in stacks)]
        for key, setting in fields.items()])
    jobs = table(["stack", "jobs (overrides)", "region"], [
        [stack, ", ".join(f"`{job}`" + (f" {cell(o)}" if o else "")
                          for job, o in (values[stack].get(f"{project}:{jobs_key}") or {}).items()),
         cell(values[stack].get("aws:region", ""))] for stack in stacks])
    job_keys = table(["per-job key", "replaces the stack key"],
                     [[f"`{key}`", f"`{stack_key}`"] for key, stack_key in overrides.items()])
    return (f"### Every key\n\nIn the `{project}:` namespace of `Pulumi.<stack>.yaml`.\n\n{keys}\n\n"
            f"### Each stack's values\n\nFrom each stack file, with `Pulumi.yaml`'s defaults applied.\n\n{per_stack}"
            f"\n\n### Jobs per stack\n\n`{project}:{jobs_key}` maps each job to its overrides.\n\n{jobs}\n\n"
            f"{job_keys}")


def policies() -> str:
    from policies import guardrails

    module_of = {}
    for module in pkgutil.iter_modules(guardrails.__path__):
        for policy in getattr(importlib.import_module(f"policies.guardrails.{module.name}"), "POLICIES", []):
            module_of[policy.name] = f"{module.name}.py"
    rows = [[f"`{p.name}`", p.enforcement_level.value, p.severity.value, f"`{module_of.get(p.name, '')}`",
             p.description, (p.remediation_steps or "").replace("\n", " ")]
            for p in guardrails.ALL_POLICIES]
    return table(["policy", "level", "severity", "module", "what it checks", "how to fix"], rows)


SECTIONS = {"exit-codes": exit_codes, "cli": cli, "renamed": renamed, "configuration": configuration,
            "policies": policies}


def render(markdown: str) -> str:
    """`markdown` with each marker replaced by its section."""
    def section(match: re.Match) -> str:
        name = match.group(1)
        if name not in SECTIONS:
            raise PluginError(f"docs: unknown generated section {name!r}; known: {', '.join(SECTIONS)}")
        return SECTIONS[name]()
    return MARKER.sub(section, markdown)


def on_config(config):
    """The project's packages importable: MkDocs loads this file by path and restores sys.path afterwards."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return config


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ARG001 (MkDocs' hook signature)
    return render(markdown)
