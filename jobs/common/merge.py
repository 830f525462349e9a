"""Which row of a business key a curated table keeps, whichever run or batch each row arrived in.

The rule, for each key: the row with the newest `updated_at` wins. Two *different* rows of a key with the same
newest `updated_at` are a conflict: counted and reported, and settled by the greater canonical content (the row as
JSON, columns in schema order, compared as text). The winner therefore depends neither on arrival order nor on how
rows were split into batches or runs, and a rerun of the same input changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

CONTENT = "_content"
ACTION = "_action"
INSERT, UPDATE, UNCHANGED = "insert", "update", "unchanged"


def content(columns: Sequence[str], prefix: str = "") -> Column:
    """A row's canonical content: what conflicts are detected and settled on (`prefix`: the columns' names in a
    join, the content naming them without it)."""
    return F.to_json(F.struct(*[F.col(f"{prefix}{c}").alias(c) for c in columns]))


def newest_per_key(rows: DataFrame, key: Sequence[str], updated_at: str) -> DataFrame:
    """One row per key: the newest, ties settled by content (the module's rule)."""
    order = Window.partitionBy(*key).orderBy(F.col(updated_at).desc(), content(rows.columns).desc())
    return rows.withColumn("_rank", F.row_number().over(order)).filter("_rank = 1").drop("_rank")


def conflicting_keys(rows: DataFrame, key: Sequence[str], updated_at: str) -> DataFrame:
    """The keys whose newest `updated_at` is shared by two or more different rows."""
    newest = rows.withColumn(CONTENT, content(rows.columns)).withColumn(
        "_newest", F.max(updated_at).over(Window.partitionBy(*key))).filter(F.col(updated_at) == F.col("_newest"))
    versions = newest.groupBy(*key).agg(F.count_distinct(CONTENT).alias("_versions"))
    return versions.filter("_versions > 1").select(*key)


@dataclass(frozen=True)
class MergeCounts:
    inserted: int
    updated: int
    unchanged: int
    # Keys with a tie of different rows, within the batch or between the batch and the table.
    conflicts: int

    def to_dict(self) -> dict[str, int]:
        return {"inserted": self.inserted, "updated": self.updated, "unchanged": self.unchanged}


@dataclass(frozen=True)
class MergePlan:
    # The batch's rows that change the table (the table's columns).
    changes: DataFrame
    counts: MergeCounts
    # The classified batch the changes and counts come from, kept until released.
    classified: DataFrame

    def release(self) -> None:
        self.classified.unpersist()


def plan(batch: DataFrame, batch_conflicts: DataFrame, table: DataFrame, key: Sequence[str],
         updated_at: str) -> MergePlan:
    """What merging `batch` (one row per key) into `table` changes, by the module's rule."""
    columns = batch.columns
    current = table.select(*[F.col(c).alias(f"_t_{c}") for c in columns]).withColumn("_t_content", content(
        columns, prefix="_t_"))
    ours, theirs = F.col(updated_at), F.col(f"_t_{updated_at}")
    joined = batch.withColumn(CONTENT, content(columns)).join(
        current, [F.col(k) == F.col(f"_t_{k}") for k in key], "left")
    tie = (ours == theirs) & (F.col(CONTENT) != F.col("_t_content"))
    # The batch's own conflicting keys (each one of its rows) marked on its rows: the counts below are then one pass.
    marked = batch_conflicts.select(*key).distinct().withColumn("_batch_tie", F.lit(True))
    classified = joined.join(marked, list(key), "left").withColumn(
        ACTION, F.when(theirs.isNull(), INSERT).when((ours > theirs) | (tie & (F.col(CONTENT) > F.col("_t_content"))),
                                                     UPDATE).otherwise(UNCHANGED)
    ).withColumn("_tie", tie).persist(StorageLevel.MEMORY_AND_DISK)
    conflict = F.col("_tie") | F.col("_batch_tie").isNotNull()
    counts = classified.agg(
        *[F.sum((F.col(ACTION) == action).cast("long")).alias(action) for action in (INSERT, UPDATE, UNCHANGED)],
        F.count_distinct(F.when(conflict, F.struct(*key))).alias("conflicts")).first()
    changes = classified.filter(F.col(ACTION) != UNCHANGED).select(*columns)
    return MergePlan(changes=changes, counts=MergeCounts(
        inserted=counts[INSERT] or 0, updated=counts[UPDATE] or 0, unchanged=counts[UNCHANGED] or 0,
        conflicts=counts["conflicts"]), classified=classified)
