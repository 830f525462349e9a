"""What a Glue job writes for a health-check run, as tests and the benchmark stand in for it (moto runs no Glue
code): its quality result (the contract of issue 18, jobs/common) with the sample's counts."""

from __future__ import annotations

import json

from automation.health_check import Expected
from jobs.common.outputs import OutputPaths

SNAPSHOT_BEFORE = 4242


def health_run_result(job: str, glue_run_id: str, *, passed: bool = True, counts: Expected | None = None,
                      published: bool = False, snapshot_before: int | None = SNAPSHOT_BEFORE) -> dict:
    """A health run's quality result: audited on its `check_` branch, never published."""
    counts = counts or Expected.of_sample(job)
    return {"passed": passed, "input_rows": counts.input_lines, "curated_rows": counts.curated_rows,
            "quarantined_rows": counts.quarantined_rows, "no_new_input": False, "conflicts": 0,
            "merge": {"inserted": counts.curated_rows, "updated": 0, "unchanged": 0},
            "checks": [{"name": "row_count", "passed": True},
                       {"name": "quarantine_ratio", "passed": passed, "observed": 0.3, "expected": "<= 0.1"}],
            "table": {"identifier": f"db.{job}", "branch": f"check_{glue_run_id}", "snapshot_before": snapshot_before,
                      "snapshot_after": snapshot_before + 1 if published and snapshot_before else None,
                      "published": published}}


def put_health_run_result(s3, target_path: str, job: str, glue_run_id: str, **options) -> str:
    """Writes the result where the job would (under the run's --target_path); returns its key."""
    bucket, _, key = OutputPaths.of(target_path, glue_run_id).quality_result.removeprefix("s3://").partition("/")
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(health_run_result(job, glue_run_id, **options)))
    return key
