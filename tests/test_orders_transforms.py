"""The orders transforms on real local Spark, record by record and over the shipped sample."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pytest
from chispa import assert_df_equality

from jobs.common.definition import REJECTION_REASON as REASON
from jobs.common.definition import curate, transform
from jobs.common.json_lines import parse_lines
from jobs.orders.job import JOB
from jobs.orders.schema import CURATED_SCHEMA, RAW_FIELDS
from jobs.orders.transforms import with_derived_columns, with_typed_columns
from tests.conftest import assert_each_gets_its_reason, rejection_reasons, rows_frame, text_lines

pytestmark = pytest.mark.tier("spark")

GOOD = {"order_id": "o-1", "customer_id": "c-1", "order_ts": "2026-11-02T23:30:00Z", "status": "paid ",
        "currency": "eur", "quantity": 3, "unit_price": "19.99", "updated_at": "2026-11-02T23:30:00Z"}


def test_a_valid_record_is_cast_normalised_and_derived(spark):
    result = transform(JOB, text_lines(spark, GOOD))
    assert result.quarantine.count() == 0
    (row,) = result.curated.collect()
    assert row.asDict() == {
        "order_id": "o-1", "customer_id": "c-1", "order_ts": datetime(2026, 11, 2, 23, 30), "status": "PAID",
        "currency": "EUR", "quantity": 3, "unit_price": Decimal("19.99"), "total_amount": Decimal("59.97"),
        "updated_at": datetime(2026, 11, 2, 23, 30), "order_date": date(2026, 11, 2),
    }
    assert result.curated.schema == CURATED_SCHEMA


BROKEN = [
    ('{"order_id": "o-2", "quantity": ', "malformed_json"),
    ("[1, 2, 3]", "malformed_json"),
    ({"order_id": None}, "missing_order_id"),
    ({"order_id": "   "}, "missing_order_id"),
    ({"customer_id": ""}, "missing_customer_id"),
    ({"order_ts": "yesterday"}, "invalid_order_ts"),
    ({"updated_at": "2026-13-45T00:00:00Z"}, "invalid_updated_at"),
    ({"quantity": "two"}, "invalid_quantity"),
    ({"quantity": "2.5"}, "invalid_quantity"),
    ({"quantity": 0}, "invalid_quantity"),
    ({"quantity": -4}, "invalid_quantity"),
    ({"unit_price": "-1.50"}, "invalid_unit_price"),
    ({"unit_price": "free"}, "invalid_unit_price"),
    ({"status": "LOST"}, "invalid_status"),
    ({"status": None}, "invalid_status"),
    ({"currency": "XXX"}, "invalid_currency"),
]


def test_each_broken_record_gets_its_reason(spark):
    assert_each_gets_its_reason(spark, JOB, GOOD, BROKEN)


def test_the_first_broken_rule_is_the_reason(spark):
    assert rejection_reasons(spark, JOB, {**GOOD, "customer_id": None, "quantity": "x"}) == ["missing_customer_id"]


def test_quarantine_keeps_the_raw_record_and_the_reason(spark):
    broken = {**GOOD, "order_id": "o-9", "currency": "XXX"}
    result = transform(JOB, text_lines(spark, GOOD, broken))
    (row,) = result.quarantine.collect()
    assert json.loads(row["raw_record"]) == broken
    assert (row["order_id"], row[REASON]) == ("o-9", "invalid_currency")


def test_latest_update_wins_per_order(spark):
    first = {**GOOD, "status": "PLACED", "updated_at": "2026-11-02T10:00:00Z"}
    latest = {**GOOD, "status": "SHIPPED", "updated_at": "2026-11-03T08:00:00Z"}
    other = {**GOOD, "order_id": "o-2"}
    result = transform(JOB, text_lines(spark, latest, first, other, first))
    statuses = {row["order_id"]: row["status"] for row in result.curated.collect()}
    assert statuses == {"o-1": "SHIPPED", "o-2": "PAID"}


def typed(spark, *records):
    return with_typed_columns(parse_lines(text_lines(spark, *records), RAW_FIELDS))


def test_dedup_is_deterministic_on_ties(spark):
    a = {**GOOD, "unit_price": "1.00"}
    b = {**GOOD, "unit_price": "2.00"}
    forward = curate(JOB, typed(spark, a, b)).select("unit_price").collect()
    backward = curate(JOB, typed(spark, b, a)).select("unit_price").collect()
    assert forward == backward == [(Decimal("2.00"),)]


def test_derived_columns_match_an_expected_frame(spark):
    typed_rows = typed(spark, GOOD, {**GOOD, "order_id": "o-2", "quantity": 2, "order_ts": "2026-11-30T00:00:00+01:00"})
    actual = with_derived_columns(typed_rows).select("order_id", "total_amount", "order_date")
    expected = rows_frame(spark, "order_id string, total_amount decimal(14,2), order_date date",
                          ("o-1", Decimal("59.97"), date(2026, 11, 2)), ("o-2", Decimal("39.98"), date(2026, 11, 29)))
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)
