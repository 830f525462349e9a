"""How often an EventBridge Scheduler expression starts a pipeline: the longest wait between two runs, which
decides whether a canary's bake can see one (components/config.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from pyawscron import AWSCron

RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
CRON = re.compile(r"^cron\((.+)\)$")
UNIT_MINUTES = {"minute": 1, "hour": 60, "day": 24 * 60}
# Two weeks of runs show every weekly pattern (a weekday schedule's weekend); sparser schedules (monthly, yearly)
# are measured over their next runs instead.
WINDOW = timedelta(days=14)
SPARSE_RUNS = 25
# Any fixed start: the gaps of a schedule do not depend on it beyond the calendar.
START = datetime(2026, 1, 1, tzinfo=UTC)


def longest_gap_minutes(expression: str) -> int:
    """The longest time between two consecutive runs of a `rate(...)` or `cron(...)` expression, in minutes."""
    rate = RATE.match(expression)
    if rate:
        return int(rate.group(1)) * UNIT_MINUTES[rate.group(2).removesuffix("s")]
    cron = CRON.match(expression)
    if not cron:
        raise ValueError(f"not a rate(...) or cron(...) expression: {expression!r}")
    try:
        runs = AWSCron.get_all_schedule_bw_dates(START, START + WINDOW, cron.group(1))
        if len(runs) < 3:
            runs = AWSCron.get_next_n_schedule(SPARSE_RUNS, START, cron.group(1))
    except Exception as error:  # pyawscron raises whatever its parsing hits
        raise ValueError(f"not a cron expression EventBridge Scheduler accepts: {expression!r} ({error})") from None
    if len(runs) < 2:
        raise ValueError(f"a cron expression with fewer than two runs: {expression!r}")
    return max(int((later - earlier).total_seconds()) // 60 for earlier, later in pairwise(runs))
