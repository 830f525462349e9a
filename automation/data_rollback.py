"""Rolling a job's curated table back: main returns to an earlier snapshot of its own history (Iceberg rollback),
which undoes every run published after it. Code is rolled back with `rollback`; data with this.

The table is the stack's `tables` output ({job: "<database>.<table>"}), reached through pyiceberg's Glue catalog
with the boto3 session's region, credentials and endpoints (AWS_ENDPOINT_URL… work as for every boto3 client).
The target is a snapshot id (a release report's `table_snapshot`), or the `table.snapshot_before` of a run's
quality result (`<job>/_dq/run_id=<glue run id>/result.json` in the curated bucket): main as that run found it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from pyiceberg.catalog.glue import GlueCatalog
from pyiceberg.exceptions import CommitFailedException, NoSuchTableError
from pyiceberg.io import S3_ACCESS_KEY_ID, S3_ENDPOINT, S3_REGION, S3_SECRET_ACCESS_KEY, S3_SESSION_TOKEN
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot, ancestors_of

from jobs.common.outputs import OutputPaths, quality_results_folder
from settings.naming import job_prefix

# The snapshot ids a "not an ancestor" error lists, newest first.
ANCESTORS_SHOWN = 10
# S3 lists LastModified to the second, and the job's clock is not S3's: results are read from a little earlier on.
CLOCK_MARGIN = timedelta(hours=1)
# The Iceberg catalog's name for pyiceberg (the Spark jobs call theirs `curated` too; only the Glue database matters).
CATALOG = "curated"


class DataRollbackError(RuntimeError):
    """The rollback cannot go on; the message says why and what to do. Nothing was changed."""


def table_identifier(outputs: Mapping[str, Any], job: str) -> str:
    tables = outputs.get("tables")
    if not isinstance(tables, Mapping) or not tables:
        raise DataRollbackError("the stack has no `tables` output: deploy a program version with Iceberg tables first")
    if job not in tables:
        raise DataRollbackError(f"--job {job!r}: the stack's tables are for {', '.join(sorted(tables))}")
    return tables[job]


def quality_results_prefix(job: str) -> str:
    """Where scheduled runs of `job` (target: the job's own prefix) write their quality results."""
    return quality_results_folder(job_prefix(job))


def quality_result_key(job: str, glue_run_id: str) -> str:
    return OutputPaths.of(job_prefix(job), glue_run_id).quality_result


def publishing_runs(s3: Any, curated_bucket: str, job: str, snapshots: Sequence[Snapshot]) -> dict[int, str]:
    """The Glue run that published each of `snapshots` (its quality result's table.snapshot_after), for those whose
    result is still there; only results written since the oldest snapshot are read."""
    if not snapshots:
        return {}
    since = datetime.fromtimestamp(min(s.timestamp_ms for s in snapshots) / 1000, UTC) - CLOCK_MARGIN
    wanted, runs = {s.snapshot_id for s in snapshots}, {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=curated_bucket,
                                                             Prefix=quality_results_prefix(job)):
        for obj in page.get("Contents", []):
            if not obj["Key"].endswith("/result.json") or obj["LastModified"] < since:
                continue
            table = json.loads(s3.get_object(Bucket=curated_bucket, Key=obj["Key"])["Body"].read()).get("table")
            if isinstance(table, dict) and table.get("published") and table.get("snapshot_after") in wanted:
                runs[table["snapshot_after"]] = obj["Key"].rsplit("/", 2)[-2].removeprefix("run_id=")
    return runs


def snapshot_before_run(s3: Any, curated_bucket: str, job: str, glue_run_id: str) -> int:
    """Main's snapshot when run `glue_run_id` started, from its quality result."""
    where = f"s3://{curated_bucket}/{quality_result_key(job, glue_run_id)}"
    try:
        body = s3.get_object(Bucket=curated_bucket, Key=quality_result_key(job, glue_run_id))["Body"].read()
    except s3.exceptions.NoSuchKey:
        raise DataRollbackError(f"--before-run {glue_run_id}: no quality result at {where}; check the run id, or "
                                "pass --snapshot") from None
    table = json.loads(body).get("table")
    if not isinstance(table, dict) or "snapshot_before" not in table:
        raise DataRollbackError(f"--before-run {glue_run_id}: the quality result {where} records no "
                                "table.snapshot_before (the run predates Iceberg tables)")
    if table["snapshot_before"] is None:
        raise DataRollbackError(f"--before-run {glue_run_id}: the run started on an empty table (no snapshot "
                                "before it); a snapshot rollback cannot empty a table")
    return int(table["snapshot_before"])


def glue_catalog(session: boto3.Session | None = None) -> GlueCatalog:
    """pyiceberg's Glue catalog with the session's region, credentials and endpoints, so it reaches what every
    other boto3 client of this CLI reaches (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_GLUE, _S3 included)."""
    session = session or boto3.Session()
    credentials = session.get_credentials()
    if credentials is None:
        raise DataRollbackError("no AWS credentials (environment, profile or role) for the Glue catalog")
    frozen = credentials.get_frozen_credentials()
    properties = {S3_REGION: session.region_name, S3_ENDPOINT: session.client("s3").meta.endpoint_url,
                  S3_ACCESS_KEY_ID: frozen.access_key, S3_SECRET_ACCESS_KEY: frozen.secret_key}
    if frozen.token:
        properties[S3_SESSION_TOKEN] = frozen.token
    return GlueCatalog(CATALOG, client=session.client("glue"), **properties)


@dataclass(frozen=True)
class Plan:
    """A rollback of `table`'s main from `current` to `target`, undoing `undone` (newest first)."""

    table: str
    current: int
    target: int
    undone: tuple[Snapshot, ...]

    def describe(self, runs: Mapping[int, str]) -> list[str]:
        """The plan, each undone snapshot with the Glue run that published it where `runs` knows it."""
        lines = [f"{self.table}: main is at snapshot {self.current}; rolling back to {self.target} undoes "
                 f"{len(self.undone)} snapshot(s), newest first:"]
        lines += [f"  {describe_snapshot(snapshot)}" + (f", published by run {runs[snapshot.snapshot_id]}"
                                                        if snapshot.snapshot_id in runs else "")
                  for snapshot in self.undone]
        return lines


def describe_snapshot(snapshot: Snapshot) -> str:
    summary = snapshot.summary.additional_properties if snapshot.summary else {}
    when = datetime.fromtimestamp(snapshot.timestamp_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    operation = snapshot.summary.operation.value if snapshot.summary else "?"
    counts = ", ".join(f"{name} {summary[key]}" for name, key in (
        ("added", "added-records"), ("deleted", "deleted-records"), ("total", "total-records")) if key in summary)
    return f"{snapshot.snapshot_id} {when} {operation}" + (f" ({counts})" if counts else "")


def plan(table: Table, identifier: str, target: int) -> Plan:
    """What rolling main back to `target` undoes; refused unless `target` is an older snapshot of main's own
    history (a snapshot of another branch, or one already expired, cannot be rolled back to)."""
    current = table.current_snapshot()
    if current is None:
        raise DataRollbackError(f"{identifier} has no snapshot on main: nothing to roll back")
    history = list(ancestors_of(current, table.metadata))
    ids = [snapshot.snapshot_id for snapshot in history]
    if target == current.snapshot_id:
        raise DataRollbackError(f"{identifier}: snapshot {target} is main's current snapshot already")
    if target not in ids:
        shown = ", ".join(str(i) for i in ids[:ANCESTORS_SHOWN]) + (
            f" … ({len(ids) - ANCESTORS_SHOWN} older)" if len(ids) > ANCESTORS_SHOWN else "")
        raise DataRollbackError(f"{identifier}: snapshot {target} is not an ancestor of main (current "
                                f"{current.snapshot_id}); main's history, newest first: {shown}")
    return Plan(identifier, current.snapshot_id, target, tuple(history[:ids.index(target)]))


def roll_back(table: Table, rollback: Plan) -> None:
    """Main to the planned snapshot, in one catalog commit that fails if main moved since the plan."""
    try:
        with table.manage_snapshots() as snapshots:
            snapshots.rollback_to_snapshot(rollback.target)
    except CommitFailedException as error:
        raise DataRollbackError(f"{rollback.table}: main changed while rolling back ({error}); nothing was rolled "
                                "back: run the command again to see the new plan") from None


def load_table(catalog: GlueCatalog, identifier: str) -> Table:
    try:
        return catalog.load_table(identifier)
    except NoSuchTableError:
        raise DataRollbackError(f"table {identifier} is not in the Glue Data Catalog (is the stack deployed in this "
                                "account and region?)") from None
