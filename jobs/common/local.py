"""Run a job on a plain local SparkSession: the demo, the tests and the benchmark use this entrypoint.

    python -m jobs.common.local orders                      # the job's sample data, report printed
    python -m jobs.common.local orders --source in.jsonl --target out/warehouse --health-check

`--target` is a local Iceberg warehouse: the job's table is `<target>/local/<job>`, and successive runs into the
same warehouse merge into it, as runs in AWS do into the stack's table. Each run's quarantine and quality result
go to `<target>/_runs/<job>/`.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from pathlib import Path

from py4j.java_gateway import java_import
from pyspark.sql import SparkSession

from . import iceberg
from .catalog import UnknownJob, load_job
from .definition import JobDefinition
from .json_lines import MALFORMED_JSON
from .outputs import OutputPaths
from .quality import QualityReport
from .runner import PublishConflict, QualityCheckFailed, RunOptions, run
from .table import CuratedTable, MissingTable

DEFAULT_WAREHOUSE = Path("out") / "warehouse"
# Log4j 2 configuration that keeps Spark quiet from the JVM's start (errors only): no start-up warnings about
# the host name, native Hadoop libraries or the default log level.
QUIET_LOGGING = Path(__file__).resolve().parent / "log4j2-quiet.properties"
# Java's class-data archive of the local driver JVM (Spark's and Iceberg's classes already parsed and verified),
# which `make demo`, `make test` and `make bench` record first (jobs/common/class_archive.py): a JVM mapping it starts
# and runs its first job about a third faster. It fits this checkout's JDK and Spark class path; a JVM that cannot map
# it starts as it would without it.
CLASS_ARCHIVE = Path(__file__).resolve().parents[2] / ".build" / "jvm" / "spark-driver.jsa"
# JDK 17 crashes (SIGSEGV) taking a class from the archive in a JVM with a class-file load hook (a Java agent or a
# flight recording, both tried here): a driver started with one, through the variables Spark's launcher and Java
# read, does without the archive.
CLASS_FILE_HOOKS = ("-javaagent", "-agentlib", "-agentpath", "StartFlightRecording")
JVM_OPTION_VARIABLES = ("SPARK_SUBMIT_OPTS", "JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS")
# Java's notes about the archive (one per class it leaves out while recording, one when it cannot map it) would go
# to the JVM's stdout, which is the CLI's.
NO_ARCHIVE_NOTES = "-Xlog:cds=off,cds+dynamic=off"
# The JVM classes PySpark looks up by their simple name as it builds a query (each column function, each Column
# operator, the active session). Py4J tries such a name against PySpark's package imports in turn, and each miss
# searches every jar on the driver's class path; imported by full name, it is found at once. About 4 % of a local
# run's CPU here.
DIRECTLY_RESOLVED_CLASSES = ("org.apache.spark.sql.functions", "org.apache.spark.api.python.PythonUtils",
                             "org.apache.spark.sql.SparkSession", "org.apache.spark.sql.SparkSession$")
# Share of lines that are not JSON objects above which the input is probably not JSON lines at all.
MOSTLY_MALFORMED = 0.9


def local_session(app_name: str = "data-pipeline-local", cores: int = 2, warehouse: Path = DEFAULT_WAREHOUSE,
                  record_classes_to: Path | None = None) -> SparkSession:
    """A local session sized for a laptop or CI (few shuffle partitions, no UI, no start-up chatter), with the
    curated Iceberg catalog in `warehouse`. The driver JVM's options apply when this process starts it."""
    builder = SparkSession.builder.master(f"local[{cores}]").appName(app_name)
    for key, value in iceberg.local_settings(warehouse).items():
        builder = builder.config(key, value)
    spark = (builder
             .config("spark.sql.shuffle.partitions", str(cores * 2))
             .config("spark.default.parallelism", str(cores * 2))
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.driver.memory", "2g")
             .config("spark.driver.extraJavaOptions", driver_java_options(record_classes_to))
             .getOrCreate())
    for name in DIRECTLY_RESOLVED_CLASSES:
        java_import(spark.sparkContext._jvm, name)
    return spark


def driver_java_options(record_classes_to: Path | None = None) -> str:
    """Quiet logging, and the class archive: mapped once `make` recorded it, or recorded at the JVM's exit."""
    options = [f"-Dlog4j2.configurationFile={QUIET_LOGGING.as_uri()}", NO_ARCHIVE_NOTES]
    if record_classes_to:
        options.append(f"-XX:ArchiveClassesAtExit={record_classes_to}")
    elif CLASS_ARCHIVE.is_file() and not class_file_hooked():
        options.append(f"-XX:SharedArchiveFile={CLASS_ARCHIVE}")
    return " ".join(options)


def class_file_hooked() -> bool:
    return any(hook in os.environ.get(name, "") for name in JVM_OPTION_VARIABLES for hook in CLASS_FILE_HOOKS)


def source_problem(source: Path) -> str | None:
    """Why a source cannot be run (missing, or a folder with no file), checked before Spark starts. Empty files are
    an input with no new line: the run succeeds and says so."""
    if not source.exists():
        return f"source {source} does not exist"
    if source.is_dir() and not any(p.is_file() and not p.name.startswith((".", "_")) for p in source.rglob("*")):
        return f"source {source} holds no files"
    return None


def run_local(spark: SparkSession, job: JobDefinition, options: RunOptions) -> QualityReport:
    problem = source_problem(Path(options.source_path))
    if problem:
        raise FileNotFoundError(problem)
    # A folder is read as the job reads an S3 prefix: its whole tree (a plain folder read takes one level only).
    lines = spark.read.option("recursiveFileLookup", "true").text(options.source_path)
    return run(spark, job, lines, options)


def run_options(job: JobDefinition, source: str, warehouse: Path, run_id: str, health_check: bool) -> RunOptions:
    """A local run into the job's table in `warehouse` (made on first use)."""
    return RunOptions(source_path=source, target_path=str(warehouse.resolve() / "_runs" / job.name), run_id=run_id,
                      database=iceberg.LOCAL_DATABASE, table=job.name, health_check=health_check, create_table=True)


def format_report(report: QualityReport, paths: OutputPaths | None = None, partition_column: str = "",
                  table_rows: int | None = None) -> str:
    lines = [f"Data-quality report: job {report.job}, run {report.run_id}",
             f"  input lines: {report.input_rows} = curated {report.curated_rows} + quarantined "
             f"{report.quarantined_rows} + superseded {report.superseded_rows} (older lines of a key)",
             f"  {'check':<28} {'result':<6} {'observed':>10}  expected"]
    for check in report.checks:
        lines.append(f"  {check.name:<28} {'PASS' if check.passed else 'FAIL':<6} {check.observed!s:>10}  "
                     f"{check.expected}{'  (' + check.detail + ')' if check.detail else ''}")
    if report.quarantine_reasons:
        lines.append("  quarantined by reason:")
        lines.extend(f"    {reason:<26} {count}" for reason, count in report.quarantine_reasons.items())
    if report.merge:
        lines.append(f"  merge: {report.merge['inserted']} inserted, {report.merge['updated']} updated, "
                     f"{report.merge['unchanged']} unchanged (an older or identical row)")
    lines.append(f"  overall: {'PASSED' if report.passed else 'FAILED'}")
    lines.extend(f"  note: {note}" for note in input_notes(report))
    if paths:
        lines += ["  output:", f"    curated table   {publication(report, partition_column)}",
                  f"    quarantine      {paths.quarantine}", f"    quality result  {paths.quality_result}"]
    if table_rows is not None:
        lines.append(f"table rows: {table_rows}")
    return "\n".join(lines)


def publication(report: QualityReport, partition_column: str) -> str:
    """What the run did to its table, in one line."""
    table = report.table
    if table.get("published") and table["snapshot_after"] == table["snapshot_before"]:
        return f"{table['identifier']}: nothing newer in the batch, still at snapshot {table['snapshot_after']}"
    if table.get("published"):
        return (f"{table['identifier']} (partitioned by {partition_column}): published snapshot "
                f"{table['snapshot_after']} (was {table['snapshot_before']})")
    why = ("the input has no lines" if report.no_new_input else "a health check never publishes"
           if str(table.get("branch", "")).startswith("check_") else "a check failed")
    return f"{table.get('identifier')}: not published ({why}), still at snapshot {table.get('snapshot_before')}"


def input_notes(report: QualityReport) -> list[str]:
    """What an input's counts say about the input itself."""
    if not report.input_rows:
        return ["the input has no lines: nothing new to merge, and nothing is wrong"]
    notes = [f"{report.conflicts} key(s) had two different rows with the same newest updated_at: the greater row "
             f"(as JSON) was kept"] if report.conflicts else []
    malformed = report.quarantine_reasons.get(MALFORMED_JSON, 0)
    if malformed >= MOSTLY_MALFORMED * report.input_rows:
        notes.append(f"{malformed} of {report.input_rows} lines are not JSON objects ({MALFORMED_JSON}): is the "
                     f"source JSON lines, one object per line?")
    return notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a Glue job's transforms locally on Spark.")
    parser.add_argument("job", help="job folder under jobs/, e.g. orders")
    parser.add_argument("--source", help="JSON-lines file, or folder read with its sub-folders (default: the job's "
                                          "sample data)")
    parser.add_argument("--target", help=f"local Iceberg warehouse of the job's table (default: {DEFAULT_WAREHOUSE})")
    parser.add_argument("--run-id", default=None, help="run id used in output paths (default: random)")
    parser.add_argument("--health-check", action="store_true",
                        help="audit on a throw-away branch and never publish, as the stack's health checks do")
    args = parser.parse_args(argv)
    try:
        job = load_job(args.job)
    except UnknownJob as error:
        raise SystemExit(str(error)) from None
    warehouse = Path(args.target or DEFAULT_WAREHOUSE)
    options = run_options(job, args.source or job.sample_path, warehouse, args.run_id or uuid.uuid4().hex[:12],
                          args.health_check)
    problem = source_problem(Path(options.source_path))
    if problem:  # before Spark takes its seconds to start
        print(f"error: {problem}", file=sys.stderr)
        return 2
    spark = local_session(warehouse=warehouse)
    spark.sparkContext.setLogLevel("ERROR")
    paths = OutputPaths.of(options.target_path, options.run_id)
    table = CuratedTable(spark, options.database, options.table)
    try:
        report = run_local(spark, job, options)
    except QualityCheckFailed as failure:
        print(format_report(failure.report, paths, job.partition_column, table.rows()))
        print(f"\nFAILED: {failure}", file=sys.stderr)
        return 1
    except (PublishConflict, MissingTable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(format_report(report, paths, job.partition_column, table.rows()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
