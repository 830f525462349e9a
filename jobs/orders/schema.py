"""The orders contract: what arrives (all text, so nothing is lost to a bad type) and what is curated."""

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

CORRUPT_RECORD = "_corrupt_record"
RAW_FIELDS = ("order_id", "customer_id", "order_ts", "status", "currency", "quantity", "unit_price", "updated_at")
# Every field is read as text; casting happens in the transform, where a failure becomes a reason.
RAW_SCHEMA = StructType([StructField(name, StringType()) for name in RAW_FIELDS]
                        + [StructField(CORRUPT_RECORD, StringType())])

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
    StructField("order_date", DateType()),
])
