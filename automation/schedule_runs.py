"""How often an EventBridge Scheduler expression fires in an average month (a year's firings / 12).

A month is AWS's 730 hours (the Pricing Calculator's), so `rate(1 day)` and a daily `cron` both make 30.42 runs.
Cron expressions are AWS's six fields (minutes hours day-of-month month day-of-week year); croniter reads the first
five once `?` is `*` and AWS's day numbers (1 = Sunday) are croniter's (0 = Sunday).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from croniter import croniter

HOURS_PER_MONTH = 730
DAYS_PER_MONTH = HOURS_PER_MONTH / 24
MINUTES_PER_MONTH = HOURS_PER_MONTH * 60
RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
CRON = re.compile(r"^cron\((.+)\)$")
UNIT_MINUTES = {"minute": 1, "hour": 60, "day": 24 * 60}
# Any non-leap year: a daily schedule fires 365 times, 365 / 12 a month (= 730 hours / 24).
REFERENCE_YEAR = 2027


class ScheduleError(ValueError):
    pass


def _croniter_fields(aws: str, expression: str) -> str:
    fields = aws.split()
    if len(fields) != 6:
        raise ScheduleError(f"schedule {expression!r}: an AWS cron has 6 fields (minutes hours day-of-month month "
                            "day-of-week year)")
    if fields[5] not in ("*", "?"):
        raise ScheduleError(f"schedule {expression!r}: a cron limited to some years is not modelled (year must be *)")
    day_of_week = re.sub(r"\d+", lambda m: str(int(m.group()) - 1), fields[4]) if "#" not in fields[4] else fields[4]
    return " ".join([*fields[:4], day_of_week]).replace("?", "*")


def _cron_runs_per_year(expression: str, fields: str) -> int:
    if not croniter.is_valid(fields):
        raise ScheduleError(f"schedule {expression!r}: not a cron expression croniter can read ({fields})")
    minutes, hours, *_ = croniter.expand(fields)[0]
    per_day = (60 if minutes == ["*"] else len(minutes)) * (24 if hours == ["*"] else len(hours))
    first_minute, first_hour = (0 if minutes == ["*"] else minutes[0]), (0 if hours == ["*"] else hours[0])
    day_fields = f"{first_minute} {first_hour} {' '.join(fields.split()[2:])}"
    start = datetime(REFERENCE_YEAR, 1, 1, first_hour, first_minute)
    days = sum(croniter.match(day_fields, start + timedelta(days=n)) for n in range(365))
    return per_day * days


def runs_per_month(expression: str) -> float:
    """Firings a month of `rate(...)`/`cron(...)`; 0 for an empty expression (no schedule)."""
    if not expression:
        return 0.0
    rate = RATE.match(expression)
    if rate:
        every = int(rate.group(1)) * UNIT_MINUTES[rate.group(2).rstrip("s")]
        return MINUTES_PER_MONTH / every
    cron = CRON.match(expression)
    if cron:
        return _cron_runs_per_year(expression, _croniter_fields(cron.group(1), expression)) / 12
    raise ScheduleError(f"schedule {expression!r}: expected rate(N minutes|hours|days) or cron(...)")
