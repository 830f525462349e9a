"""The local Spark driver's class-data archive (jobs/common/local.py: CLASS_ARCHIVE, recorded by `make test`
through jobs/common/class_archive.py): local JVMs map it, and one that cannot map it says nothing on the CLI's
output."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from jobs.common import local

pytestmark = pytest.mark.tier("spark")


@pytest.fixture
def archive(tmp_path, monkeypatch) -> Path:
    """Where the archive would be, in a process whose JVMs have no Java agent or flight recording."""
    monkeypatch.setattr(local, "CLASS_ARCHIVE", tmp_path / "spark-driver.jsa")
    for name in local.JVM_OPTION_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return local.CLASS_ARCHIVE


@pytest.mark.tier("unit")
def test_the_driver_maps_the_archive_once_recorded_and_records_one_when_asked(archive, tmp_path):
    plain = local.driver_java_options().split()
    assert not any(option.startswith("-XX:SharedArchiveFile") for option in plain)
    archive.write_bytes(b"recorded")
    mapped = local.driver_java_options().split()
    assert mapped == [*plain, f"-XX:SharedArchiveFile={archive}"]
    recording = local.driver_java_options(record_classes_to=tmp_path / "new.jsa").split()
    assert recording == [*plain, f"-XX:ArchiveClassesAtExit={tmp_path / 'new.jsa'}"]
    assert plain == [f"-Dlog4j2.configurationFile={local.QUIET_LOGGING.as_uri()}", local.NO_ARCHIVE_NOTES]


@pytest.mark.tier("unit")
@pytest.mark.parametrize(("variable", "value"), [
    ("JAVA_TOOL_OPTIONS", "-javaagent:/opt/agent.jar"),
    ("SPARK_SUBMIT_OPTS", "-XX:+UseSerialGC -XX:StartFlightRecording=filename=run.jfr"),
    ("JDK_JAVA_OPTIONS", "-agentpath:/opt/libprofiler.so"),
])
def test_a_driver_with_a_java_agent_or_a_flight_recording_does_without_the_archive(archive, monkeypatch, variable,
                                                                                    value):
    """JDK 17 crashes such a JVM (SIGSEGV) as it takes a class from the archive."""
    archive.write_bytes(b"recorded")
    assert f"-XX:SharedArchiveFile={archive}" in local.driver_java_options().split()
    monkeypatch.setenv(variable, value)
    assert "SharedArchiveFile" not in local.driver_java_options()


def java(spark, *arguments: str) -> subprocess.CompletedProcess:
    """The test session's driver's own `java`, with `arguments`."""
    home = spark.sparkContext._jvm.System.getProperty("java.home")
    return subprocess.run([str(Path(home) / "bin" / "java"), *arguments], capture_output=True, text=True, timeout=60)


def test_the_test_sessions_driver_maps_the_recorded_archive_and_a_jvm_that_cannot_says_nothing(spark):
    if not local.CLASS_ARCHIVE.is_file():
        pytest.skip(f"no class archive at {local.CLASS_ARCHIVE}: `make test` records it before the tests")
    if local.class_file_hooked():
        pytest.skip("a Java agent or flight recording is set for this process's JVMs: they do without the archive")
    jvm = spark.sparkContext._jvm
    arguments = list(jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
    assert f"-XX:SharedArchiveFile={local.CLASS_ARCHIVE}" in arguments
    # The driver's own options and class path, with -Xshare:on: an archive the JVM cannot map is then an error,
    # where the driver quietly does without it.
    class_path = jvm.System.getProperty("java.class.path")
    mapped = java(spark, *arguments, "-Xshare:on", "-cp", class_path, "-version")
    assert mapped.returncode == 0, (f"{mapped.stdout}{mapped.stderr}\nthe archive does not fit this JDK or class "
                                    f"path: remove {local.CLASS_ARCHIVE.parent} and run `make test` to record it again")
    # On another class path the archive does not fit: the JVM runs without it, and its note would be on stdout.
    elsewhere = java(spark, *local.driver_java_options().split(), "-version")
    assert elsewhere.returncode == 0 and elsewhere.stdout == "", elsewhere.stdout
    noted = java(spark, f"-XX:SharedArchiveFile={local.CLASS_ARCHIVE}", "-version")
    assert "Unable to use shared archive" in noted.stdout, "the JVM no longer notes an archive it cannot map"
