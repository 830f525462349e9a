"""The import layers (pyproject.toml's import-linter contracts): automation over bootstrap and the harness, over the
components and the job scaffold, over settings, over job code, the policy pack and the handlers; settings without the
Pulumi SDK. `lint-imports` holds the repository to them, and fails on a planted import that breaks one."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from stack_files import ROOT

pytestmark = pytest.mark.tier("unit")

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
CONTRACTS = {contract["id"]: contract["name"] for contract in CONFIG["contracts"]}
# Top-level modules, which import-linter takes as no root: below every layer, they import no package of ours.
BOTTOM_MODULES = ("schedules.py", "stack_files.py")


def without_pythonpath() -> dict[str, str]:
    """The environment for lint-imports in a repository: its packages are found in its working directory (which
    lint-imports puts first), not on this process's PYTHONPATH."""
    return {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo"], cwd=root, env=without_pythonpath(),
                          capture_output=True, text=True, timeout=120)


def test_every_package_imports_only_downward_and_settings_without_pulumi():
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in done.stdout
    for name in CONTRACTS.values():
        assert f"{name} KEPT" in " ".join(done.stdout.split()), name


def test_the_modules_below_every_layer_import_no_package_of_the_repository():
    ours = {*CONFIG["root_packages"], *(Path(module).stem for module in BOTTOM_MODULES)}
    for module in BOTTOM_MODULES:
        tree = ast.parse((ROOT / module).read_text())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module and not node.level}
        assert not imported & ours, f"{module} imports {sorted(imported & ours)}"


def test_settings_parse_a_stack_without_loading_the_pulumi_sdk():
    """What the static contract cannot see (an import at run time): parsing a shipped stack loads no Pulumi SDK."""
    code = ("import sys, pkgutil, importlib, settings\n"
            "for found in pkgutil.iter_modules(settings.__path__): importlib.import_module(f'settings.{found.name}')\n"
            "from settings.parse import parse_settings\n"
            "from stack_files import ROOT, stack_config\n"
            "config = stack_config('prod')\n"
            "raw = {k.split(':', 1)[1]: v for k, v in config.items() if k.startswith('data-pipeline:')}\n"
            "assert parse_settings('prod', raw, ROOT / 'jobs', region=config['aws:region']).glue_jobs\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0].startswith('pulumi')))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def repository_copy(tmp_path_factory) -> Path:
    """The packages import-linter reads and its config, copied to plant imports in."""
    root = tmp_path_factory.mktemp("layers")
    for package in CONFIG["root_packages"]:
        shutil.copytree(ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__", "*.json*",
                                                                                        "sample", "template"))
    shutil.copy(ROOT / "pyproject.toml", root)
    return root


# Each import is planted alone: the contract it breaks must fail naming the importer.
PLANTED = [
    ("settings/schema.py", "from components import data_lake", "layers"),  # settings importing upward
    ("components/glue_job.py", "import bootstrap.config", "layers"),
    ("bootstrap/config.py", "from automation import profile", "layers"),  # the two used to import each other
    ("jobs/scaffold/__init__.py", "import components.glue_job", "layers"),  # the scaffold must not need the program
    ("jobs/common/catalog.py", "import settings.schema", "layers"),
    # A job's own code (and `python -m jobs`) sits in no layer by name: any job, shipped or scaffolded later.
    ("jobs/orders/job.py", "import components.glue_job", "job-code-below-settings"),
    ("jobs/customers/transforms.py", "from settings import schema", "job-code-below-settings"),
    ("jobs/__main__.py", "import automation.cli", "job-code-below-settings"),
    ("settings/naming.py", "import pulumi", "settings-without-pulumi"),
    # Indirectly too: settings -> job code -> the SDK.
    ("jobs/common/catalog.py", "import pulumi_aws", "settings-without-pulumi"),
]

# lint-imports' own function (what the command calls), once per planted import, in one process instead of a
# process each: a fresh process, as its packages must be the copy's, not the ones this process imported.
PLANTING_LINTS = """
import contextlib, io, json, sys
from pathlib import Path
from importlinter.cli import lint_imports
results = []
for module, planted in json.loads(sys.argv[1]):
    path = Path(module)
    original = path.read_text()
    path.write_text(f"{original}\\n{planted}\\n")
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            code = lint_imports(no_cache=True, no_logo=True)
    finally:
        path.write_text(original)
    results.append((code, printed.getvalue()))
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def planted_lints(repository_copy) -> dict[tuple[str, str], tuple[int, str]]:
    """(module, planted import) -> lint-imports' exit code and output with that import planted."""
    cases = [(module, planted) for module, planted, _ in PLANTED]
    done = subprocess.run([sys.executable, "-c", PLANTING_LINTS, json.dumps(cases)], cwd=repository_copy,
                          env=without_pythonpath(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return {case: tuple(result) for case, result in zip(cases, json.loads(done.stdout), strict=True)}


@pytest.mark.parametrize(("module", "planted", "contract"), PLANTED)
def test_an_import_that_breaks_a_contract_fails_naming_it(planted_lints, module, planted, contract):
    returncode, printed = planted_lints[module, planted]
    assert returncode == 1, printed
    output = " ".join(printed.split())
    assert f"{CONTRACTS[contract]} BROKEN" in output
    importer = module.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
    assert importer in output, output[-2000:]
