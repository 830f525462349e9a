"""The thin Glue side of every job: arguments, the Iceberg catalog, GlueContext, bookmarks, then the shared runner.

The bookmark is committed only after the run returned: a run whose audit failed raises, so its input is read
again by the next run.
"""

from __future__ import annotations

import sys

from . import iceberg
from .definition import JobDefinition
from .runner import RunOptions, run

ARGUMENTS = ["JOB_NAME", "JOB_RUN_ID", "source_path", "target_path", "database", "table", "health_check",
             "kms_key_arn"]


def main(job: JobDefinition) -> None:
    # awsglue exists only inside Glue; importing it here keeps the rest of the library testable locally.
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from awsglue.utils import getResolvedOptions
    from pyspark.conf import SparkConf
    from pyspark.context import SparkContext

    args = getResolvedOptions(sys.argv, ARGUMENTS)
    # The Iceberg extensions are read when the context starts, so they are set before it does.
    settings = iceberg.glue_settings(warehouse=args["target_path"], kms_key_arn=args["kms_key_arn"])
    glue_context = GlueContext(SparkContext.getOrCreate(SparkConf().setAll(list(settings.items()))))
    glue_job = Job(glue_context)
    glue_job.init(args["JOB_NAME"], args)
    # Read whole lines through a DynamicFrame so job bookmarks skip files already processed: a
    # separator and quote that never occur in JSON lines leave each line in one column, `col0`.
    frame = glue_context.create_dynamic_frame.from_options(
        connection_type="s3",
        connection_options={"paths": [args["source_path"]], "recurse": True},
        format="csv",
        format_options={"separator": "\u0001", "quoteChar": -1, "withHeader": False},
        transformation_ctx="source_lines",
    )
    spark = glue_context.spark_session
    lines = frame.toDF()
    # A DynamicFrame's schema comes from its records: with none new, it has no column. An empty RDD's frame has no
    # partition, so reading it starts no Python worker (an empty list's would).
    lines = lines.withColumnRenamed("col0", "value") if "col0" in lines.columns else spark.createDataFrame(
        spark.sparkContext.emptyRDD(), "value string")
    report = run(spark, job, lines, RunOptions(
        source_path=args["source_path"], target_path=args["target_path"], run_id=args["JOB_RUN_ID"],
        health_check=args["health_check"].lower() == "true", database=args["database"], table=args["table"],
    ))
    print(report.to_json())
    glue_job.commit()
