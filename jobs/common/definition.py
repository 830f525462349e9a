"""What a job declares so the shared runner can run it, and how its two steps compose.

A job has two pure steps: `validate` turns raw text lines into one typed row per line, with the reason it
is rejected (or null), and `derive` turns each valid row into a curated row. The shared part then keeps the
newest row per business key (jobs/common/merge.py's rule). The runner keeps the validated frame between the
steps, so each line is parsed once however many outputs read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from .merge import conflicting_keys, newest_per_key

RAW_RECORD = "raw_record"
REJECTION_REASON = "rejection_reason"


@dataclass(frozen=True)
class TransformResult:
    # One row per business key.
    curated: DataFrame
    quarantine: DataFrame
    # The keys where two different rows share the newest `updated_at` (jobs/common/merge.py).
    conflicts: DataFrame


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
    # Valid rows -> one curated row each (derived columns, in `curated_schema` order).
    derive: Callable[[DataFrame], DataFrame]
    curated_schema: StructType
    business_key: tuple[str, ...]
    # When a row was last changed at its source: the newest row of a key wins, in a batch and across runs.
    updated_at: str
    partition_column: str
    quality: QualityRules
    sample_path: str


def curate(job: JobDefinition, valid: DataFrame) -> DataFrame:
    """The newest curated row per business key."""
    return newest_per_key(job.derive(valid), job.business_key, job.updated_at)


def split(job: JobDefinition, validated: DataFrame) -> TransformResult:
    """Curated rows from the valid lines; the others quarantined with their raw text, key and reason."""
    rejected = F.col(REJECTION_REASON).isNotNull()
    derived = job.derive(validated.filter(~rejected))
    return TransformResult(
        curated=newest_per_key(derived, job.business_key, job.updated_at),
        quarantine=validated.filter(rejected).select(RAW_RECORD, *job.business_key, REJECTION_REASON),
        conflicts=conflicting_keys(derived, job.business_key, job.updated_at),
    )


def transform(job: JobDefinition, lines: DataFrame) -> TransformResult:
    """Both steps as one pure function (the runner does the same, keeping the validated frame in between)."""
    return split(job, job.validate(lines))
