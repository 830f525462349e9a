"""Deterministic customer profiles, with a known share of later updates and bad records (jobs/common/sample.py).

    python -m jobs.customers.sample_data                 # rewrite the shipped sample, sample/customers.jsonl
    python -m jobs.customers.sample_data big.jsonl --rows 1000000
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from jobs.common import sample

SAMPLE_PATH = Path(__file__).resolve().parent / "sample" / "customers.jsonl"
# Lines in the shipped sample; the tests and the PR health check regenerate its expected counts from it.
SAMPLE_ROWS = 140
FIRST_SIGNUP = date(2026, 9, 1)
COUNTRIES = ("DE", "FR", "GB", "IE", "NL", "US")
NAMES = ("Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra", "Barbara Liskov", "Donald Knuth")
# One bad record of each kind, in rotation: (reason the job must give, how the record is broken).
BAD_KINDS = (
    ("malformed_json", '{"customer_id": "c-broken", "email": '),
    ("missing_customer_id", {"customer_id": "  "}),
    ("invalid_email", {"email": "ada.example.com"}),
    ("invalid_country_code", {"country_code": "Germany"}),
    ("invalid_marketing_opt_in", {"marketing_opt_in": "maybe"}),
    ("invalid_signup_date", {"signup_date": "2026-02-30"}),
    ("invalid_updated_at", {"updated_at": "soon"}),
    ("signup_after_update", {"signup_date": "2030-01-01"}),
)


def _customer(rng: random.Random, index: int) -> dict:
    # Signups spread over 60 days, so any size of input lands in at most 60 daily partitions.
    signup = FIRST_SIGNUP + timedelta(days=7 * index % 60)
    updated = datetime(signup.year, signup.month, signup.day, tzinfo=UTC) + timedelta(hours=index % 48)
    name = rng.choice(NAMES)
    return {
        "customer_id": f"c-{index:06d}",
        "email": f"{name.split()[0].lower()}.{index}@{rng.choice(('example.com', 'example.org'))}",
        # Some customers leave their name out; a few write their country in lower case.
        "full_name": None if index % 7 == 0 else name,
        "country_code": rng.choice(COUNTRIES).lower() if index % 9 == 0 else rng.choice(COUNTRIES),
        "marketing_opt_in": rng.choice((True, False, "TRUE", "false")),
        "signup_date": signup.isoformat(),
        "updated_at": updated.isoformat().replace("+00:00", "Z"),
    }


def _moved_and_opted_out(customer: dict) -> dict:
    """The same customer three days later, with a new e-mail address and without marketing."""
    later = datetime.fromisoformat(customer["updated_at"].replace("Z", "+00:00")) + timedelta(days=3)
    return {**customer, "email": customer["email"].replace("@", ".new@"), "marketing_opt_in": False,
            "updated_at": later.isoformat().replace("+00:00", "Z")}


def generate(rows: int, *, bad_every: int = 14, update_every: int = 6,
             seed: int = 11) -> tuple[list[str], sample.SampleCounts]:
    """About `rows` JSON lines: every `bad_every`-th is broken, every `update_every`-th customer changes later."""
    return sample.generate(rows, record=_customer, later=_moved_and_opted_out, bad_kinds=BAD_KINDS,
                           bad_every=bad_every, update_every=update_every, seed=seed)


if __name__ == "__main__":
    sample.main(generate, sample_path=SAMPLE_PATH, sample_rows=SAMPLE_ROWS, what="customers")
