"""A stack's resource graph as a stable, readable document, to compare with the one checked in (tests/snapshots/).

Each resource the program registers, keyed by its URN within the stack (`parent types$type::name`: what Pulumi
identifies it by), with its inputs as the program sent them and its resource options (parent, dependencies,
aliases, protect, ...), and the stack's outputs. What changes with every code edit is normalized: content hashes
in artifact names (`orders-<content-hash>.zip`), Lambda's `sourceCodeHash`, build paths and the release commit.
Anything else the program registers differently is a difference.

    make snapshots      # rewrite tests/snapshots/*.json from the program as it is now
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi

from harness.program import PROJECT, ProgramRun
from stack_files import ROOT, SHIPPED_STACKS
from tests.conftest import PR_STACK

SNAPSHOT_DIR = Path(__file__).resolve().parent / "snapshots"
UPDATE_COMMAND = "make snapshots"
# The shipped stacks and the PR stack as the PR workflow deploys it (stored as snapshots/pr-stack.json).
SNAPSHOT_STACKS = (*SHIPPED_STACKS, PR_STACK)

# Resource options that change what the engine does with a resource; the rest of a registration request is
# protocol (accepted features, the provider plugin's version, the source position).
OPTIONS = ("parent", "protect", "retainOnDelete", "ignoreChanges", "deleteBeforeReplace", "replaceOnChanges",
           "additionalSecretOutputs", "customTimeouts", "aliases", "aliasURNs", "aliasSpecs", "deletedWith",
           "importId", "provider", "providers", "hideDiffs", "replaceWith", "replacementTrigger", "hooks")

CONTENT_HASH = re.compile(r"-[0-9a-f]{16}(?=\.(?:zip|py)\b)")  # components/artifacts.py: <name>-<digest>.<suffix>
RELEASE_COMMIT = re.compile(r"(release commit )(?:[0-9a-f]{7,40}|unknown)")  # components/release_info.py
HASH_INPUTS = {"sourceCodeHash"}


def snapshot_file(stack: str) -> Path:
    return SNAPSHOT_DIR / f"{'pr-stack' if stack == PR_STACK else stack}.json"


def _short_urn(urn: str, stack: str) -> str:
    return urn.removeprefix(f"urn:pulumi:{stack}::{PROJECT}::")


def _text(value: str, root: Path) -> str:
    value = value.replace(f"{root}/", "")
    value = CONTENT_HASH.sub("-<content-hash>", value)
    return RELEASE_COMMIT.sub(r"\1<commit>", value)


def _embedded_json(value: str) -> Any:
    """A string that is a JSON document as the program writes them (compact or indented by 2), else None."""
    if value[:1] not in ("{", "["):
        return None
    try:
        document = json.loads(value)
    except ValueError:
        return None
    for style, dumped in (("json", json.dumps(document)), ("json indented", json.dumps(document, indent=2))):
        if dumped == value:
            return style, document
    return None


def normalize(value: Any, root: Path = ROOT, *, key: str = "", sort: bool = True) -> Any:
    """Plain JSON values: dicts sorted by key (embedded JSON documents keep their own key order, which is part of
    the string AWS receives), assets and archives as their kind and path, hashes and commits as placeholders."""
    if key in HASH_INPUTS and isinstance(value, str):
        return "<content-hash>"
    if isinstance(value, Mapping):
        items = sorted(value.items()) if sort else value.items()
        return {str(k): normalize(v, root, key=str(k), sort=sort) for k, v in items}
    if isinstance(value, list | tuple):
        return [normalize(v, root, sort=sort) for v in value]
    if isinstance(value, pulumi.FileAsset | pulumi.FileArchive):
        return {type(value).__name__: _text(str(value.path), root)}
    if isinstance(value, pulumi.StringAsset):
        return {"StringAsset": _text(value.text, root)}
    if isinstance(value, str):
        embedded = _embedded_json(value)
        if embedded is not None:
            style, document = embedded
            return {f"<{style}>": normalize(document, root, sort=False)}
        return _text(value, root)
    if isinstance(value, bool | int | float) or value is None:
        return value
    return _text(repr(value), root)


def _options(options: Mapping[str, Any], stack: str) -> dict[str, Any]:
    chosen = {name: options[name] for name in OPTIONS if options.get(name)}
    if "parent" in chosen:
        chosen["parent"] = _short_urn(chosen["parent"], stack)
    dependencies = sorted({_short_urn(urn, stack) for urn in options.get("dependencies", [])})
    if dependencies:
        chosen["dependsOn"] = dependencies
    return chosen


def snapshot(run: ProgramRun, root: Path = ROOT) -> dict[str, Any]:
    resources = {_short_urn(r.urn, run.stack): {"inputs": normalize(r.inputs, root),
                                                "options": normalize(_options(r.options, run.stack), root)}
                 for r in run.resources}
    return {"stack": run.stack, "resources": dict(sorted(resources.items())),
            "exports": normalize(run.exports, root)}


def render(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _lines(value: Any) -> list[str]:
    return render(value).splitlines(keepends=True)


def differences(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> str:
    """'' when equal; else each resource added, removed or changed, by name, with a unified diff of the changes."""
    out: list[str] = []
    before, after = expected.get("resources", {}), actual.get("resources", {})
    for urn in sorted(before.keys() - after.keys()):
        out.append(f"removed {urn}\n")
    for urn in sorted(after.keys() - before.keys()):
        out.append(f"added {urn}\n")
        out.extend("  + " + line for line in _lines(after[urn]))
    for urn in sorted(before.keys() & after.keys()):
        if before[urn] != after[urn]:
            out.append(f"changed {urn}\n")
            out.extend("  " + line for line in difflib.unified_diff(
                _lines(before[urn]), _lines(after[urn]), "snapshot", "program", n=2))
    for part in ("stack", "exports"):
        if expected.get(part) != actual.get(part):
            out.append(f"changed stack {part}\n")
            out.extend("  " + line for line in difflib.unified_diff(
                _lines(expected.get(part)), _lines(actual.get(part)), "snapshot", "program", n=2))
    return "".join(out)
