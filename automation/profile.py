"""The config of a PR stack: the checked-in PR profile plus the values that belong to one pull request."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from jobs.common.catalog import job_names
from settings.delivery import PR_STACK_PREFIX
from settings.schema import GLUE_JOBS_KEY, PROJECT
from stack_files import as_engine_config, config_section

PROFILE = Path(__file__).resolve().parent / "pr-profile.yaml"
CHECK_PROFILE = Path(__file__).resolve().parent / "pr-base-profile.yaml"
PR_NUMBER = re.compile(r"^[1-9][0-9]{0,8}$")


class InvalidPullRequest(ValueError):
    pass


@dataclass(frozen=True)
class PullRequest:
    number: int
    commit: str
    creator: str

    @property
    def stack_name(self) -> str:
        return f"{PR_STACK_PREFIX}{self.number}"

    def tags(self, now: datetime | None = None) -> dict[str, str]:
        """Stack tags: what the reaper reads to decide when the stack may go."""
        return {"pr": str(self.number), "commit": self.commit, "creator": self.creator,
                "created-at": (now or datetime.now(UTC)).isoformat(timespec="seconds")}


def pull_request(number: str | int, commit: str = "", creator: str = "", *, deploying: bool = True) -> PullRequest:
    """Validated PR identity; commit and creator are recorded only when deploying, so only then required."""
    if not PR_NUMBER.match(str(number)):
        raise InvalidPullRequest(f"pull request number {number!r}: expected a positive whole number (--pr)")
    if deploying and not re.match(r"^[0-9a-f]{7,40}$", commit or ""):
        raise InvalidPullRequest(f"commit {commit!r}: expected a git commit hash, 7-40 hex characters (--commit)")
    if deploying and not creator:
        raise InvalidPullRequest("creator is empty: pass the PR author (--creator)")
    return PullRequest(number=int(number), commit=commit, creator=creator)


def stack_config(pr: PullRequest, profile: Path = PROFILE) -> dict[str, str]:
    """Namespaced config as strings, as `pulumi config set` stores them (objects as JSON). The stack deploys every
    job in jobs/ with the profile's sizing, so a PR's new job is run on its PR, unless the profile names its
    jobs (`data-pipeline:glueJobs`) to narrow them on purpose."""
    return _profile_config([profile], {f"{PROJECT}:owner": pr.creator, f"{PROJECT}:costCenter": f"pr-{pr.number}"})


def check_stack_config() -> dict[str, str]:
    """The config of the fast PR check's stack (CHECK_STACK, settings/delivery.py): the PR profile and the check
    profile on top."""
    return _profile_config([PROFILE, CHECK_PROFILE], {})


def _profile_config(profiles: list[Path], values: dict[str, str]) -> dict[str, str]:
    config = {f"{PROJECT}:{GLUE_JOBS_KEY}": {job: {} for job in job_names()}}
    for profile in profiles:
        config.update(config_section(profile))
    return as_engine_config({**config, **values})


def is_pull_request_stack(name: str) -> bool:
    """`pr-<number>`: an ephemeral stack of one pull request (not the check stack)."""
    return name.startswith(PR_STACK_PREFIX) and bool(PR_NUMBER.match(name.removeprefix(PR_STACK_PREFIX)))
