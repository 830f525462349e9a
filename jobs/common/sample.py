"""Deterministic JSON-lines inputs with a known share of later updates and bad records, and their counts.

Every job's `sample_data.py` describes its records (a valid one, its later version, one change per rejection
reason) and generates through `generate`; the shipped sample, the tests, the PR health check's expected counts
and the benchmark's large inputs all come from the same generator, which says what a run over them must give.
Plain Python (no Spark).
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# A bad record: the reason the job must give, and how it is broken (fields replaced, or the whole line as text).
BadKind = tuple[str, dict | str]


@dataclass
class SampleCounts:
    """What an input holds; a run over it must produce exactly these counts."""

    lines: int = 0
    # Distinct valid keys: the curated rows.
    curated: int = 0
    # Valid lines that a later version of the same key replaces.
    superseded: int = 0
    rejected: Counter = field(default_factory=Counter)

    @property
    def quarantined(self) -> int:
        return sum(self.rejected.values())


def generate(rows: int, *, record: Callable[[random.Random, int], dict], later: Callable[[dict], dict],
             bad_kinds: Sequence[BadKind], bad_every: int, update_every: int,
             seed: int = 7) -> tuple[list[str], SampleCounts]:
    """About `rows` lines: record 1, 2, … from `record(rng, index)`; every `bad_every`-th is broken with the next
    of `bad_kinds`, every `update_every`-th valid one is followed by its `later` version."""
    rng = random.Random(seed)
    lines: list[str] = []
    counts = SampleCounts()
    index = 0
    while len(lines) < rows:
        index += 1
        valid = record(rng, index)
        if index % bad_every == 0:
            reason, change = bad_kinds[(index // bad_every - 1) % len(bad_kinds)]
            lines.append(change if isinstance(change, str) else json.dumps({**valid, **change}))
            counts.rejected[reason] += 1
            continue
        lines.append(json.dumps(valid))
        counts.curated += 1
        if index % update_every == 0 and len(lines) < rows:
            lines.append(json.dumps(later(valid)))
            counts.superseded += 1
    counts.lines = len(lines)
    return lines, counts


def write(path: Path, generated: tuple[list[str], SampleCounts]) -> SampleCounts:
    lines, counts = generated
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return counts


def main(generator: Callable[[int], tuple[list[str], SampleCounts]], *, sample_path: Path, sample_rows: int,
         what: str, argv: list[str] | None = None) -> None:
    """The command line of a job's `sample_data.py`: rewrite the shipped sample, or write a bigger input."""
    parser = argparse.ArgumentParser(description=f"Write deterministic sample {what} as JSON lines.")
    parser.add_argument("path", type=Path, nargs="?", default=sample_path,
                        help=f"where to write (default: the shipped sample, {sample_path.name})")
    parser.add_argument("--rows", type=int, default=sample_rows, help=f"lines to write (default {sample_rows})")
    args = parser.parse_args(argv)
    counts = write(args.path, generator(args.rows))
    print(f"wrote {counts.lines} lines to {args.path}: {counts.curated} {what}, {counts.superseded} superseded by "
          f"a later line, {counts.quarantined} bad records {dict(counts.rejected)}")
