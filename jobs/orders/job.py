"""The orders job as the shared runner sees it."""

from jobs.common import json_lines
from jobs.common.definition import QualityRules

from .sample_data import SAMPLE_PATH
from .schema import BUSINESS_KEY, CURATED_SCHEMA, PARTITION_COLUMN, RAW_FIELDS
from .transforms import rejection_rules, with_derived_columns, with_typed_columns

JOB = json_lines.job(
    "orders",
    raw_fields=RAW_FIELDS,
    typed_columns=with_typed_columns,
    rules=rejection_rules,
    derived_columns=with_derived_columns,
    curated_schema=CURATED_SCHEMA,
    business_key=BUSINESS_KEY,
    updated_at="updated_at",
    partition_column=PARTITION_COLUMN,
    quality=QualityRules(
        min_rows=1,
        required_columns=("order_id", "customer_id", "order_ts", "quantity", "unit_price", "order_date"),
        max_null_rate=0.01,
        max_quarantine_ratio=0.1,
    ),
    sample_path=str(SAMPLE_PATH),
)
