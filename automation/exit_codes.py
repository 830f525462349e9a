"""The exit codes of every `python -m automation` command, in one table (also shown by `--help`).

Scripts and workflows branch on these: 1 is an answer (the command ran and said no), 2 is the caller's mistake,
3 and 5 are failures to act, 4 leaves a PR stack behind, 130 is an interruption that left everything consistent.
"""

from __future__ import annotations

OK = 0
# The command ran and the answer is no: not released (verification failed, the managed deployment rolled back,
# a rollback pre-empted the release), a PR check failed, drift found, a data rollback not confirmed.
NOT_DONE = 1
# Bad arguments or an unknown stack (argparse's own code): nothing was done.
USAGE = 2
# The deploy, a destroy, the engine or an AWS call failed (drift: could not check; rollback: nothing changed).
FAILED = 3
# A PR stack's destroy or removal failed: the stack is left for the reaper.
TEARDOWN_FAILED = 4
# No AWS set-up to work with: no region, no credentials, or no deployed stack / stack outputs.
NO_AWS_SETUP = 5
# SIGINT or SIGTERM: each alias is on its old or its new version and the workspace's stack file is restored.
INTERRUPTED = 130

TABLE = (
    (OK, "done: released, rolled back, passed, no drift"),
    (NOT_DONE, "ran, and the answer is no: not released (verification failed, rolled back by the managed "
               "deployment, pre-empted by a rollback), check failed, drift found, not confirmed"),
    (USAGE, "bad arguments or unknown stack: nothing was done"),
    (FAILED, "the deploy, destroy, engine or an AWS call failed (drift could not be checked)"),
    (TEARDOWN_FAILED, "a PR stack's teardown failed: left for `python -m automation reap`"),
    (NO_AWS_SETUP, "no region, credentials or deployed stack outputs"),
    (INTERRUPTED, "SIGINT/SIGTERM: aliases on their old or new version, stack file restored"),
)


def describe() -> str:
    """The table as text, for `--help`."""
    return "exit codes (automation/exit_codes.py):\n" + "\n".join(f"  {code:>3}  {meaning}" for code, meaning in TABLE)
