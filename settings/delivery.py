"""What the bootstrap (its roles and their trust) and the automation (PR stacks, the reaper, state locks) agree on:
the names of the pull requests' stacks and the longest a workflow run may hold credentials."""

from __future__ import annotations

# Stacks of pull requests (`pr-42`) and the fast check's stack.
PR_STACK_PREFIX = "pr-"
# The fast PR check's long-lived stack: a `pr-` name, so the PR-stacks role deploys and runs it, but not a
# number, so it is no pull request's and the reaper leaves it.
CHECK_STACK = f"{PR_STACK_PREFIX}base"
# IAM's limit on a role's maximum session: no workflow run holds credentials (or a state lock) longer.
MAX_SESSION_HOURS = 12
