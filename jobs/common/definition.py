"""What a job declares so the shared runner can run it: schema, transform, key and quality rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql.types import StructType


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
    # Pure function: raw text lines (one column `value`) -> curated rows and quarantined rows.
    transform: Callable[[DataFrame], TransformResult]
    curated_schema: StructType
    business_key: tuple[str, ...]
    partition_column: str
    quality: QualityRules
    sample_path: str
