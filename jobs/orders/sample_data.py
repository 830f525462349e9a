"""Deterministic order records, with a known share of duplicates and bad records.

The same generator makes the shipped sample (`sample/orders.jsonl`), the test inputs and the benchmark's
100 k / 1 M row inputs, and it says how many records of each kind it wrote.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .domain import CURRENCIES, SAMPLE_ROWS, STATUSES

START = datetime(2026, 11, 1, tzinfo=UTC)
# One bad record of each kind, in rotation: (reason the job must give, how the record is broken).
BAD_KINDS = (
    ("malformed_json", None),
    ("missing_order_id", {"order_id": None}),
    ("missing_customer_id", {"customer_id": ""}),
    ("invalid_order_ts", {"order_ts": "yesterday"}),
    ("invalid_quantity", {"quantity": "two"}),
    ("invalid_quantity", {"quantity": 0}),
    ("invalid_unit_price", {"unit_price": "-1.50"}),
    ("invalid_status", {"status": "LOST"}),
    ("invalid_currency", {"currency": "XXX"}),
)


@dataclass
class SampleCounts:
    lines: int = 0
    unique_valid_orders: int = 0
    duplicate_updates: int = 0
    rejected: Counter = field(default_factory=Counter)

    @property
    def quarantined(self) -> int:
        return sum(self.rejected.values())


def _order(rng: random.Random, index: int) -> dict:
    # Orders spread over 30 days, so any size of input lands in at most 30 daily partitions.
    placed = START + timedelta(minutes=97 * index % (30 * 24 * 60))
    return {
        "order_id": f"o-{index:08d}",
        "customer_id": f"c-{rng.randrange(1, 5000):05d}",
        "order_ts": placed.isoformat().replace("+00:00", "Z"),
        "status": rng.choice(STATUSES).lower() if index % 5 == 0 else rng.choice(STATUSES),
        "currency": rng.choice(CURRENCIES),
        "quantity": rng.randrange(1, 10),
        "unit_price": f"{rng.randrange(100, 100_000) / 100:.2f}",
        "updated_at": placed.isoformat().replace("+00:00", "Z"),
    }


def generate(rows: int, *, bad_every: int = 13, duplicate_every: int = 11,
             seed: int = 7) -> tuple[list[str], SampleCounts]:
    """About `rows` JSON lines: every `bad_every`-th is broken, every `duplicate_every`-th order gets a later update."""
    rng = random.Random(seed)
    lines: list[str] = []
    counts = SampleCounts()
    index = 0
    while len(lines) < rows:
        index += 1
        order = _order(rng, index)
        if index % bad_every == 0:
            reason, change = BAD_KINDS[(index // bad_every - 1) % len(BAD_KINDS)]
            lines.append('{"order_id": "o-broken", "quantity": ' if change is None else json.dumps({**order, **change}))
            counts.rejected[reason] += 1
            continue
        lines.append(json.dumps(order))
        counts.unique_valid_orders += 1
        if index % duplicate_every == 0 and len(lines) < rows:
            later = datetime.fromisoformat(order["updated_at"].replace("Z", "+00:00")) + timedelta(hours=1)
            lines.append(json.dumps({**order, "status": "SHIPPED", "updated_at": later.isoformat()}))
            counts.duplicate_updates += 1
    counts.lines = len(lines)
    return lines, counts


def write(path: Path, rows: int, **options) -> SampleCounts:
    lines, counts = generate(rows, **options)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description="Write deterministic sample orders as JSON lines.")
    parser.add_argument("path", type=Path)
    parser.add_argument("--rows", type=int, default=SAMPLE_ROWS)
    args = parser.parse_args()
    counts = write(args.path, args.rows)
    print(f"wrote {counts.lines} lines to {args.path}: {counts.unique_valid_orders} orders, "
          f"{counts.duplicate_updates} later updates, {counts.quarantined} bad records {dict(counts.rejected)}")


if __name__ == "__main__":
    main()
