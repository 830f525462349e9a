"""How often an EventBridge Scheduler expression starts a pipeline, read with pyawscron (AWS's own cron dialect:
six fields, `?`, day numbers from 1 = Sunday): the longest wait between two runs, which decides whether a canary's
bake can see one (settings/parse.py), and the runs in an average month, which the cost model prices
(automation/cost_graph.py). Outside the program's packages (`settings/`, `components/`), so the cost model
evaluating a base commit's program uses this checkout's copy."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from pyawscron import AWSCron

RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
CRON = re.compile(r"^cron\((.+)\)$")
UNIT_MINUTES = {"minute": 1, "hour": 60, "day": 24 * 60}
# A month is AWS's 730 hours (the Pricing Calculator's): `rate(1 day)` and a daily cron both make 30.42 runs.
HOURS_PER_MONTH = 730
DAYS_PER_MONTH = HOURS_PER_MONTH / 24
MINUTES_PER_MONTH = HOURS_PER_MONTH * 60
# Two weeks of runs show every weekly pattern (a weekday schedule's weekend); sparser schedules (monthly, yearly)
# are measured over their next runs instead.
WINDOW = timedelta(days=14)
SPARSE_RUNS = 25
# Any fixed start: the gaps of a schedule do not depend on it beyond the calendar. Runs a month are a non-leap
# year's runs / 12 (365 / 12 days).
START = datetime(2027, 1, 1, tzinfo=UTC)
YEAR = timedelta(days=365)


class ScheduleError(ValueError):
    pass


def _cron_runs(expression: str, start: datetime, end: datetime) -> list[datetime]:
    cron = CRON.match(expression)
    if not cron:
        raise ScheduleError(f"schedule {expression!r}: expected rate(N minutes|hours|days) or cron(...)")
    fields = cron.group(1).split()
    if len(fields) != 6:
        raise ScheduleError(f"schedule {expression!r}: an AWS cron has 6 fields (minutes hours day-of-month month "
                            "day-of-week year)")
    try:
        return AWSCron.get_all_schedule_bw_dates(start, end, cron.group(1))
    except Exception as error:  # pyawscron raises whatever its parsing hits
        raise ScheduleError(f"schedule {expression!r}: not a cron expression EventBridge Scheduler accepts "
                            f"({error})") from None


def _rate_minutes(expression: str) -> int | None:
    rate = RATE.match(expression)
    return int(rate.group(1)) * UNIT_MINUTES[rate.group(2).removesuffix("s")] if rate else None


def longest_gap_minutes(expression: str) -> int:
    """The longest time between two consecutive runs of a `rate(...)` or `cron(...)` expression, in minutes."""
    every = _rate_minutes(expression)
    if every is not None:
        return every
    runs = _cron_runs(expression, START, START + WINDOW)
    if len(runs) < 3:
        try:
            runs = AWSCron.get_next_n_schedule(SPARSE_RUNS, START, CRON.match(expression).group(1))
        except Exception as error:  # pyawscron raises whatever its parsing hits
            raise ScheduleError(f"schedule {expression!r}: {error}") from None
    if len(runs) < 2:
        raise ScheduleError(f"schedule {expression!r}: a cron expression with fewer than two runs")
    return max(int((later - earlier).total_seconds()) // 60 for earlier, later in pairwise(runs))


def runs_per_month(expression: str) -> float:
    """Runs in an average month of `rate(...)`/`cron(...)`; 0 for an empty expression (no schedule)."""
    if not expression:
        return 0.0
    every = _rate_minutes(expression)
    if every is not None:
        return MINUTES_PER_MONTH / every
    year = CRON.match(expression).group(1).split()[-1] if CRON.match(expression) else "*"
    if year not in ("*", "?"):
        raise ScheduleError(f"schedule {expression!r}: a cron limited to some years is not modelled (year must be *)")
    return len(_cron_runs(expression, START, START + YEAR)) / 12
