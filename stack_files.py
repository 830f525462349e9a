"""Read config the way the Pulumi CLI does: project defaults from Pulumi.yaml, then the stack's file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent
SHIPPED_STACKS = ("dev", "qa", "staging", "prod")
# PyYAML's safe loader in C when it was built with libyaml (several times faster), else in Python.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StackFileError(ValueError):
    """A stack or project file that is not valid YAML, or not shaped like one: the file, line and column."""


def shown(path: Path) -> str:
    """The path as a user finds it: relative to the repository when inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def read_yaml(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(), Loader=SAFE_LOADER)
    except yaml.MarkedYAMLError as error:
        mark, started = error.problem_mark or error.context_mark, error.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        # Where the construct the parser was in began (an unclosed `{` is found only at the end of the file).
        context = ""
        if error.context:
            context = f" ({error.context}" + (f" from line {started.line + 1}" if started else "") + ")"
        raise StackFileError(f"{shown(path)}{where}: not valid YAML: {error.problem}{context}") from None
    except yaml.YAMLError as error:
        raise StackFileError(f"{shown(path)}: not valid YAML: {error}") from None


def project_file(root: Path = ROOT) -> dict[str, Any]:
    return read_yaml(root / "Pulumi.yaml")


def project_defaults(root: Path = ROOT) -> dict[str, Any]:
    """The defaults Pulumi.yaml declares, which the CLI applies to every stack."""
    return {key: declaration["default"] for key, declaration in (project_file(root).get("config") or {}).items()
            if "default" in declaration}


def config_section(path: Path) -> dict[str, Any]:
    """The `config:` map of a stack file (or of a file shaped like one), empty when it has none."""
    document = read_yaml(path) or {}
    if not isinstance(document, dict):
        raise StackFileError(f"{shown(path)}: must be a map with a `config:` map, not a {type(document).__name__}")
    section = document.get("config") or {}
    if not isinstance(section, dict):
        raise StackFileError(f"{shown(path)}: `config:` must be a map of key to value, not a {type(section).__name__}")
    return section


def stack_names(root: Path = ROOT) -> list[str]:
    """Every stack with a `Pulumi.<name>.yaml` in `root`, the shipped ones first."""
    found = {path.name.removeprefix("Pulumi.").removesuffix(".yaml") for path in root.glob("Pulumi.*.yaml")}
    return [stack for stack in SHIPPED_STACKS if stack in found] + sorted(found - set(SHIPPED_STACKS))


def stack_file(stack: str, root: Path = ROOT) -> Path:
    return root / f"Pulumi.{stack}.yaml"


def stack_config(stack: str, root: Path = ROOT) -> dict[str, Any]:
    """Namespaced config (`data-pipeline:logRetentionDays` -> value) with project defaults applied."""
    return {**project_defaults(root), **config_section(stack_file(stack, root))}


def as_engine_config(config: dict[str, Any]) -> dict[str, str]:
    """The engine hands the program strings: objects as JSON, booleans as `true`/`false`."""
    def encode(value: Any) -> str:
        if isinstance(value, str):
            return value
        return json.dumps(value)
    return {key: encode(value) for key, value in config.items()}
