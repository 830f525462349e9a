"""The exit codes of every `python -m automation` command, in one table (`--help` of each command shows it).

Scripts and workflows branch on these: 1 is an answer (the command ran and said no), 2 is the caller's mistake,
3 and 5 are failures to act, 4 leaves a PR stack behind, 130 is an interruption that left everything consistent.
"""

from __future__ import annotations

OK, NOT_DONE, USAGE, FAILED, TEARDOWN_FAILED, NO_AWS_SETUP, INTERRUPTED = 0, 1, 2, 3, 4, 5, 130

TABLE = (
    (OK, "done: released, rolled back, passed, no drift, nothing to check"),
    (NOT_DONE, "ran, and the answer is no: not released (verification failed, rolled back by the managed "
               "deployment, pre-empted by a rollback, alarms firing), PR check failed, drift found, not confirmed"),
    (USAGE, "bad arguments (argparse's code), an unknown stack, a renamed command or no Pulumi CLI on PATH: "
            "nothing was done"),
    (FAILED, "the deploy, destroy, engine or an AWS call failed (drift: could not check)"),
    (TEARDOWN_FAILED, "a PR stack's teardown failed: it is left for `python -m automation pr reap`"),
    (NO_AWS_SETUP, "no region, credentials or deployed stack (outputs, aliases) to work with"),
    (INTERRUPTED, "SIGINT/SIGTERM: each alias on its old or new version, the stack file restored"),
)


def describe() -> str:
    """The table as text, for `--help`."""
    return "exit codes (automation/exit_codes.py):\n" + "\n".join(f"  {code:>3}  {meaning}" for code, meaning in TABLE)
