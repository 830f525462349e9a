"""A job's curated Spark schema as the Iceberg schema its table is created with."""

from __future__ import annotations

import json

import pytest
from pyspark.sql import types as T

from components.iceberg_schema import UnsupportedColumn, iceberg_schema

pytestmark = pytest.mark.tier("unit")


def test_each_column_keeps_its_order_nullability_and_the_type_spark_writes():
    schema = T.StructType([
        T.StructField("id", T.StringType(), nullable=False),
        T.StructField("amount", T.DecimalType(12, 2)),
        T.StructField("count", T.LongType()),
        T.StructField("seen_at", T.TimestampType()),
        T.StructField("local_at", T.TimestampNTZType()),
        T.StructField("day", T.DateType()),
    ])
    converted = iceberg_schema(schema)
    assert (converted["schema_id"], converted["type"]) == (0, "struct")
    assert [(f["id"], f["name"], json.loads(f["type"]), f["required"]) for f in converted["fields"]] == [
        (1, "id", "string", True), (2, "amount", "decimal(12,2)", False), (3, "count", "long", False),
        # Spark's TimestampType is an instant: Iceberg's timestamptz; a timestamp without zone is Iceberg's timestamp.
        (4, "seen_at", "timestamptz", False), (5, "local_at", "timestamp", False), (6, "day", "date", False)]


def test_a_column_without_an_exact_iceberg_type_is_refused_by_name():
    schema = T.StructType([T.StructField("tags", T.ArrayType(T.StringType()))])
    with pytest.raises(UnsupportedColumn, match=r"column 'tags' has Spark type array<string>: a curated table "
                                                r"column must be a decimal or one of string, boolean, int"):
        iceberg_schema(schema)
