"""A job's curated Spark schema as the Iceberg schema Glue's CreateTable (OpenTableFormatInput) takes.

Spark's TimestampType is an instant (with the session time zone), which Iceberg calls `timestamptz`; Iceberg's
`timestamp` is Spark's TimestampNTZType. A Spark type with no exact Iceberg match is refused, naming the column,
so the table the job writes into never silently differs from the job's contract.
"""

from __future__ import annotations

import json
from typing import Any

from pyspark.sql import types as T

ICEBERG_PRIMITIVES: dict[type, str] = {
    T.StringType: "string",
    T.BooleanType: "boolean",
    T.IntegerType: "int",
    T.LongType: "long",
    T.FloatType: "float",
    T.DoubleType: "double",
    T.DateType: "date",
    T.TimestampType: "timestamptz",
    T.TimestampNTZType: "timestamp",
    T.BinaryType: "binary",
}


class UnsupportedColumn(ValueError):
    pass


def iceberg_type(column: str, spark_type: T.DataType) -> str:
    if isinstance(spark_type, T.DecimalType):
        return f"decimal({spark_type.precision},{spark_type.scale})"
    primitive = ICEBERG_PRIMITIVES.get(type(spark_type))
    if primitive is None:
        raise UnsupportedColumn(f"column {column!r} has Spark type {spark_type.simpleString()}: a curated table "
                                f"column must be a decimal or one of "
                                f"{', '.join(t().simpleString() for t in ICEBERG_PRIMITIVES)}")
    return primitive


def iceberg_schema(schema: T.StructType) -> dict[str, Any]:
    """The schema block of `iceberg_table_input`: field ids from 1 in column order, each type a JSON document
    (the API's IcebergStructField.Type), required where Spark says the column is not nullable."""
    return {
        "schema_id": 0,
        "type": "struct",
        "fields": [{"id": field_id, "name": field.name, "type": json.dumps(iceberg_type(field.name, field.dataType)),
                    "required": not field.nullable}
                   for field_id, field in enumerate(schema.fields, start=1)],
    }
