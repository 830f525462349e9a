"""The curated tables' format: Apache Iceberg, reached through one Spark catalog named `curated`.

In Glue it is the Glue Data Catalog (Glue 5.0's native Iceberg, `--datalake-formats iceberg`); locally a
hadoop catalog in a folder. Everything else (branches, MERGE, fast-forward) is the same code in both.
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import SparkSession

# What Glue 5.0 ships (Spark 3.5.4, Scala 2.12, Iceberg 1.7.1): local runs use the same runtime.
ICEBERG_VERSION = "1.7.1"
RUNTIME_ARTIFACT = f"org.apache.iceberg:iceberg-spark-runtime-3.5_2.12:{ICEBERG_VERSION}"
# Where `make setup` puts the runtime jar (fetched from Maven Central with mvn).
RUNTIME_JAR = (Path(__file__).resolve().parents[2] / ".build" / "jars"
               / f"iceberg-spark-runtime-3.5_2.12-{ICEBERG_VERSION}.jar")
CATALOG = "curated"
# The namespace local runs use in their warehouse (in AWS it is the stack's Glue database).
LOCAL_DATABASE = "local"
# Table properties every curated table has: format v2 (row-level deletes, which MERGE needs), branch writes, and
# Iceberg's row-based Parquet reader: its vectorized (Arrow) reader crashed the JVM with SIGSEGV in
# VectorizedDictionaryEncodedParquetValuesReader on a 1 M-row table here (`make bench --only merge`), as reported
# by others for Iceberg's shaded Arrow reader.
TABLE_PROPERTIES = {"format-version": "2", "write.wap.enabled": "true", "read.parquet.vectorization.enabled": "false"}
EXTENSIONS = {"spark.sql.extensions": "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"}


class MissingRuntime(RuntimeError):
    def __init__(self, jar: Path):
        super().__init__(f"the Iceberg Spark runtime {jar.name} is not at {jar.parent}: run `make setup`, which "
                         f"fetches {RUNTIME_ARTIFACT} from Maven Central")


def _catalog(**properties: str) -> dict[str, str]:
    # No table cache: a run reads `main` afresh before each attempt, never a copy another run's publish made stale.
    properties = {"cache-enabled": "false", **properties}
    return {f"spark.sql.catalog.{CATALOG}": "org.apache.iceberg.spark.SparkCatalog",
            **{f"spark.sql.catalog.{CATALOG}.{key}": value for key, value in properties.items()}}


def glue_settings(warehouse: str, kms_key_arn: str) -> dict[str, str]:
    """Spark settings for the Glue Data Catalog; S3FileIO writes every object under the stack key."""
    return {**EXTENSIONS, **_catalog(**{
        "catalog-impl": "org.apache.iceberg.aws.glue.GlueCatalog",
        "io-impl": "org.apache.iceberg.aws.s3.S3FileIO",
        "warehouse": warehouse,
        "s3.sse.type": "kms",
        "s3.sse.key": kms_key_arn,
        # A Content-MD5 on every upload: S3 refuses uploads without one into buckets with an Object Lock default
        # retention (prod's data buckets).
        "s3.checksum-enabled": "true",
    })}


def local_settings(warehouse: Path, jar: Path = RUNTIME_JAR) -> dict[str, str]:
    """Spark settings for a hadoop catalog in a local folder, with the runtime jar `make setup` fetched."""
    if not jar.is_file():
        raise MissingRuntime(jar)
    return {"spark.jars": str(jar), **EXTENSIONS,
            **_catalog(type="hadoop", warehouse=warehouse.resolve().as_uri())}


def table_name(database: str, table: str) -> str:
    """The table as Spark SQL names it, through the curated catalog."""
    return f"`{CATALOG}`.`{database}`.`{table}`"


def table_exists(spark: SparkSession, database: str, table: str) -> bool:
    return spark.catalog.tableExists(f"{CATALOG}.{database}.{table}")
