"""The repository's operations, `python -m automation <group> <command>` (automation/cli.py): the PR check on
ephemeral stacks (deploy, health-check, destroy, reap), releases and rollbacks, drift, cost, data rollback, and
their reports on GitHub."""
