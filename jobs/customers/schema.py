"""The customers contract: what arrives (every field as text, jobs/common/json_lines.py) and what is curated."""

from pyspark.sql.types import BooleanType, DateType, StringType, StructField, StructType, TimestampType

RAW_FIELDS = ("customer_id", "email", "full_name", "country_code", "marketing_opt_in", "signup_date", "updated_at")
BUSINESS_KEY = ("customer_id",)
PARTITION_COLUMN = "signup_date"
# Deliberately loose: one @, no spaces, a dot in the domain; the mail system is the real check.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
COUNTRY_CODE_PATTERN = r"^[A-Z]{2}$"  # ISO 3166-1 alpha-2 shape
OPT_IN_VALUES = ("true", "false")

CURATED_SCHEMA = StructType([
    StructField("customer_id", StringType()),
    StructField("email", StringType()),
    StructField("email_domain", StringType()),
    StructField("full_name", StringType()),
    StructField("country_code", StringType()),
    StructField("marketing_opt_in", BooleanType()),
    StructField("updated_at", TimestampType()),
    StructField(PARTITION_COLUMN, DateType()),
])
