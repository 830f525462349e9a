"""The customers transforms on real local Spark, record by record: its typed columns, rules and latest profile."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from jobs.common.definition import REJECTION_REASON as REASON
from jobs.common.definition import transform
from jobs.customers.job import JOB
from jobs.customers.schema import CURATED_SCHEMA
from tests.conftest import assert_each_gets_its_reason, rejection_reasons, text_lines

pytestmark = pytest.mark.tier("spark")

GOOD = {"customer_id": " c-1 ", "email": " Ada@Example.COM", "full_name": " Ada Lovelace ", "country_code": "gb",
        "marketing_opt_in": "TRUE", "signup_date": "2026-09-01", "updated_at": "2026-09-02T10:00:00Z"}


def test_a_valid_record_is_cast_normalised_and_derived(spark):
    result = transform(JOB, text_lines(spark, GOOD))
    assert result.quarantine.count() == 0
    (row,) = result.curated.collect()
    assert row.asDict() == {
        "customer_id": "c-1", "email": "ada@example.com", "email_domain": "example.com", "full_name": "Ada Lovelace",
        "country_code": "GB", "marketing_opt_in": True, "updated_at": datetime(2026, 9, 2, 10, 0),
        "signup_date": date(2026, 9, 1),
    }
    assert result.curated.schema == CURATED_SCHEMA


def test_json_booleans_and_a_missing_name_are_accepted(spark):
    result = transform(JOB, text_lines(spark, {**GOOD, "marketing_opt_in": False, "full_name": "  "},
                                  {**GOOD, "customer_id": "c-2", "marketing_opt_in": True, "full_name": None}))
    rows = {row["customer_id"]: row for row in result.curated.collect()}
    assert (rows["c-1"]["marketing_opt_in"], rows["c-1"]["full_name"]) == (False, None)
    assert (rows["c-2"]["marketing_opt_in"], rows["c-2"]["full_name"]) == (True, None)


BROKEN = [
    ('{"customer_id": "c-2", "email": ', "malformed_json"),
    ("[1, 2, 3]", "malformed_json"),
    ({"customer_id": None}, "missing_customer_id"),
    ({"customer_id": "  "}, "missing_customer_id"),
    ({"email": None}, "invalid_email"),
    ({"email": "ada.example.com"}, "invalid_email"),
    ({"email": "ada @example.com"}, "invalid_email"),
    ({"country_code": "Germany"}, "invalid_country_code"),
    ({"country_code": "D1"}, "invalid_country_code"),
    ({"marketing_opt_in": "maybe"}, "invalid_marketing_opt_in"),
    ({"marketing_opt_in": 1}, "invalid_marketing_opt_in"),
    ({"signup_date": "2026-02-30"}, "invalid_signup_date"),
    ({"signup_date": None}, "invalid_signup_date"),
    ({"updated_at": "soon"}, "invalid_updated_at"),
    ({"signup_date": "2026-09-03"}, "signup_after_update"),
]


def test_each_broken_record_gets_its_reason(spark):
    assert_each_gets_its_reason(spark, JOB, GOOD, BROKEN)


def test_the_first_broken_rule_is_the_reason(spark):
    assert rejection_reasons(spark, JOB, {**GOOD, "email": "x", "country_code": "?"}) == ["invalid_email"]


def test_the_latest_profile_wins_wherever_it_is_in_the_input(spark):
    first = {**GOOD, "email": "old@example.com", "updated_at": "2026-09-02T10:00:00Z"}
    latest = {**GOOD, "email": "new@example.org", "marketing_opt_in": "false", "updated_at": "2026-10-01T08:00:00Z"}
    other = {**GOOD, "customer_id": "c-2"}
    result = transform(JOB, text_lines(spark, latest, first, other, first))
    profiles = {row["customer_id"]: (row["email"], row["email_domain"], row["marketing_opt_in"])
                for row in result.curated.collect()}
    assert profiles == {"c-1": ("new@example.org", "example.org", False),
                        "c-2": ("ada@example.com", "example.com", True)}


def test_quarantine_keeps_the_raw_record_the_key_and_the_reason(spark):
    broken = {**GOOD, "customer_id": "c-9", "country_code": "Germany"}
    (row,) = transform(JOB, text_lines(spark, GOOD, broken)).quarantine.collect()
    assert json.loads(row["raw_record"]) == broken
    assert (row["customer_id"], row[REASON]) == ("c-9", "invalid_country_code")
