"""Where a run writes beside its table: its quarantine and its quality result, under the run's target folder.

Plain Python (no Spark): the runner writes these, and the health check, the quality gate's tests and the data
rollback read them.
"""

from __future__ import annotations

from dataclasses import dataclass

QUALITY_RESULTS = "_dq"


def quality_results_folder(target: str) -> str:
    """The folder every run's quality result into `target` is under (one `run_id=<id>/` folder each)."""
    return f"{target.rstrip('/')}/{QUALITY_RESULTS}/"


@dataclass(frozen=True)
class OutputPaths:
    quarantine: str
    quality_result: str

    @classmethod
    def of(cls, target: str, run_id: str) -> OutputPaths:
        return cls(quarantine=f"{target.rstrip('/')}/quarantine/run_id={run_id}",
                   quality_result=f"{quality_results_folder(target)}run_id={run_id}/result.json")
