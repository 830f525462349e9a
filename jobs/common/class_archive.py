"""Records the local Spark driver's class-data archive (jobs/common/local.py: CLASS_ARCHIVE), as `make demo`,
`make test` and `make bench` do first:

    python -m jobs.common.class_archive

A run of the first job over its sample, in a JVM that writes every class it loaded into the archive as it exits
(Java's dynamic AppCDS). The archive is written under another name and renamed once complete: an interrupted
recording leaves no archive a JVM would try to map.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from .catalog import job_names, load_job
from .local import CLASS_ARCHIVE, local_session, run_local, run_options

# Seconds the JVM gets to write the archive once the run is over (about 5 here).
WRITE_TIMEOUT = 300


class RecordingFailed(RuntimeError):
    pass


def record(archive: Path = CLASS_ARCHIVE) -> Path:
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(archive.name + ".partial")
    partial.unlink(missing_ok=True)
    job = load_job(job_names()[0])
    with tempfile.TemporaryDirectory() as folder:
        spark = local_session("record-class-archive", warehouse=Path(folder), record_classes_to=partial)
        spark.sparkContext.setLogLevel("ERROR")
        run_local(spark, job, run_options(job, str(job.sample_path), Path(folder), "class-archive", health_check=False))
        jvm = spark.sparkContext._gateway.proc  # pyspark's handle on the driver JVM it started (no public one)
        spark.stop()
        jvm.stdin.close()  # Spark's gateway exits when its stdin closes, and the JVM writes the archive then
        status = jvm.wait(timeout=WRITE_TIMEOUT)
    if status != 0 or not partial.is_file():
        raise RecordingFailed(f"the driver JVM exited with status {status} and wrote no class archive at {partial}")
    partial.replace(archive)
    return archive


if __name__ == "__main__":
    try:
        print(f"class archive of the local Spark driver: {record()}")
    except RecordingFailed as error:
        sys.exit(f"error: {error}")
