"""Runs one job over one input: transform, audit, publish. Shared by the Glue and the local entrypoints.

Write-audit-publish: quality is checked before curated data is published, so a failing run leaves the
curated table untouched; its quarantine and its quality result are always written.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from .definition import JobDefinition, split
from .quality import QualityReport, evaluate

SESSION_SETTINGS = {
    # Dates are derived from timestamps: the same instant must give the same day everywhere.
    "spark.sql.session.timeZone": "UTC",
    # A rerun replaces only the partitions it writes.
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
}


class QualityCheckFailed(RuntimeError):
    def __init__(self, report: QualityReport):
        self.report = report
        failed = ", ".join(f"{c.name} (observed {c.observed}, expected {c.expected})" for c in report.failures)
        super().__init__(f"data-quality checks failed for job {report.job} run {report.run_id}: {failed}")


@dataclass(frozen=True)
class RunOptions:
    source_path: str
    target_path: str
    run_id: str
    # Health-check runs fail the job when a check fails; normal runs leave that to the pipeline's gate.
    health_check: bool = False
    database: str | None = None
    table: str | None = None


@dataclass(frozen=True)
class OutputPaths:
    data: str
    quarantine: str
    quality_result: str

    @classmethod
    def of(cls, target: str, run_id: str) -> OutputPaths:
        base = target.rstrip("/")
        return cls(data=f"{base}/data", quarantine=f"{base}/quarantine/run_id={run_id}",
                   quality_result=f"{base}/_dq/run_id={run_id}/result.json")


def configure(spark: SparkSession) -> None:
    for key, value in SESSION_SETTINGS.items():
        spark.conf.set(key, value)


def write_text(spark: SparkSession, path: str, text: str) -> None:
    """Write one small object through Hadoop's file system, so the same call works on s3:// and locally."""
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    fs = hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    stream = fs.create(hadoop_path, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()


def register_table(spark: SparkSession, database: str, table: str, location: str, schema: StructType,
                   partition_column: str) -> None:
    """Declare the table with the job's own schema (so catalog readers such as Athena see it), then add partitions."""
    columns = ", ".join(f"`{f.name}` {f.dataType.simpleString()}" for f in schema.fields)
    spark.sql(f"CREATE TABLE IF NOT EXISTS `{database}`.`{table}` ({columns}) USING PARQUET "
              f"PARTITIONED BY (`{partition_column}`) LOCATION '{location}'")
    spark.sql(f"MSCK REPAIR TABLE `{database}`.`{table}`")


def run(spark: SparkSession, job: JobDefinition, lines: DataFrame, options: RunOptions) -> QualityReport:
    configure(spark)
    # Kept once: every output reads it, and without it Spark would parse each line again per output
    # (and per CASE branch of the rejection rules, which the optimizer inlines into the filters).
    validated = job.validate(lines).persist(StorageLevel.MEMORY_AND_DISK)
    result = split(job, validated)
    curated = result.curated.persist(StorageLevel.MEMORY_AND_DISK)
    quarantine = result.quarantine
    paths = OutputPaths.of(options.target_path, options.run_id)
    try:
        report = evaluate(job.name, options.run_id, validated.count(), curated, quarantine, job.curated_schema,
                          job.business_key, job.quality)
        quarantine.write.mode("overwrite").json(paths.quarantine)
        if report.passed:
            curated.write.mode("overwrite").partitionBy(job.partition_column).parquet(paths.data)
            # A health check's output is a throw-away copy: it must not become (or move) the catalog table.
            if options.database and not options.health_check:
                register_table(spark, options.database, options.table or job.name, paths.data,
                               job.curated_schema, job.partition_column)
        write_text(spark, paths.quality_result, report.to_json())
    finally:
        curated.unpersist()
        validated.unpersist()
    if options.health_check and not report.passed:
        raise QualityCheckFailed(report)
    return report
