"""What a job declares so the shared runner can run it, and how its two steps compose.

A job has two pure steps: `validate` turns raw text lines into one typed row per line, with the reason it
is rejected (or null), and `curate` turns the valid rows into the curated table. The runner keeps the
validated frame between them, so each line is parsed once however many outputs read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

RAW_RECORD = "raw_record"
REJECTION_REASON = "rejection_reason"


@dataclass(frozen=True)
class TransformResult:
    curated: DataFrame
    quarantine: DataFrame


@dataclass(frozen=True)
class QualityRules:
    min_rows: int
    # Columns that must never be null, and the highest null rate tolerated in any other column.
    required_columns: tuple[str, ...]
    max_null_rate: float
    max_quarantine_ratio: float


@dataclass(frozen=True)
class JobDefinition:
    name: str
    # Text lines (one column `value`) -> one row per line with `raw_record` and `rejection_reason`.
    validate: Callable[[DataFrame], DataFrame]
    # Valid rows -> curated rows (de-duplicated, derived columns, in `curated_schema` order).
    curate: Callable[[DataFrame], DataFrame]
    curated_schema: StructType
    business_key: tuple[str, ...]
    partition_column: str
    quality: QualityRules
    sample_path: str


def split(job: JobDefinition, validated: DataFrame) -> TransformResult:
    """Curated rows from the valid lines; the others quarantined with their raw text, key and reason."""
    rejected = F.col(REJECTION_REASON).isNotNull()
    return TransformResult(
        curated=job.curate(validated.filter(~rejected)),
        quarantine=validated.filter(rejected).select(RAW_RECORD, *job.business_key, REJECTION_REASON),
    )


def transform(job: JobDefinition, lines: DataFrame) -> TransformResult:
    """Both steps as one pure function (the runner does the same, keeping the validated frame in between)."""
    return split(job, job.validate(lines))
