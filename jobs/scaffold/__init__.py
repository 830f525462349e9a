"""`python -m jobs new NAME`: a new job that evaluates, deploys, runs and passes its tests before it is edited.

Writes jobs/NAME/ (schema, transforms, quality rules, the Glue entrypoint importing its own module, a sample
generator and the sample it writes) and tests/test_NAME_transforms.py from template/, then adds `NAME: {}` to
data-pipeline:glueJobs in every stack file and checks each stack's config with the new job (its names
against AWS's limits too). On any problem nothing is left behind. Not shipped to Glue (only jobs/common and
the job's own folder are).
"""

from __future__ import annotations

import argparse
import keyword
import re
import shutil
import subprocess
import sys
from pathlib import Path
from string import Template

from settings.job_catalogue import JOB_NAME
from settings.parse import parse_stack_config
from settings.schema import GLUE_JOBS_KEY, PROJECT
from settings.validation import ConfigError
from stack_files import ROOT, stack_config

TEMPLATES = Path(__file__).resolve().parent / "template"
# Folders of jobs/ that are not jobs.
RESERVED = ("common", "scaffold")
JOBS_KEY = f"{PROJECT}:{GLUE_JOBS_KEY}"


class ScaffoldError(RuntimeError):
    pass


def name_problem(name: str, root: Path) -> str | None:
    if not JOB_NAME.match(name) or keyword.iskeyword(name):
        return (f"job name {name!r}: must match {JOB_NAME.pattern} (lower case, digits, underscores; it names a "
                f"Python package, S3 prefixes and AWS resources) and not be a Python keyword")
    if name in RESERVED or (root / "jobs" / name).exists():
        return f"job name {name!r}: jobs/{name}/ already exists"
    return None


def stack_files(root: Path) -> list[Path]:
    return sorted(root.glob("Pulumi.*.yaml"))


def with_job(stack_file: str, name: str) -> str:
    """The stack file's text with `name: {}` added to its glueJobs map, comments and layout kept."""
    lines = stack_file.splitlines(keepends=True)
    header = [i for i, line in enumerate(lines) if re.match(rf"^\s+{re.escape(JOBS_KEY)}:\s*(#.*)?$", line)]
    if len(header) != 1:
        raise ScaffoldError(f"no block `{JOBS_KEY}:` (a map, one job per line)")
    indent = len(lines[header[0]]) - len(lines[header[0]].lstrip())
    end = header[0] + 1
    while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent):
        end += 1
    while not lines[end - 1].strip():  # after the map's last entry, not after blank lines that follow it
        end -= 1
    lines[end - 1] = lines[end - 1] if lines[end - 1].endswith("\n") else lines[end - 1] + "\n"
    return "".join([*lines[:end], f"{' ' * (indent + 2)}{name}: {{}}\n", *lines[end:]])


def render(name: str) -> dict[str, str]:
    """Template file name -> its text for job `name`."""
    imports = sorted([f"from jobs.{name}.job import JOB", "from jobs.common.glue_entrypoint import main"])
    values = {"name": name, "title": name.replace("_", " ").capitalize(), "prefix": name[0],
              "imports": "\n".join(imports)}
    return {path.name.removesuffix(".tmpl"): Template(path.read_text()).substitute(values)
            for path in sorted(TEMPLATES.glob("*.tmpl"))}


def new_job(name: str, root: Path = ROOT) -> list[Path]:
    """Create job `name` in the repository at `root`; return what was written or changed."""
    problem = name_problem(name, root)
    if problem:
        raise ScaffoldError(problem)
    folder, test = root / "jobs" / name, root / "tests" / f"test_{name}_transforms.py"
    snapshots = root / "tests" / "snapshots"
    stacks = {path: path.read_text() for path in stack_files(root)}
    originals = {**stacks, **{path: path.read_text() for path in sorted(snapshots.glob("*.json"))}}
    try:
        folder.mkdir(parents=True)
        for file_name, text in render(name).items():
            (test if file_name == "test_transforms.py" else folder / file_name).write_text(text)
        # The generator writes the sample (run as the job's own module, from the repository being changed).
        generated = subprocess.run([sys.executable, "-m", f"jobs.{name}.sample_data"], cwd=root,
                                   capture_output=True, text=True)
        if generated.returncode:
            raise ScaffoldError(f"the sample generator failed:\n{generated.stderr.strip()}")
        for path, text in stacks.items():
            try:
                path.write_text(with_job(text, name))
            except ScaffoldError as error:
                raise ScaffoldError(f"{path.name}: {error}") from None
        problems = [f"{path.name}: {problem}" for path in stacks
                    for problem in stack_problems(path.name.removeprefix("Pulumi.").removesuffix(".yaml"), root)]
        if problems:
            raise ScaffoldError("the stacks do not accept the new job:\n" + "\n".join(problems))
        if snapshots.is_dir():
            # What `make snapshots` does: every stack's snapshot now has the new job's resources.
            updated = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                      "tests/test_snapshots.py::test_stack_graph_matches_its_snapshot",
                                      "--update-snapshots"], cwd=root, capture_output=True, text=True)
            if updated.returncode:
                raise ScaffoldError(f"the snapshots could not be regenerated:\n{updated.stdout[-2000:]}")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        test.unlink(missing_ok=True)
        for path, text in originals.items():
            path.write_text(text)
        raise
    return [folder, *sorted(folder.rglob("*.py")), *sorted((folder / "sample").iterdir()), test,
            *(path for path, text in originals.items() if path.read_text() != text)]


def stack_problems(stack: str, root: Path) -> list[str]:
    try:
        parse_stack_config(stack, stack_config(stack, root), root / "jobs")
    except ConfigError as error:
        return error.problems
    return []


NEXT_STEPS = """
Job {name} is ready: it deploys in every stack, runs on its sample and passes its tests. Now make it yours:
  1. jobs/{name}/schema.py        the raw fields, business key, curated columns and partition column
  2. jobs/{name}/transforms.py    typed columns, rejection rules (in order) and the business transform
  3. jobs/{name}/job.py           the quality rules (required columns, null rate, quarantine ratio)
  4. jobs/{name}/sample_data.py   a valid record, its later version and one bad record per rule, then
                                  python -m jobs.{name}.sample_data            (rewrites the sample)
  5. tests/test_{name}_transforms.py   the job's own rules, record by record
  6. the stack files: sizing overrides under {key}.{name} if the stack defaults do not fit
Run it: .venv/bin/python -m jobs.common.local {name}      Test it: make test"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs", description="Tools for the repository's Glue jobs.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    new = commands.add_parser("new", help="scaffold a job: jobs/NAME/, its test file and its line in each stack file")
    new.add_argument("name", help="the job's name, e.g. customers (lower case, digits, underscores)")
    new.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        written = new_job(args.name, args.root)
    except ScaffoldError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in written:
        changed = path.name.startswith("Pulumi.") or path.suffix == ".json"
        print(f"  {'changed' if changed else 'created'}  {path.relative_to(args.root)}")
    print(NEXT_STEPS.format(name=args.name, key=JOBS_KEY))
    return 0

