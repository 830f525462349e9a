"""The commit a pipeline version is built from, recorded inside the version itself.

Step Functions versions are immutable and pulumi-aws cannot set a version's description, so the commit goes
into the definition's `Comment`: each version then names its own commit, and AWS records when it was
published (`creationDate`). The release controller sets RELEASE_COMMIT for the engine; a plain `pulumi up`
records the checkout's commit.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

COMMIT_VARIABLE = "RELEASE_COMMIT"
COMMIT = re.compile(r"^[0-9a-f]{7,40}$")
COMMENT_MARKER = "release commit "


class InvalidReleaseInfo(ValueError):
    pass


def checkout_commit(root: Path) -> str:
    """The commit of the checkout the program runs from, or '' outside a git checkout."""
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


def release_commit(root: Path, environ: Mapping[str, str] = os.environ) -> str:
    """RELEASE_COMMIT, else the checkout's commit, else 'unknown'; a malformed RELEASE_COMMIT is an error."""
    commit = environ.get(COMMIT_VARIABLE, "").strip()
    if commit and not COMMIT.match(commit):
        raise InvalidReleaseInfo(f"{COMMIT_VARIABLE} = {commit!r}: must be a git commit hash, 7-40 hex characters")
    return commit or checkout_commit(root) or "unknown"


def commit_of(definition_comment: str) -> str:
    """The commit a definition's Comment records ('' when it records none)."""
    match = re.search(re.escape(COMMENT_MARKER) + r"([0-9a-f]{7,40})", definition_comment or "")
    return match.group(1) if match else ""
