"""What a stack costs a month, offline (automation/cost_model.py):

    python -m automation stack cost --stack prod              # total and line items, with every assumption used
    python -m automation stack cost --stack prod --json       # the same for tools
    python -m automation stack cost --all --base origin/main  # each stack: base commit -> this checkout, lines moved
    python -m automation stack cost --refresh-prices          # rewrite automation/prices/*.json from AWS's Price List

The base is estimated from `git archive REF` (its program, stack files and assumptions) in a process of its own,
with this checkout's model and prices, so a difference is what the change does, never a price update. A usage or
input error (no such stack, a bad assumption, a base git cannot read) exits 2; a failed price refresh exits 3 and
leaves the snapshot unchanged.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from stack_files import ROOT, StackFileError, stack_config, stack_names

from . import cost_assumptions, exit_codes, prices
from .cost_report import diff, format_diff, format_table, to_dict

BASE_ASSUMPTIONS = "base-cost-assumptions.yaml"


class CostError(RuntimeError):
    pass


def add_commands(commands: argparse._SubParsersAction) -> None:
    """`stack cost`."""
    about = "monthly cost estimate of a stack (and its change against a base)"
    cost = commands.add_parser("cost", help=about, description=about)
    cost.set_defaults(run=run)
    which = cost.add_mutually_exclusive_group(required=True)
    which.add_argument("--stack", action="append", help="stack with a Pulumi.<stack>.yaml (repeatable)")
    which.add_argument("--all", action="store_true", help="every stack with a stack file")
    which.add_argument("--refresh-prices", action="store_true",
                       help="rewrite the price snapshots from AWS's public Price List offer files (needs network)")
    cost.add_argument("--json", action="store_true", help="print JSON instead of a table")
    cost.add_argument("--base", help="git ref to compare with: show the estimate's change from it")
    cost.add_argument("--output", type=Path, help="also write the JSON here")
    cost.add_argument("--assumptions", type=Path, default=cost_assumptions.ASSUMPTIONS_PATH,
                      help="assumptions file (default: automation/cost-assumptions.yaml)")
    cost.add_argument("--prices", type=Path, help="price snapshot (default: automation/prices/<stack region>.json)")
    cost.add_argument("--program-root", type=Path, default=ROOT,
                      help="folder of the program and its stack files (default: this checkout)")


def estimate_stack(stack: str, root: Path, assumptions_path: Path, prices_path: Path | None) -> dict[str, Any]:
    import pulumi

    from harness.program import run_program
    from schedules import ScheduleError

    from .cost_graph import GLUE_JOB, job_key
    from .cost_model import estimate

    if stack not in stack_names(root):
        raise CostError(f"--stack {stack!r}: no Pulumi.{stack}.yaml in {root}; stacks: {', '.join(stack_names(root))}")
    config = stack_config(stack, root)
    book = prices.load(prices_path or prices.snapshot_path(str(config.get("aws:region", "eu-west-1"))))
    assumed = cost_assumptions.load(stack, assumptions_path)
    try:
        run = run_program(stack, config, program=root / "__main__.py")
    except pulumi.RunError as error:
        raise CostError(f"stack {stack}: the program stopped: {' '.join(str(error).split())}") from None
    assumed.check_jobs([job_key(job) for job in run.of_type(GLUE_JOB)], assumptions_path)
    try:
        return to_dict(estimate(run, assumed, book))
    except ScheduleError as error:
        raise CostError(f"stack {stack}: {error}") from None


def _base_tree(ref: str, folder: Path) -> None:
    """The program (harness/program.py's PROGRAM_PARTS), stack files and assumptions of commit `ref`, extracted into
    `folder`."""
    from harness.program import PROGRAM_PARTS

    archive = subprocess.run(["git", "archive", "--format=tar", ref], cwd=ROOT, capture_output=True)
    if archive.returncode:
        raise CostError(f"--base {ref!r}: git cannot read it: {archive.stderr.decode().strip().splitlines()[-1]}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        wanted = [m for m in tar.getmembers() if m.name.split("/", 1)[0] in PROGRAM_PARTS
                  or (m.name.startswith("Pulumi.") and m.name.endswith(".yaml") and "/" not in m.name)]
        tar.extractall(folder, members=wanted, filter="data")
        assumptions = f"automation/{cost_assumptions.ASSUMPTIONS_PATH.name}"
        if assumptions in tar.getnames():
            (folder / BASE_ASSUMPTIONS).write_bytes(tar.extractfile(assumptions).read())


def base_estimates(ref: str, stacks: list[str], prices_path: Path | None,
                   assumptions_path: Path) -> dict[str, dict[str, Any] | None]:
    """Each stack's estimate at `ref` (None where the stack has no file there), in a process of its own: its
    `settings`, `components`, `functions` and `jobs` are the base's, its model and prices this checkout's."""
    with tempfile.TemporaryDirectory(prefix="cost-base-") as tmp:
        folder = Path(tmp)
        _base_tree(ref, folder)
        existing = [s for s in stacks if s in stack_names(folder)]
        if not existing:
            return dict.fromkeys(stacks)
        base_assumptions = folder / BASE_ASSUMPTIONS
        command = [sys.executable, "-m", "automation", "stack", "cost", "--json", "--program-root", str(folder),
                   "--assumptions", str(base_assumptions if base_assumptions.is_file() else assumptions_path)]
        command += [arg for stack in existing for arg in ("--stack", stack)]
        command += ["--prices", str(prices_path)] if prices_path else []
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
        if done.returncode:
            raise CostError(f"--base {ref}: estimating the base failed: "
                            f"{(done.stderr.strip().splitlines() or ['no output'])[-1]}")
        reports = json.loads(done.stdout)
        found = {report["stack"]: report for report in (reports if isinstance(reports, list) else [reports])}
        return {stack: found.get(stack) for stack in stacks}


def _refresh(args: argparse.Namespace) -> int:
    paths = [args.prices] if args.prices else sorted(prices.PRICES_DIR.glob("*.json"))
    for path in paths:
        try:
            result = prices.refresh(path)
        except prices.PricesError as error:
            print(f"error: {error}; {path} is unchanged", file=sys.stderr)
            return exit_codes.FAILED
        print(f"{path}:")
        print("\n".join(f"  {line}" for line in result.lines()))
    return exit_codes.OK


def run(args: argparse.Namespace) -> int:
    if args.refresh_prices:
        return _refresh(args)
    stacks = stack_names(args.program_root) if args.all else list(dict.fromkeys(args.stack))
    try:
        reports = [estimate_stack(s, args.program_root, args.assumptions, args.prices) for s in stacks]
        if args.base:
            before = base_estimates(args.base, stacks, args.prices, args.assumptions)
            output: Any = [diff(before[r["stack"]], r, args.base) | {"estimate": r} for r in reports]
            text = "\n".join(format_diff(change) for change in output)
        else:
            output = reports if len(reports) > 1 or args.all else reports[0]
            text = "\n\n".join(format_table(r) for r in reports)
    except (CostError, cost_assumptions.AssumptionsError, prices.PricesError, StackFileError) as error:
        print(f"error: {error}", file=sys.stderr)
        return exit_codes.USAGE
    if args.output:
        args.output.write_text(json.dumps(output, indent=2))
    print(json.dumps(output, indent=2) if args.json else text)
    return exit_codes.OK
