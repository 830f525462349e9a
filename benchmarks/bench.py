"""Prints the project's performance figures (not a test: nothing here passes or fails).

    python benchmarks/bench.py                 # everything
    python benchmarks/bench.py --only program  # program | tests | job | merge | loop | fast | release

- program: evaluation time of the Pulumi program under mocks, per shipped stack and with 1/10/50 jobs;
- tests: wall time of the test suite by layer (pytest markers);
- job: the orders job on local Spark (2 cores) over 100 k and 1 M generated rows, each into an empty table;
- merge: a batch of 100 k orders (half updates, half new) merged into a 1 M-row Iceberg table, audit included;
- loop: the PR loop's own overhead (everything but AWS's time) against moto server;
- fast: the fast PR check's own overhead (path choice from git, building and uploading the PR's code, starting
  and following each job's Glue run, checking its output) against moto server, Glue's run instant;
- release: `python -m automation release rollback` end to end (a whole process) and the release controller's own
  overhead (held update, verification, moving update and AWS's managed shift instant), against moto server.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.program import copy_program, run_program  # noqa: E402
from stack_files import SHIPPED_STACKS, stack_config  # noqa: E402


def timed(action) -> tuple[float, object]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def program_with_jobs(folder: Path, count: int) -> tuple[Path, dict]:
    """A copy of the program whose stack deploys `count` copies of the orders job (each entrypoint its own)."""
    program = copy_program(folder)
    names = [f"job_{i:02d}" for i in range(count)]
    for name in names:
        job = folder / "jobs" / name
        shutil.copytree(folder / "jobs" / "orders", job, ignore=shutil.ignore_patterns("sample"))
        entrypoint = job / "glue_main.py"
        entrypoint.write_text(entrypoint.read_text().replace("jobs.orders.job", f"jobs.{name}.job"))
    config = {**stack_config("dev"), "data-pipeline:glueJobs": {name: {} for name in names}}
    return program, config


def bench_program() -> None:
    print("Pulumi program under mocks (seconds; first call includes imports)")
    cold, _ = timed(lambda: run_program("dev"))
    print(f"  first evaluation (dev, cold):          {cold:6.2f}")
    for stack in SHIPPED_STACKS:
        seconds, run = timed(lambda s=stack: run_program(s))
        print(f"  stack {stack:<8} {len(run.resources):4d} resources      {seconds:6.2f}")
    for count in (1, 10, 50):
        with tempfile.TemporaryDirectory() as folder:
            program, config = program_with_jobs(Path(folder), count)
            seconds, run = timed(lambda p=program, c=config: run_program("dev", c, program=p))
        print(f"  {count:2d} job(s)      {len(run.resources):4d} resources      {seconds:6.2f}")


def bench_tests() -> None:
    print("Test suite wall time by layer (seconds, pytest in a subprocess)")
    layers = {
        "program under mocks, config, policies, IAM": [
            "tests/test_config.py", "tests/test_stacks.py", "tests/test_orchestration.py", "tests/test_policies.py",
            "tests/test_iam_documents.py", "tests/test_artifacts.py", "tests/test_workflows.py",
            "tests/test_physical_names.py"],
        "AWS code against moto server": ["tests/test_handlers.py", "tests/test_state_machine.py",
                                         "tests/test_health_check.py"],
        "PR loop (injected stack), reaper, report, CLI": ["tests/test_lifecycle.py", "tests/test_automation.py"],
        "PySpark (local)": ["-m", "spark"],
        "whole suite": [],
    }
    for label, selection in layers.items():
        seconds, result = timed(lambda s=selection: subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *s], cwd=ROOT, capture_output=True,
            text=True))
        summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-200:]
        print(f"  {label:<44} {seconds:6.2f}   ({summary})")


def bench_job() -> None:
    from jobs.common import sample
    from jobs.common.local import local_session, run_local, run_options
    from jobs.orders import sample_data
    from jobs.orders.job import JOB

    print("Orders job on local Spark, local[2], into an empty table (seconds; input generation not counted)")
    with tempfile.TemporaryDirectory() as folder:
        start, spark = timed(lambda: local_session("bench", cores=2, warehouse=Path(folder)))
        spark.sparkContext.setLogLevel("ERROR")
        print(f"  Spark session start:                   {start:6.2f}")
        warm_source = Path(folder) / "warm.jsonl"
        sample.write(warm_source, sample_data.generate(1000))
        run_local(spark, JOB, run_options(JOB, str(warm_source), Path(folder), "warm", health_check=True))
        for rows in (100_000, 1_000_000):
            source = Path(folder) / f"orders-{rows}.jsonl"
            counts = sample.write(source, sample_data.generate(rows))
            # A health check: merged and audited on a branch of the (empty) table, never published.
            seconds, report = timed(lambda s=source, r=rows: run_local(
                spark, JOB, run_options(JOB, str(s), Path(folder), f"bench-{r}", health_check=True)))
            print(f"  {rows:>9,} rows  {seconds:6.2f}   ({rows / seconds:,.0f} rows/s; curated {report.curated_rows:,},"
                  f" quarantined {report.quarantined_rows:,}, expected {counts.curated:,} / "
                  f"{counts.quarantined:,}; quality {'passed' if report.passed else 'FAILED'})")
        spark.stop()


def bench_merge(table_rows: int = 1_000_000, batch_rows: int = 100_000) -> None:
    """One run's MERGE into a big table: half the batch updates existing orders (a later status), half is new."""
    import json

    from jobs.common import sample
    from jobs.common.local import local_session, run_local, run_options
    from jobs.common.table import CuratedTable
    from jobs.orders import sample_data
    from jobs.orders.job import JOB

    print(f"Merge of {batch_rows:,} orders into a {table_rows:,}-row Iceberg table, local[2] (seconds)")
    every = table_rows + batch_rows + 1  # no bad record, no later line: one row per key
    lines, _ = sample_data.generate(table_rows + batch_rows // 2, bad_every=every, update_every=every)
    updates = [json.dumps({**record, "status": "SHIPPED", "updated_at": "2027-01-01T00:00:00Z"})
               for record in map(json.loads, lines[table_rows - batch_rows // 2:table_rows])]
    with tempfile.TemporaryDirectory() as folder:
        spark = local_session("bench-merge", cores=2, warehouse=Path(folder))
        spark.sparkContext.setLogLevel("ERROR")
        base, batch = Path(folder) / "base.jsonl", Path(folder) / "batch.jsonl"
        sample.write(base, (lines[:table_rows], None))
        sample.write(batch, (updates + lines[table_rows:], None))
        seconds, _ = timed(lambda: run_local(spark, JOB, run_options(JOB, str(base), Path(folder), "base", False)))
        table = CuratedTable(spark, "local", JOB.name)
        print(f"  load {table_rows:,} rows into the empty table: {seconds:6.2f}   (table rows {table.rows():,})")
        seconds, report = timed(lambda: run_local(spark, JOB, run_options(JOB, str(batch), Path(folder), "batch",
                                                                          False)))
        merged = report.merge
        print(f"  merge {batch_rows:,} rows:                    {seconds:6.2f}   ({batch_rows / seconds:,.0f} rows/s; "
              f"{merged['inserted']:,} inserted, {merged['updated']:,} updated, {merged['unchanged']:,} unchanged; "
              f"table rows {table.rows():,}; published {report.table['published']})")
        spark.stop()


def bench_loop(rounds: int = 5) -> None:
    """The PR lifecycle with an instant stack (the Pulumi engine is not installable here) and the real health
    check against moto server, whose pipeline succeeds at once: what remains is the loop's own time."""
    import io
    import json
    import statistics
    import uuid

    import boto3
    import requests

    from automation.health_check import HealthCheck
    from automation.lifecycle import Lifecycle
    from automation.progress import Progress
    from automation.report import Report
    from settings.naming import health_check_prefix
    from tests.aws_server import REGION, aws_environment, moto_server
    from tests.quality_results import put_health_run_result

    class InstantStack:
        name = "pr-bench"

        def deploy(self, on_output): ...
        def cancel(self): ...
        def destroy(self, on_output): ...
        def remove(self): ...

        def outputs(self):
            return outputs

    print(f"PR loop overhead against moto server ({rounds} rounds; seconds)")
    with moto_server() as endpoint:
        os.environ.update(aws_environment(endpoint))
        os.environ["MOTO_PORT"] = endpoint.rsplit(":", 1)[1]
        requests.post(f"{endpoint}/moto-api/config", json={"stepfunctions": {"execute_state_machine": True}},
                      timeout=10)
        s3, glue, sfn = (boto3.client(s, region_name=REGION) for s in ("s3", "glue", "stepfunctions"))
        for bucket in ("bench-raw", "bench-curated"):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        glue.create_job(Name="bench-orders", Role="arn:aws:iam::123456789012:role/glue", WorkerType="G.1X",
                        NumberOfWorkers=2, Command={"Name": "glueetl", "ScriptLocation": "s3://x/y.py"})
        run_id = glue.start_job_run(JobName="bench-orders")["JobRunId"]
        definition = {"StartAt": "Glue", "States": {"Glue": {"Type": "Pass", "Result": {"Id": run_id},
                                                               "ResultPath": "$.glue", "End": True}}}
        machine = sfn.create_state_machine(name="bench", definition=json.dumps(definition),
                                           roleArn="arn:aws:iam::123456789012:role/sfn")["stateMachineArn"]
        outputs = {"buckets": {"raw": "bench-raw", "curated": "bench-curated"},
                   "pipeline_versions": {"orders": machine}, "glue_jobs": {"orders": "bench-orders"}}
        totals, runs = [], []
        for _ in range(rounds):
            health_run = uuid.uuid4().hex[:12]
            put_health_run_result(s3, f"s3://bench-curated/{health_check_prefix('orders')}{health_run}/", "orders",
                                  run_id)

            class Check(HealthCheck):
                def execute(self, run_id=None, _health_run=health_run):
                    return super().execute(_health_run)

            start = time.perf_counter()
            report = Lifecycle(stack=InstantStack(), health_check=lambda o: Check(o), report=Report(stack="pr-bench"),
                               progress=Progress(stream=io.StringIO(), live=False)).run()
            totals.append(time.perf_counter() - start)
            runs.append(report.phases["run"].seconds)
            assert report.exit_code == 0, report.failure
    print(f"  whole loop (deploy/destroy instant)        median {statistics.median(totals):6.2f}   "
          f"max {max(totals):6.2f}")
    print(f"  of which run phase (upload, start, poll)   median {statistics.median(runs):6.2f}   "
          f"(polling starts at 1 s, backs off x2 to 30 s)")


def bench_fast(rounds: int = 5) -> None:
    """The fast path end to end but for AWS's own time: every job of the repository on an instant Glue."""
    import io
    import statistics

    import boto3

    from automation import paths
    from automation.code_check import CodeCheck
    from automation.lifecycle import Lifecycle
    from automation.progress import Progress
    from automation.report import Report
    from jobs.common.catalog import job_names
    from tests.aws_server import REGION, aws_environment, moto_server
    from tests.quality_results import put_health_run_result

    jobs = job_names()
    print(f"Fast PR check overhead against moto server ({rounds} rounds, {len(jobs)} jobs, Glue instant; seconds)")
    with moto_server() as endpoint:
        os.environ.update(aws_environment(endpoint))
        s3, glue = (boto3.client(s, region_name=REGION) for s in ("s3", "glue"))
        buckets = {zone: f"bench-fast-{zone}" for zone in ("raw", "curated", "artifacts")}
        for bucket in buckets.values():
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        for job in jobs:
            glue.create_job(Name=f"bench-{job}", Role="arn:aws:iam::123456789012:role/glue", WorkerType="G.1X",
                            NumberOfWorkers=2, ExecutionProperty={"MaxConcurrentRuns": 10},
                            Command={"Name": "glueetl", "ScriptLocation": "s3://x/y.py"})
        outputs = {"buckets": buckets, "glue_jobs": {job: f"bench-{job}" for job in jobs},
                   "pipeline_versions": {job: f"arn:aws:states:{REGION}:123456789012:stateMachine:{job}:1"
                                         for job in jobs}}

        class InstantGlue(CodeCheck):
            """Glue's run writes its output the moment it starts."""

            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                start_job_run = self.glue.start_job_run

                def start(**kwargs):
                    run = start_job_run(**kwargs)
                    put_health_run_result(s3, kwargs["Arguments"]["--target_path"],
                                          kwargs["JobName"].removeprefix("bench-"), run["JobRunId"])
                    return run

                self.glue.start_job_run = start

        class CheckStack:
            def outputs(self):
                return outputs

        choices, totals = [], []
        for round_ in range(rounds):
            elapsed, _ = timed(lambda: paths.choose(paths.changed_files("HEAD~1", "HEAD"), jobs, jobs))
            choices.append(elapsed)
            start = time.perf_counter()
            report = Lifecycle(stack=CheckStack(), health_check=lambda o, pr=round_ + 1: InstantGlue(
                o, pr=pr, jobs=jobs), report=Report(stack="pr-base"),
                progress=Progress(stream=io.StringIO(), live=False), ephemeral=False).run()
            totals.append(time.perf_counter() - start)
            assert report.exit_code == 0, report.failure
    print(f"  path choice (git diff + rules)              median {statistics.median(choices):6.2f}")
    print(f"  build, upload, run and check every job      median {statistics.median(totals):6.2f}   "
          f"max {max(totals):6.2f}")


def bench_release(rounds: int = 5) -> None:
    import io
    import json
    import statistics

    import boto3

    from automation.interrupts import Interrupts
    from automation.progress import Progress
    from automation.release import ReleaseController, ReleaseReport
    from automation.release_client import AwsReleaseClient
    from components.release_pins import parse_pin
    from tests import moto_versions
    from tests.aws_server import REGION, aws_environment, moto_server

    print(f"Releases against moto server ({rounds} rounds; seconds)")
    moto_versions.install()  # the moto server below runs in this process, the rollback command reaches it too
    with moto_server() as endpoint:
        environment = {**os.environ, **aws_environment(endpoint)}
        os.environ.update(environment)
        sfn = boto3.client("stepfunctions", region_name=REGION)
        definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
        created = sfn.create_state_machine(name="data-pipeline-prod-orders-pipeline", definition=json.dumps(
            definition), roleArn="arn:aws:iam::123456789012:role/sfn", publish=True)
        machine = created["stateMachineArn"]
        published = [created["stateMachineVersionArn"]]
        sfn.create_state_machine_alias(name="live", routingConfiguration=[
            {"stateMachineVersionArn": created["stateMachineVersionArn"], "weight": 100}])

        class InstantStack:
            """The engine, instant: the held update publishes a version, the moving one applies the program's
            target rule (a pin holds, else the published version takes all), as the managed deployment ends."""

            name = "prod"
            strategy = "verify-then-switch"

            def recover(self, on_output):
                return []

            def deploy(self, on_output, *, hold_aliases=False):
                if hold_aliases:
                    definition["Comment"] = f"release commit {len(published):07x}"
                    published.append(sfn.update_state_machine(
                        stateMachineArn=machine, definition=json.dumps(definition),
                        publish=True)["stateMachineVersionArn"])
                    return
                pin = parse_pin(sfn.describe_state_machine_alias(stateMachineAliasArn=f"{machine}:live").get(
                    "description"))
                if not (pin and pin.holds_against(len(published))):
                    sfn.update_state_machine_alias(stateMachineAliasArn=f"{machine}:live", routingConfiguration=[
                        {"stateMachineVersionArn": published[-1], "weight": 100}])

            def outputs(self):
                return {"pipeline_versions": {"orders": published[-1]},
                        "pipeline_aliases": {"orders": f"{machine}:live"}, "alarm_names": ["data-pipeline-prod-x"],
                        "release": {"strategy": self.strategy, "canary_percent": 10, "canary_bake_minutes": 1,
                                    "retained_releases": 3}}

        controller = ReleaseController(client=AwsReleaseClient(boto3.Session(region_name=REGION)),
                                       verify=lambda _outputs, job, _version: {"jobs": {job: {"table_snapshot": 1}}},
                                       progress=Progress(io.StringIO(), live=False), interrupts=Interrupts())
        for strategy in ("verify-then-switch", "canary"):
            InstantStack.strategy = strategy
            times = []
            for _ in range(rounds):
                seconds, report = timed(lambda: controller.release(InstantStack(), ReleaseReport(stack="prod")))
                assert report.outcome == "released", report.failure
                times.append(seconds)
            print(f"  controller overhead, {strategy:<19} median {statistics.median(times):6.2f}   "
                  f"max {max(times):6.2f}   (deploys, verification and AWS's shift instant)")
        command = [sys.executable, "-m", "automation", "release", "rollback", "--stack", "prod", "--reason", "bench"]
        times = []
        for _ in range(rounds):
            controller.release(InstantStack(), ReleaseReport(stack="prod"))  # a newer release replaces the pin
            seconds, done = timed(lambda: subprocess.run(command, cwd=ROOT, env=environment, capture_output=True,
                                                         text=True))
            assert done.returncode == 0, done.stderr
            times.append(seconds)
    print(f"  rollback command, whole process            median {statistics.median(times):6.2f}   max {max(times):6.2f}"
          "   (target < 2 s; in AWS one UpdateStateMachineAlias per pipeline and UpdateAlias per live function)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("program", "tests", "job", "merge", "loop", "fast", "release"))
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}\n")
    for name, bench in (("program", bench_program), ("tests", bench_tests), ("job", bench_job),
                        ("merge", bench_merge), ("loop", bench_loop), ("fast", bench_fast), ("release", bench_release)):
        if args.only in (None, name):
            bench()
            print()


if __name__ == "__main__":
    main()
