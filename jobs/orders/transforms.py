"""Pure transforms of the orders job (DataFrame -> DataFrame): its typed columns, rules and derived columns, which
job.py composes with the shared JSON-lines steps (jobs/common/json_lines.py)."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.common import json_lines
from jobs.common.json_lines import blank, not_one_of, try_cast

from .schema import AMOUNT, CURRENCIES, PRICE, STATUSES


def with_typed_columns(raw: DataFrame) -> DataFrame:
    return json_lines.typed(
        raw,
        F.trim("order_id").alias("order_id"),
        F.trim("customer_id").alias("customer_id"),
        try_cast("order_ts", "TIMESTAMP").alias("order_ts"),
        F.upper(F.trim("status")).alias("status"),
        F.upper(F.trim("currency")).alias("currency"),
        try_cast("quantity", "INT").alias("quantity"),
        try_cast("unit_price", PRICE.simpleString()).alias("unit_price"),
        try_cast("updated_at", "TIMESTAMP").alias("updated_at"),
    )


def rejection_rules() -> list[json_lines.Rule]:
    """What makes an order unusable, in the order it is checked (after malformed JSON)."""
    return [
        (blank("order_id"), "missing_order_id"),
        (blank("customer_id"), "missing_customer_id"),
        (F.col("order_ts").isNull(), "invalid_order_ts"),
        (F.col("updated_at").isNull(), "invalid_updated_at"),
        (F.col("quantity").isNull() | (F.col("quantity") <= 0), "invalid_quantity"),
        (F.col("unit_price").isNull() | (F.col("unit_price") < 0), "invalid_unit_price"),
        (not_one_of("status", STATUSES), "invalid_status"),
        (not_one_of("currency", CURRENCIES), "invalid_currency"),
    ]


def with_derived_columns(orders: DataFrame) -> DataFrame:
    return (orders
            .withColumn("total_amount", (F.col("quantity") * F.col("unit_price")).cast(AMOUNT))
            .withColumn("order_date", F.to_date("order_ts")))
