"""Runs one job over one input: transform, merge into a branch, audit the branch, publish. Shared by the Glue and
the local entrypoints.

Write-audit-publish on the table itself (jobs/common/table.py): the batch is merged by business key into a branch
of the curated table, the checks read that branch, and only a passing run fast-forwards `main` to it. A failing
run leaves `main` as it was, writes its quarantine and quality result, and raises QualityCheckFailed, so its
caller does not mark the input consumed. A health-check run does everything but publish. The branch is always
dropped. An input with no line is a success that says so.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession

from . import merge
from .definition import REJECTION_REASON, JobDefinition, split
from .outputs import OutputPaths
from .quality import QualityReport, check_table_rows, check_table_unique_key, evaluate
from .table import CuratedTable, MainMoved

SESSION_SETTINGS = {
    # Dates are derived from timestamps: the same instant must give the same day everywhere.
    "spark.sql.session.timeZone": "UTC",
}
LOG = logging.getLogger(__name__)
# How many times a run merges again on a `main` another run moved, before it fails (and its input stays unread).
PUBLISH_ATTEMPTS = 3


class QualityCheckFailed(RuntimeError):
    def __init__(self, report: QualityReport):
        self.report = report
        failed = ", ".join(f"{c.name} (observed {c.observed}, expected {c.expected})" for c in report.failures)
        super().__init__(f"data-quality checks failed for job {report.job} run {report.run_id}: {failed}")


class PublishConflict(RuntimeError):
    def __init__(self, table: str, run_id: str):
        super().__init__(f"run {run_id} could not publish to {table}: other runs published first {PUBLISH_ATTEMPTS} "
                         f"times in a row; nothing was published and the input stays unread for the next run")


@dataclass(frozen=True)
class RunOptions:
    source_path: str
    # Where the run's quarantine and quality result go.
    target_path: str
    run_id: str
    database: str
    table: str
    # A health check audits the batch on a throw-away branch and never publishes.
    health_check: bool = False
    # Local runs make their table; in AWS the stack declares it and a missing one is an error.
    create_table: bool = False

    @property
    def branch(self) -> str:
        return f"{'check' if self.health_check else 'audit'}_{re.sub(r'[^0-9A-Za-z_]', '_', self.run_id)}"


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


def run(spark: SparkSession, job: JobDefinition, lines: DataFrame, options: RunOptions) -> QualityReport:
    """The run's report; raises QualityCheckFailed (after writing its outputs) when the audit failed."""
    configure(spark)
    table = CuratedTable(spark, options.database, options.table)
    table.ensure(job.curated_schema, job.partition_column, create=options.create_table, alter=not options.health_check)
    # Kept once: every output reads it, and without it Spark would parse each line again per output
    # (and per CASE branch of the rejection rules, which the optimizer inlines into the filters).
    validated = job.validate(lines).persist(StorageLevel.MEMORY_AND_DISK)
    result = split(job, validated)
    curated = result.curated.persist(StorageLevel.MEMORY_AND_DISK)
    paths = OutputPaths.of(options.target_path, options.run_id)
    try:
        # The input's lines and the quarantine's reasons, in one pass (a valid line has no reason).
        lines_by_reason = {row[REJECTION_REASON]: row["count"]
                           for row in validated.groupBy(REJECTION_REASON).count().collect()}
        input_rows = sum(lines_by_reason.values())
        reasons = {reason: n for reason, n in lines_by_reason.items() if reason is not None}
        table_state = {"identifier": table.identifier, "branch": options.branch, "snapshot_before": table.snapshot(),
                       "snapshot_after": None, "published": False}
        if not input_rows:
            report = QualityReport(job=job.name, run_id=options.run_id, input_rows=0, curated_rows=0,
                                   quarantined_rows=0, checks=(), no_new_input=True, table=table_state)
        else:
            report = replace(evaluate(job.name, options.run_id, input_rows, curated, reasons,
                                      job.curated_schema, job.business_key, job.quality), table=table_state)
            result.quarantine.write.mode("overwrite").json(paths.quarantine)
            if report.passed:
                report = merge_audit_publish(table, job, curated, result.conflicts, report, options)
        write_text(spark, paths.quality_result, report.to_json())
    finally:
        curated.unpersist()
        validated.unpersist()
    if not report.passed:
        raise QualityCheckFailed(report)
    return report


def merge_audit_publish(table: CuratedTable, job: JobDefinition, batch: DataFrame, conflicts: DataFrame,
                        report: QualityReport, options: RunOptions) -> QualityReport:
    """Merge the batch into the run's branch, audit the branch, and fast-forward `main` to it when it passes (and
    the run is not a health check); merged again on the new `main` when another run published first."""
    key = job.business_key
    try:
        for _ in range(PUBLISH_ATTEMPTS):
            before = table.snapshot()
            try:
                base = table.create_branch(options.branch)
            except MainMoved:
                continue
            plan = merge.plan(batch, conflicts, table.read(base), key, job.updated_at)
            try:
                if plan.counts.inserted or plan.counts.updated:
                    table.merge_into(options.branch, plan.changes, key, view=f"changes_{options.branch}")
            finally:
                plan.release()
            rows_before = table.rows(base)
            rows_after, keys_after = table.count(options.branch, key)
            audited = replace(
                report, conflicts=plan.counts.conflicts, merge=plan.counts.to_dict(),
                checks=(*report.checks, check_table_rows(rows_before, plan.counts.inserted, rows_after),
                        check_table_unique_key(rows_after, keys_after, key)),
                table={**report.table, "snapshot_before": before})
            if not audited.passed or options.health_check:
                return audited
            try:
                replaced, published = table.publish(options.branch)
            except MainMoved:
                continue
            # The snapshot the publish replaced is main as this run's rows found it, whatever landed meanwhile.
            return replace(audited, table={**audited.table, "snapshot_before": replaced, "snapshot_after": published,
                                           "published": True})
        raise PublishConflict(table.identifier, options.run_id)
    finally:
        drop_leftover(table, options.branch)


def drop_leftover(table: CuratedTable, branch: str) -> None:
    """Drop the run's branch, best effort: whether or not the run published, a failed drop must not turn its
    outcome into an error (the branch then expires with the table's snapshots: table.BRANCH_RETENTION_DAYS)."""
    try:
        table.drop_branch(branch)
    except Exception as error:  # noqa: BLE001 (any failure: the outcome stands either way)
        LOG.warning("branch %s of %s not dropped (%s); it expires with the table's snapshots", branch,
                    table.identifier, str(error).splitlines()[0])
