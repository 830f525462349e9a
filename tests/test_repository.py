"""The repository's own layout: every Python package and top-level module is declared in pyproject.toml, and the
README's layout table names what exists and every top-level folder."""

from __future__ import annotations

import fnmatch
import re
import tomllib

import pytest

from stack_files import ROOT

pytestmark = pytest.mark.tier("unit")

# Not part of the project's code: the tests, the benchmark script and the docs site's hook run from the checkout.
NOT_PACKAGED = {"tests", "benchmarks", "docs"}


def ignored(name: str) -> bool:
    """Whether .gitignore leaves out a top-level folder of this name: installed (node_modules, a `pip install -e .`'s
    egg-info) or written by runs, not by us."""
    patterns = [line.strip().strip("/") for line in (ROOT / ".gitignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


def test_every_package_and_top_level_module_is_declared():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    include = setuptools["packages"]["find"]["include"]
    folders = {folder.name for folder in ROOT.iterdir() if folder.is_dir() and not folder.is_symlink()
               and not folder.name.startswith(".") and not ignored(folder.name) and any(folder.rglob("*.py"))}
    undeclared = {f for f in folders - NOT_PACKAGED if not any(fnmatch.fnmatch(f, pattern) for pattern in include)}
    assert undeclared == set(), f"add {sorted(undeclared)} to [tool.setuptools.packages.find] include"
    modules = {path.stem for path in ROOT.glob("*.py")} - {"__main__"}
    assert modules == set(setuptools["py-modules"])


def layout_paths() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Layout"):].split("\n## ", 1)[0]
    return [path for row in table.splitlines() if row.startswith("| `")
            for path in re.findall(r"`([^`]+)`", row.split(" | ")[0])]


def test_the_readme_layout_names_what_exists_and_every_top_level_folder():
    paths = layout_paths()
    missing = [p for p in paths if not list(ROOT.glob(re.sub(r"<[^>]+>", "*", p).rstrip("/")))]
    assert missing == [], f"the README's layout table names what does not exist: {missing}"
    folders = {f.name for f in ROOT.iterdir() if f.is_dir() and not f.is_symlink() and not ignored(f.name)
               and (not f.name.startswith(".") or f.name in (".github", ".ci"))}
    named = {p.strip("/").split("/")[0] for p in paths}
    assert folders - named == set(), f"add {sorted(folders - named)} to the README's layout table"


def test_what_is_installed_or_written_by_runs_is_not_part_of_the_layout():
    for name in ("data_pipeline.egg-info", "node_modules", "out", "spark-warehouse", "metastore_db", "__pycache__",
                 ".venv"):
        assert ignored(name), name
    assert not any(ignored(name) for name in ("components", "jobs", "tests", "harness", ".github"))


def test_local_spark_runs_the_iceberg_that_the_glue_version_ships():
    """`make setup` fetches the runtime jobs/common/iceberg.py names, and that is Glue 5.0's Iceberg (1.7.1 with
    Spark 3.5 and Scala 2.12): moving the Glue version without the runtime (or back) fails here."""
    from components.glue_job import GLUE_VERSION
    from jobs.common import iceberg

    glue_ships = {"5.0": "1.7.1"}
    assert glue_ships[GLUE_VERSION] == iceberg.ICEBERG_VERSION
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(rf"^ICEBERG_RUNTIME := {re.escape(iceberg.RUNTIME_ARTIFACT)}$", makefile, re.MULTILINE)
    assert re.search(rf"^ICEBERG_JAR := \$\(JARS\)/{re.escape(iceberg.RUNTIME_JAR.name)}$", makefile, re.MULTILINE)
    assert iceberg.RUNTIME_JAR.parent == ROOT / ".build" / "jars"
