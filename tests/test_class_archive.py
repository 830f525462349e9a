"""The local Spark driver's class-data archive (jobs/common/local.py: CLASS_ARCHIVE, recorded by `make test`
through jobs/common/class_archive.py): local JVMs map it, and one that cannot map it says nothing on the CLI's
output."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from jobs.common import local

pytestmark = pytest.mark.tier("spark")


@pytest.mark.tier("unit")
def test_the_driver_maps_the_archive_once_recorded_and_records_one_when_asked(tmp_path, monkeypatch):
    archive = tmp_path / "spark-driver.jsa"
    monkeypatch.setattr(local, "CLASS_ARCHIVE", archive)
    plain = local.driver_java_options().split()
    assert not any(option.startswith("-XX:SharedArchiveFile") for option in plain)
    archive.write_bytes(b"recorded")
    mapped = local.driver_java_options().split()
    assert mapped == [*plain, f"-XX:SharedArchiveFile={archive}"]
    recording = local.driver_java_options(record_classes_to=tmp_path / "new.jsa").split()
    assert recording == [*plain, f"-XX:ArchiveClassesAtExit={tmp_path / 'new.jsa'}"]
    assert plain == [f"-Dlog4j2.configurationFile={local.QUIET_LOGGING.as_uri()}", local.NO_ARCHIVE_NOTES]


def java(spark, *arguments: str) -> subprocess.CompletedProcess:
    """The test session's driver's own `java`, with `arguments`."""
    home = spark.sparkContext._jvm.System.getProperty("java.home")
    return subprocess.run([str(Path(home) / "bin" / "java"), *arguments], capture_output=True, text=True, timeout=60)


def test_the_test_sessions_driver_maps_the_recorded_archive_and_a_jvm_that_cannot_says_nothing(spark):
    jvm = spark.sparkContext._jvm
    arguments = list(jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
    assert f"-XX:SharedArchiveFile={local.CLASS_ARCHIVE}" in arguments, "no class archive: `make test` records it first"
    # -Xshare:on turns an archive the JVM cannot map into an error, where the driver would quietly do without it.
    class_path = jvm.System.getProperty("java.class.path")
    mapped = java(spark, "-Xshare:on", f"-XX:SharedArchiveFile={local.CLASS_ARCHIVE}", "-cp", class_path, "-version")
    assert mapped.returncode == 0, mapped.stdout + mapped.stderr
    # On another class path the archive does not fit: the JVM runs without it, and its note would be on stdout.
    elsewhere = java(spark, *local.driver_java_options().split(), "-version")
    assert elsewhere.returncode == 0 and elsewhere.stdout == "", elsewhere.stdout
    noted = java(spark, f"-XX:SharedArchiveFile={local.CLASS_ARCHIVE}", "-version")
    assert "Unable to use shared archive" in noted.stdout, "the JVM no longer notes an archive it cannot map"
