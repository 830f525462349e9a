"""Data-quality checks: each check on its own, and the report over real frames."""

from __future__ import annotations

import json

import pytest

from jobs.common.definition import QualityRules
from jobs.common.quality import (
    check_quarantine_ratio,
    check_row_count,
    check_schema,
    check_unique_key,
    evaluate,
)
from tests.conftest import rows_frame

pytestmark = pytest.mark.tier("unit")

RULES = QualityRules(min_rows=2, required_columns=("id",), max_null_rate=0.25, max_quarantine_ratio=0.2)


def test_row_count():
    assert check_row_count(2, 2).passed
    assert not check_row_count(1, 2).passed


def test_unique_key_counts_duplicates():
    result = check_unique_key(rows=5, distinct_keys=3, key=("id",))
    assert (result.passed, result.observed) == (False, 2)


def test_quarantine_ratio_is_of_input_records():
    assert check_quarantine_ratio(100, 20, 0.2).passed
    failed = check_quarantine_ratio(100, 21, 0.2)
    assert not failed.passed and failed.detail == "21 of 100 input records"
    assert check_quarantine_ratio(0, 0, 0.2).passed


@pytest.mark.tier("spark")
def test_schema_check_names_missing_and_unexpected_columns(spark):
    expected = spark.createDataFrame([], "id string, amount decimal(14,2)").schema
    actual = spark.createDataFrame([], "id string, amount double, extra int").schema
    result = check_schema(actual, expected)
    assert not result.passed
    assert "missing ['amount:decimal(14,2)']" in result.detail
    assert "unexpected ['amount:double', 'extra:int']" in result.detail


@pytest.mark.tier("spark")
def test_report_passes_on_clean_data(spark):
    curated = rows_frame(spark, "id string, n int", ("a", 1), ("b", None), ("c", 3), ("d", 4))
    report = evaluate("t", "run-1", 5, curated, {"malformed_json": 1}, curated.schema, ("id",), RULES)
    assert report.passed, report.failures
    assert (report.curated_rows, report.quarantined_rows, report.quarantine_reasons) == (4, 1, {"malformed_json": 1})
    as_json = json.loads(report.to_json())
    assert as_json["passed"] is True and as_json["input_rows"] == 5
    assert {c["name"] for c in as_json["checks"]} == {"row_count", "schema", "unique_key", "null_rate:id",
                                                     "null_rate:n", "quarantine_ratio"}


@pytest.mark.tier("spark")
def test_report_fails_on_duplicates_nulls_and_quarantine(spark):
    curated = rows_frame(spark, "id string, n int", ("a", None), ("a", None), (None, 3))
    report = evaluate("t", "run-2", 5, curated, {"bad": 2}, curated.schema, ("id",), RULES)
    assert not report.passed
    failed = {c.name: c.observed for c in report.failures}
    assert failed == {"unique_key": 2, "null_rate:id": pytest.approx(1 / 3, abs=1e-6),
                      "null_rate:n": pytest.approx(2 / 3, abs=1e-6), "quarantine_ratio": 0.4}


@pytest.mark.tier("spark")
def test_empty_input_fails_the_row_count(spark):
    curated = rows_frame(spark, "id string")
    report = evaluate("t", "run-3", 0, curated, {}, curated.schema, ("id",), RULES)
    assert [c.name for c in report.failures] == ["row_count"]
