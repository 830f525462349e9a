"""Run a job on a plain local SparkSession: the demo, the tests and the benchmark use this entrypoint.

    python -m jobs.common.local orders                      # the job's sample data, report printed
    python -m jobs.common.local orders --source in.jsonl --target out/orders --health-check
"""

from __future__ import annotations

import argparse
import importlib
import sys
import uuid
from pathlib import Path

from pyspark.sql import SparkSession

from .definition import JobDefinition
from .quality import QualityReport
from .runner import QualityCheckFailed, RunOptions, run

DEFAULT_TARGET = Path("out")


def local_session(app_name: str = "data-pipeline-local", cores: int = 2) -> SparkSession:
    """A local session sized for a laptop or CI: few shuffle partitions, no UI."""
    return (SparkSession.builder.master(f"local[{cores}]").appName(app_name)
            .config("spark.sql.shuffle.partitions", str(cores * 2))
            .config("spark.default.parallelism", str(cores * 2))
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.driver.memory", "2g")
            .getOrCreate())


def load_job(name: str) -> JobDefinition:
    try:
        module = importlib.import_module(f"jobs.{name}.job")
    except ModuleNotFoundError as error:
        available = sorted(p.parent.name for p in Path(__file__).resolve().parents[1].glob("*/job.py"))
        raise SystemExit(f"unknown job {name!r}: available jobs are {', '.join(available)}") from error
    return module.JOB


def run_local(spark: SparkSession, job: JobDefinition, options: RunOptions) -> QualityReport:
    if not Path(options.source_path).exists():
        raise FileNotFoundError(f"source {options.source_path!r} does not exist")
    return run(spark, job, spark.read.text(options.source_path), options)


def format_report(report: QualityReport) -> str:
    lines = [f"Data-quality report: job {report.job}, run {report.run_id}",
             f"  input lines: {report.input_rows}   curated rows: {report.curated_rows}   "
             f"quarantined rows: {report.quarantined_rows}",
             f"  {'check':<28} {'result':<6} {'observed':>10}  expected"]
    for check in report.checks:
        lines.append(f"  {check.name:<28} {'PASS' if check.passed else 'FAIL':<6} {check.observed!s:>10}  "
                     f"{check.expected}{'  (' + check.detail + ')' if check.detail else ''}")
    if report.quarantine_reasons:
        lines.append("  quarantined by reason:")
        lines.extend(f"    {reason:<26} {count}" for reason, count in report.quarantine_reasons.items())
    lines.append(f"  overall: {'PASSED' if report.passed else 'FAILED'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a Glue job's transforms locally on Spark.")
    parser.add_argument("job", help="job folder under jobs/, e.g. orders")
    parser.add_argument("--source", help="JSON-lines file or folder (default: the job's sample data)")
    parser.add_argument("--target", help="output folder (default: out/<job>)")
    parser.add_argument("--run-id", default=None, help="run id used in output paths (default: random)")
    parser.add_argument("--health-check", action="store_true", help="exit non-zero when a check fails")
    args = parser.parse_args(argv)
    job = load_job(args.job)
    options = RunOptions(
        source_path=args.source or job.sample_path,
        target_path=str(Path(args.target or DEFAULT_TARGET / job.name).resolve()),
        run_id=args.run_id or uuid.uuid4().hex[:12],
        health_check=args.health_check,
    )
    spark = local_session()
    spark.sparkContext.setLogLevel("ERROR")
    try:
        report = run_local(spark, job, options)
    except QualityCheckFailed as failure:
        print(format_report(failure.report))
        print(f"\nFAILED: {failure}", file=sys.stderr)
        return 1
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_report(report))
    print(f"\noutput: {options.target_path}")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
