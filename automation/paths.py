"""Which PR check a change needs: the fast path (the PR's job code run on the long-lived check stack, nothing
deployed) or the full PR stack (deploy, run, destroy), decided from the files the pull request changes.

Only job code of jobs the check stack already has goes the fast way: `jobs/<job>/…` and the job's own tests
check that job, `jobs/common/…` every job. A new job, and anything that changes what is deployed or how it is
checked (components, functions, config, policies, requirements, the automation itself …), needs the full PR
stack. Files that change neither (documentation, other tests) need no PR check of their own.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import PurePosixPath

from components.artifacts import JOBS_SHARED

FAST, FULL, NONE = "fast", "full", "none"
PATHS = (FAST, FULL)
JOB_TEST = re.compile(r"^tests/test_(?P<job>[a-z][a-z0-9_]*)_[a-z0-9_]+\.py$")
# Files that change no deployed resource and no job code: the test job covers them.
NEUTRAL = (re.compile(r"\.md$"), re.compile(r"^docs/"), re.compile(r"^LICENSE"), re.compile(r"^\.gitignore$"),
           re.compile(r"^tests/"), re.compile(r"^benchmarks/"), re.compile(r"^jobs/scaffold/"),
           re.compile(r"^jobs/__main__\.py$"), re.compile(r"^mkdocs\.yml$"))
# In every job's library, like jobs/common.
SHARED_FILES = ("jobs/__init__.py",)


@dataclass(frozen=True)
class PathChoice:
    path: str  # fast | full | none
    reason: str
    # Jobs the fast path checks (every job the check stack has for a jobs/common change).
    jobs: tuple[str, ...] = ()
    # The files that drove the decision, and the rest (neutral).
    deciding: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)


def choose(changed: Iterable[str], check_stack_jobs: Iterable[str], repository_jobs: Iterable[str],
           forced: str = "") -> PathChoice:
    """The path for these changed files (repository-relative), given the jobs the check stack deploys and the jobs
    the PR's tree has (a job the check stack has but the tree does not is being removed: a deploy)."""
    files = sorted({PurePosixPath(f.strip()).as_posix() for f in changed if f.strip()})
    present = set(repository_jobs)
    known = set(check_stack_jobs) & present
    infrastructure, new_jobs, fast_jobs, job_files, ignored = [], set(), set(), [], []
    for path in files:
        parts = path.split("/")
        test = JOB_TEST.match(path)
        if path in SHARED_FILES or (parts[0] == "jobs" and len(parts) > 2 and parts[1] == JOBS_SHARED):
            fast_jobs |= known
            job_files.append(path)
        elif parts[0] == "jobs" and len(parts) > 2 and parts[1] in known:
            fast_jobs.add(parts[1])
            job_files.append(path)
        elif test and test["job"] in known:
            fast_jobs.add(test["job"])
            job_files.append(path)
        elif any(pattern.search(path) for pattern in NEUTRAL):
            ignored.append(path)
        elif parts[0] == "jobs" and len(parts) > 2:
            new_jobs.add(parts[1])
            infrastructure.append(path)
        else:
            infrastructure.append(path)
    if forced:
        if forced not in PATHS:
            raise ValueError(f"--path {forced!r}: expected one of {', '.join(('auto', *PATHS))}")
        jobs = tuple(sorted(known)) if forced == FAST else ()
        return PathChoice(forced, f"forced with --path {forced}", jobs, tuple(files))
    if new_jobs:
        return PathChoice(FULL, f"new or removed job(s) {', '.join(sorted(new_jobs))}: only a deploy adds or "
                          "removes a job",
                          deciding=tuple(infrastructure), ignored=tuple(ignored + job_files))
    if infrastructure:
        shown = ", ".join(infrastructure[:3]) + (f" and {len(infrastructure) - 3} more" if len(infrastructure) > 3
                                                 else "")
        return PathChoice(FULL, f"changes what is deployed or how it is checked: {shown}",
                          deciding=tuple(infrastructure), ignored=tuple(ignored + job_files))
    if fast_jobs:
        return PathChoice(FAST, f"only job code of {', '.join(sorted(fast_jobs))}, which the check stack has",
                          tuple(sorted(fast_jobs)), tuple(job_files), tuple(ignored))
    return PathChoice(NONE, "no job code and nothing deployed changed" if files else "no file changed",
                      ignored=tuple(ignored))


class ChangedFilesError(RuntimeError):
    pass


def changed_files(base: str, head: str = "HEAD", cwd: str | None = None) -> list[str]:
    """`git diff --name-only BASE...HEAD`: what the pull request changes since it branched from BASE."""
    try:
        out = subprocess.run(["git", "diff", "--name-only", f"{base}...{head}"], cwd=cwd, check=True,
                             capture_output=True, text=True).stdout
    except FileNotFoundError:
        raise ChangedFilesError("git is not on PATH: pass --changed-files instead of --base") from None
    except subprocess.CalledProcessError as error:
        reason = (error.stderr.strip().splitlines() or ["no output"])[0]
        raise ChangedFilesError(f"git diff --name-only {base}...{head} failed: {reason} "
                                "(fetch the base branch with its history, e.g. fetch-depth: 0)") from None
    return [line for line in out.splitlines() if line]
