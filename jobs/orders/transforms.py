"""Pure transforms of the orders job (DataFrame -> DataFrame), built-in Spark functions only."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from jobs.common.definition import RAW_RECORD, REJECTION_REASON

from .schema import AMOUNT, CORRUPT_RECORD, CURATED_SCHEMA, CURRENCIES, PRICE, RAW_SCHEMA, STATUSES


def parse_lines(lines: DataFrame) -> DataFrame:
    """Text lines (column `value`) -> raw text fields; a line that is not a JSON object keeps `_corrupt_record`."""
    parsed = F.from_json("value", RAW_SCHEMA, {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT_RECORD})
    return lines.select(F.col("value").alias(RAW_RECORD), parsed.alias("r")).select(RAW_RECORD, "r.*")


def _try_cast(column: str, sql_type: str) -> Column:
    # try_cast is ANSI-safe: a bad value becomes null instead of failing the job or being truncated.
    return F.expr(f"try_cast(trim({column}) AS {sql_type})")


def with_typed_columns(raw: DataFrame) -> DataFrame:
    return raw.select(
        RAW_RECORD,
        CORRUPT_RECORD,
        F.trim("order_id").alias("order_id"),
        F.trim("customer_id").alias("customer_id"),
        _try_cast("order_ts", "TIMESTAMP").alias("order_ts"),
        F.upper(F.trim("status")).alias("status"),
        F.upper(F.trim("currency")).alias("currency"),
        _try_cast("quantity", "INT").alias("quantity"),
        _try_cast("unit_price", PRICE.simpleString()).alias("unit_price"),
        _try_cast("updated_at", "TIMESTAMP").alias("updated_at"),
    )


def with_rejection_reason(typed: DataFrame) -> DataFrame:
    """The first rule a record breaks, or null when it is valid."""
    def blank(column: str) -> Column:
        return F.col(column).isNull() | (F.col(column) == "")

    rules = [
        (F.col(CORRUPT_RECORD).isNotNull(), "malformed_json"),
        (blank("order_id"), "missing_order_id"),
        (blank("customer_id"), "missing_customer_id"),
        (F.col("order_ts").isNull(), "invalid_order_ts"),
        (F.col("updated_at").isNull(), "invalid_updated_at"),
        (F.col("quantity").isNull() | (F.col("quantity") <= 0), "invalid_quantity"),
        (F.col("unit_price").isNull() | (F.col("unit_price") < 0), "invalid_unit_price"),
        (~F.col("status").isin(*STATUSES) | F.col("status").isNull(), "invalid_status"),
        (~F.col("currency").isin(*CURRENCIES) | F.col("currency").isNull(), "invalid_currency"),
    ]
    reason = F.lit(None).cast("string")
    for condition, name in reversed(rules):
        reason = F.when(condition, F.lit(name)).otherwise(reason)
    return typed.withColumn(REJECTION_REASON, reason)


def latest_per_key(valid: DataFrame, key: str = "order_id") -> DataFrame:
    """Keep the most recently updated record per business key (ties broken on the full record, so reruns agree)."""
    order = Window.partitionBy(key).orderBy(F.col("updated_at").desc(), F.col(RAW_RECORD).desc())
    return valid.withColumn("_rank", F.row_number().over(order)).filter("_rank = 1").drop("_rank")


def with_derived_columns(orders: DataFrame) -> DataFrame:
    return (orders
            .withColumn("total_amount", (F.col("quantity") * F.col("unit_price")).cast(AMOUNT))
            .withColumn("order_date", F.to_date("order_ts")))


def validate(lines: DataFrame) -> DataFrame:
    return with_rejection_reason(with_typed_columns(parse_lines(lines)))


def curate(valid: DataFrame) -> DataFrame:
    return with_derived_columns(latest_per_key(valid)).select(*CURATED_SCHEMA.fieldNames())
