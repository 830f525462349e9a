"""The orders contract: what arrives (every field as text, jobs/common/json_lines.py) and what is curated."""

from pyspark.sql.types import (
    DateType,
    DecimalType,
    IntegerType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from .domain import CURRENCIES, STATUSES  # noqa: F401  (part of the contract)

RAW_FIELDS = ("order_id", "customer_id", "order_ts", "status", "currency", "quantity", "unit_price", "updated_at")
BUSINESS_KEY = ("order_id",)
PARTITION_COLUMN = "order_date"

PRICE = DecimalType(12, 2)
AMOUNT = DecimalType(14, 2)

CURATED_SCHEMA = StructType([
    StructField("order_id", StringType()),
    StructField("customer_id", StringType()),
    StructField("order_ts", TimestampType()),
    StructField("status", StringType()),
    StructField("currency", StringType()),
    StructField("quantity", IntegerType()),
    StructField("unit_price", PRICE),
    StructField("total_amount", AMOUNT),
    StructField("updated_at", TimestampType()),
    StructField(PARTITION_COLUMN, DateType()),
])
