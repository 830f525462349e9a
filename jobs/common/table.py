"""One curated Iceberg table as a run uses it: its snapshots, its branches, MERGE into a branch, publish.

A run never writes `main`: it writes a branch of its own, and publishing is a fast-forward of `main` to that
branch, which Iceberg refuses when another run published first (the run then merges again on the new `main`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from . import iceberg

MAIN = "main"
# A branch a killed run leaves behind is removed by snapshot expiry (the table's maintenance) after this long.
BRANCH_RETENTION_DAYS = 7


class MissingTable(LookupError):
    def __init__(self, name: str):
        super().__init__(f"curated table {name} does not exist: it is declared by the stack (components/), so deploy "
                         f"the stack, or check the job's --database and --table arguments")


class MainMoved(RuntimeError):
    """Another commit landed on the table meanwhile (a run's publish or branch, an optimizer's compaction): this run's
    merge must be made again on the new `main`."""


# How a commit refused for a concurrent one surfaces: fast_forward's own check, or the catalog's optimistic lock
# (a reference update made on metadata another commit replaced).
CONCURRENT_COMMIT = ("Cannot fast-forward", "CommitFailedException", "Table metadata refresh is required")


def concurrent_commit(error: Exception) -> bool:
    return any(sign in str(error) for sign in CONCURRENT_COMMIT)


@dataclass(frozen=True)
class CuratedTable:
    spark: SparkSession
    database: str
    table: str

    @property
    def name(self) -> str:
        return iceberg.table_name(self.database, self.table)

    @property
    def identifier(self) -> str:
        return f"{self.database}.{self.table}"

    def ensure(self, schema: StructType, partition_column: str, create: bool, alter: bool = True) -> None:
        """The table with its partitioning and properties; created only where `create` (local runs): in AWS the
        stack declares it, and a missing table is an error, never a table made with a run's guesses. Without
        `alter` (a health check) the table is only looked up: a check never changes the production table."""
        if not iceberg.table_exists(self.spark, self.database, self.table):
            if not create:
                raise MissingTable(f"{self.database}.{self.table}")
            columns = ", ".join(f"`{f.name}` {f.dataType.simpleString()}" for f in schema.fields)
            self.spark.sql(f"CREATE NAMESPACE IF NOT EXISTS `{iceberg.CATALOG}`.`{self.database}`")
            self.spark.sql(f"CREATE TABLE IF NOT EXISTS {self.name} ({columns}) USING iceberg "
                           f"PARTITIONED BY (`{partition_column}`)")
        if not alter:
            return
        # A table declared through the Glue API starts unpartitioned and without the properties a run relies on.
        properties = {row["key"]: row["value"] for row in self.spark.sql(f"SHOW TBLPROPERTIES {self.name}").collect()}
        missing = {k: v for k, v in iceberg.TABLE_PROPERTIES.items() if properties.get(k) != v}
        if missing:
            settings = ", ".join(f"'{k}' = '{v}'" for k, v in missing.items())
            self.spark.sql(f"ALTER TABLE {self.name} SET TBLPROPERTIES ({settings})")
        if partition_column not in self.partition_columns():
            self.spark.sql(f"ALTER TABLE {self.name} ADD PARTITION FIELD `{partition_column}`")

    def partition_columns(self) -> list[str]:
        """The identity partition columns, from DESCRIBE TABLE's section after its `# Partition Information` row."""
        names = [row["col_name"] or "" for row in self.spark.sql(f"DESCRIBE TABLE {self.name}").collect()]
        if "# Partition Information" not in names:
            return []
        section = names[names.index("# Partition Information") + 1:]
        return [name for name in section if name and not name.startswith("#")]

    def snapshot(self, ref: str = MAIN) -> int | None:
        """The snapshot a branch points at (None: the table has no snapshot on it yet)."""
        rows = self.spark.sql(f"SELECT snapshot_id FROM {self.name}.refs WHERE name = '{ref}'").collect()
        return rows[0]["snapshot_id"] if rows else None

    def read(self, snapshot: int | None) -> DataFrame:
        """The table as of a snapshot (empty, with its schema, before the first one)."""
        if snapshot is None:
            return self.spark.table(self.name).limit(0)
        return self.spark.sql(f"SELECT * FROM {self.name} VERSION AS OF {snapshot}")

    def create_branch(self, branch: str) -> int | None:
        """A branch at `main` (on an empty table, at a new empty snapshot); returns its snapshot. MainMoved when a
        concurrent commit refused it."""
        self.drop_branch(branch)
        self._commit(f"ALTER TABLE {self.name} CREATE BRANCH `{branch}` RETAIN {BRANCH_RETENTION_DAYS} DAYS")
        return self.snapshot(branch)

    def drop_branch(self, branch: str) -> None:
        self.spark.sql(f"ALTER TABLE {self.name} DROP BRANCH IF EXISTS `{branch}`")

    def merge_into(self, branch: str, changes: DataFrame, key: Sequence[str], view: str) -> None:
        """Upsert `changes` (rows of the table's columns, one per key) into the branch, in one commit."""
        changes.createOrReplaceTempView(view)
        on = " AND ".join(f"t.`{k}` = s.`{k}`" for k in key)
        try:
            self.spark.sql(f"MERGE INTO {self.name}.`branch_{branch}` t USING `{view}` s ON {on} "
                           "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *")
        finally:
            self.spark.catalog.dropTempView(view)

    def rows(self, ref: int | str | None = MAIN) -> int:
        """How many rows the table holds at a snapshot or branch (`main` by default)."""
        return self.count(ref, ())[0]

    def count(self, ref: int | str | None, key: Sequence[str]) -> tuple[int, int]:
        """(rows, distinct keys; 0 without a key) of the table at a snapshot or branch."""
        if ref is None or (ref == MAIN and self.snapshot() is None):
            return 0, 0
        version = f"'{ref}'" if isinstance(ref, str) else ref
        if not key:
            return self.spark.sql(f"SELECT count(*) AS n FROM {self.name} VERSION AS OF {version}").first()["n"], 0
        row = self.spark.sql(f"SELECT * FROM {self.name} VERSION AS OF {version}").agg(
            F.count(F.lit(1)).alias("rows"), F.count_distinct(*[F.col(k) for k in key]).alias("keys")).first()
        return row["rows"], row["keys"]

    def publish(self, branch: str) -> tuple[int | None, int]:
        """Fast-forward `main` to the branch (atomic): (main's snapshot before, after). MainMoved when `main` is no
        longer the branch's ancestor or a concurrent commit refused it."""
        (moved,) = self._commit(f"CALL `{iceberg.CATALOG}`.system.fast_forward(table => '{self.identifier}', "
                                f"branch => '{MAIN}', to => '{branch}')")
        return moved["previous_ref"], moved["updated_ref"]

    def _commit(self, sql: str) -> list:
        """Run one metadata commit; MainMoved when a concurrent commit refused it."""
        try:
            return self.spark.sql(sql).collect()
        except Exception as error:  # py4j or pyspark's own class, depending on how the JVM's exception surfaces
            if concurrent_commit(error):
                raise MainMoved(str(error).splitlines()[0]) from error
            raise
