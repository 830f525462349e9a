"""Which jobs the repository holds, and how to reach each one's definition and sample by name.

Plain Python (no Spark), so the program's config check, the PR health check and the scaffold can use it.
A job is a folder `jobs/<name>/` with the Glue entrypoint `glue_main.py`, a `job.py` defining `JOB` and a
`sample_data.py` whose generator wrote the job's sample and knows what it must produce.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the definition imports Spark; the catalog must not
    from .definition import JobDefinition

JOBS_DIR = Path(__file__).resolve().parents[1]
ENTRYPOINT = "glue_main.py"
# How an entrypoint names the job it runs: `from jobs.<name>.job import JOB`.
_ENTRYPOINT_IMPORT = re.compile(r"^\s*from\s+jobs\.(\w+)\.job\s+import\s+JOB\b", re.MULTILINE)


def job_names(jobs_dir: Path = JOBS_DIR) -> list[str]:
    """Every job folder, sorted."""
    return sorted(path.parent.name for path in jobs_dir.glob(f"*/{ENTRYPOINT}"))


def entrypoint_job(entrypoint: Path) -> str | None:
    """The job whose module a Glue entrypoint imports (None when it imports none), read without running it."""
    match = _ENTRYPOINT_IMPORT.search(entrypoint.read_text())
    return match.group(1) if match else None


class UnknownJob(LookupError):
    def __init__(self, name: str, jobs_dir: Path = JOBS_DIR):
        super().__init__(f"unknown job {name!r}: available jobs are {', '.join(job_names(jobs_dir)) or 'none'}")


def _module(name: str, module: str) -> ModuleType:
    if name not in job_names():
        raise UnknownJob(name)
    return importlib.import_module(f"jobs.{name}.{module}")


def load_job(name: str) -> JobDefinition:
    """The job's definition (imports Spark)."""
    return _module(name, "job").JOB


def sample_module(name: str) -> ModuleType:
    """The job's `sample_data` module: SAMPLE_PATH, SAMPLE_ROWS and `generate(rows)`."""
    return _module(name, "sample_data")
