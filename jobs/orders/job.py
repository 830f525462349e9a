"""The orders job as the shared runner sees it."""

from jobs.common.definition import JobDefinition, QualityRules

from .sample_data import SAMPLE_PATH
from .schema import BUSINESS_KEY, CURATED_SCHEMA, PARTITION_COLUMN
from .transforms import curate, validate

JOB = JobDefinition(
    name="orders",
    validate=validate,
    curate=curate,
    curated_schema=CURATED_SCHEMA,
    business_key=BUSINESS_KEY,
    partition_column=PARTITION_COLUMN,
    quality=QualityRules(
        min_rows=1,
        required_columns=("order_id", "customer_id", "order_ts", "quantity", "unit_price", "order_date"),
        max_null_rate=0.01,
        max_quarantine_ratio=0.1,
    ),
    sample_path=str(SAMPLE_PATH),
)
