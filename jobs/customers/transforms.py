"""Pure transforms of the customers job (DataFrame -> DataFrame): its typed columns, rules and derived columns,
which job.py composes with the shared JSON-lines steps (jobs/common/json_lines.py)."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.common import json_lines
from jobs.common.json_lines import blank, try_cast

from .schema import COUNTRY_CODE_PATTERN, EMAIL_PATTERN, OPT_IN_VALUES


def with_typed_columns(raw: DataFrame) -> DataFrame:
    opt_in = F.lower(F.trim("marketing_opt_in"))
    return json_lines.typed(
        raw,
        F.trim("customer_id").alias("customer_id"),
        F.lower(F.trim("email")).alias("email"),
        # A blank name is an unknown name.
        F.when(blank("full_name"), None).otherwise(F.trim("full_name")).alias("full_name"),
        F.upper(F.trim("country_code")).alias("country_code"),
        F.when(opt_in.isin(*OPT_IN_VALUES), opt_in == "true").alias("marketing_opt_in"),
        try_cast("signup_date", "DATE").alias("signup_date"),
        try_cast("updated_at", "TIMESTAMP").alias("updated_at"),
    )


def rejection_rules() -> list[json_lines.Rule]:
    """What makes a customer record unusable, in the order it is checked (after malformed JSON)."""
    return [
        (blank("customer_id"), "missing_customer_id"),
        (F.col("email").isNull() | ~F.col("email").rlike(EMAIL_PATTERN), "invalid_email"),
        (F.col("country_code").isNull() | ~F.col("country_code").rlike(COUNTRY_CODE_PATTERN),
         "invalid_country_code"),
        (F.col("marketing_opt_in").isNull(), "invalid_marketing_opt_in"),
        (F.col("signup_date").isNull(), "invalid_signup_date"),
        (F.col("updated_at").isNull(), "invalid_updated_at"),
        (F.col("signup_date") > F.to_date("updated_at"), "signup_after_update"),
    ]


def with_derived_columns(customers: DataFrame) -> DataFrame:
    return customers.withColumn("email_domain", F.substring_index("email", "@", -1))
