"""The repository's own layout: every Python package and top-level module is declared in pyproject.toml."""

from __future__ import annotations

import fnmatch
import tomllib

import pytest

from stack_files import ROOT

pytestmark = pytest.mark.tier("unit")

# Not part of the project's code: the tests and the benchmark script run from the checkout.
NOT_PACKAGED = {"tests", "benchmarks"}
# Installed, not written here.
INSTALLED = {"node_modules"}


def test_every_package_and_top_level_module_is_declared():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    include = setuptools["packages"]["find"]["include"]
    folders = {folder.name for folder in ROOT.iterdir() if folder.is_dir() and not folder.is_symlink()
               and not folder.name.startswith(".")
               and folder.name not in INSTALLED and any(folder.rglob("*.py"))}
    undeclared = {f for f in folders - NOT_PACKAGED if not any(fnmatch.fnmatch(f, pattern) for pattern in include)}
    assert undeclared == set(), f"add {sorted(undeclared)} to [tool.setuptools.packages.find] include"
    modules = {path.stem for path in ROOT.glob("*.py")} - {"__main__"}
    assert modules == set(setuptools["py-modules"])
