"""Deterministic order records, with a known share of later updates and bad records (jobs/common/sample.py).

    python -m jobs.orders.sample_data                  # rewrite the shipped sample, sample/orders.jsonl
    python -m jobs.orders.sample_data big.jsonl --rows 1000000
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jobs.common import sample

from .domain import CURRENCIES, STATUSES

SAMPLE_PATH = Path(__file__).resolve().parent / "sample" / "orders.jsonl"
# Lines in the shipped sample; the tests and the PR health check regenerate its expected counts from it.
SAMPLE_ROWS = 150
START = datetime(2026, 11, 1, tzinfo=UTC)
# One bad record of each kind, in rotation: (reason the job must give, how the record is broken).
BAD_KINDS = (
    ("malformed_json", '{"order_id": "o-broken", "quantity": '),
    ("missing_order_id", {"order_id": None}),
    ("missing_customer_id", {"customer_id": ""}),
    ("invalid_order_ts", {"order_ts": "yesterday"}),
    ("invalid_quantity", {"quantity": "two"}),
    ("invalid_quantity", {"quantity": 0}),
    ("invalid_unit_price", {"unit_price": "-1.50"}),
    ("invalid_status", {"status": "LOST"}),
    ("invalid_currency", {"currency": "XXX"}),
)


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


def _shipped(order: dict) -> dict:
    """The same order an hour later, shipped."""
    later = datetime.fromisoformat(order["updated_at"].replace("Z", "+00:00")) + timedelta(hours=1)
    return {**order, "status": "SHIPPED", "updated_at": later.isoformat()}


def generate(rows: int, *, bad_every: int = 13, update_every: int = 11,
             seed: int = 7) -> tuple[list[str], sample.SampleCounts]:
    """About `rows` JSON lines: every `bad_every`-th is broken, every `update_every`-th order gets a later update."""
    return sample.generate(rows, record=_order, later=_shipped, bad_kinds=BAD_KINDS, bad_every=bad_every,
                           update_every=update_every, seed=seed)


if __name__ == "__main__":
    sample.main(generate, sample_path=SAMPLE_PATH, sample_rows=SAMPLE_ROWS, what="orders")
