"""Content-addressed job artifacts: same sources, same bytes and key; any change, a new key."""

from __future__ import annotations

import shutil
import zipfile

import pytest

from components import artifacts
from stack_files import ROOT

pytestmark = pytest.mark.tier("unit")


def copy_jobs(tmp_path):
    jobs = tmp_path / "jobs"
    shutil.copytree(ROOT / "jobs", jobs, ignore=shutil.ignore_patterns("__pycache__", "sample"))
    return jobs


def test_library_zip_is_reproducible(tmp_path):
    jobs = copy_jobs(tmp_path)
    first = artifacts.job_library(jobs, "orders", tmp_path / "build-a")
    (jobs / "orders" / "transforms.py").touch()  # a new mtime alone changes nothing
    second = artifacts.job_library(jobs, "orders", tmp_path / "build-b")
    assert first.digest == second.digest
    assert first.path.read_bytes() == second.path.read_bytes()


def test_library_holds_the_shared_library_and_only_its_own_job(tmp_path):
    jobs = copy_jobs(tmp_path)
    shutil.copytree(jobs / "orders", jobs / "returns")
    library = artifacts.job_library(jobs, "orders", tmp_path / "build")
    names = zipfile.ZipFile(library.path).namelist()
    assert "jobs/__init__.py" in names
    assert "jobs/common/runner.py" in names and "jobs/orders/transforms.py" in names
    assert not any(name.startswith("jobs/returns/") for name in names)
    assert all(name.endswith(".py") for name in names)


def test_a_source_change_gives_a_new_key(tmp_path):
    jobs = copy_jobs(tmp_path)
    before = artifacts.job_library(jobs, "orders", tmp_path / "build")
    with (jobs / "common" / "quality.py").open("a") as handle:
        handle.write("\n# changed\n")
    after = artifacts.job_library(jobs, "orders", tmp_path / "build")
    assert before.digest != after.digest
    assert before.key("glue/orders/library") != after.key("glue/orders/library")
    assert before.path.exists() and after.path.exists(), "old artifacts stay: a rollback points back to them"


def test_script_key_carries_its_content_hash(tmp_path):
    script = artifacts.job_script(ROOT / "jobs", "orders", "glue_main.py", tmp_path)
    digest = artifacts.digest((ROOT / "jobs/orders/glue_main.py").read_bytes())
    assert script.key("glue/orders/script") == f"glue/orders/script/glue_main-{digest}.py"
    assert script.path.read_bytes() == (ROOT / "jobs/orders/glue_main.py").read_bytes()
