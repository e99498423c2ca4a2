"""The insurer's calendar (Moscow time): "the next day" and "working days".

"The next day" is 00:00 Moscow time of the next calendar day (seed 000 2.3, seed 002).
Working days are Monday to Friday less the Russian public holidays (the `holidays` library
keeps the official list, with the days moved by government decree).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from typing import TYPE_CHECKING

from core.formatting import MOSCOW

if TYPE_CHECKING:
    import holidays


def next_day(now: datetime) -> datetime:
    """Midnight after `now` in Moscow time."""
    local = now.astimezone(MOSCOW).date() + timedelta(days=1)
    return datetime.combine(local, time(), MOSCOW)


@cache
def _holidays(year: int) -> holidays.HolidayBase:
    import holidays  # 9 MB of country modules, loaded the first time a working day is counted

    return holidays.country_holidays("RU", years=year)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def after_working_days(moment: datetime, days: int) -> datetime:
    """Midnight (Moscow) after the `days`-th working day that follows the day of `moment`."""
    day = moment.astimezone(MOSCOW).date()
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return datetime.combine(day + timedelta(days=1), time(), MOSCOW)


def at_midnight(moment: datetime) -> bool:
    """Whether a moment is 00:00 Moscow time (then the date alone says it)."""
    return moment.astimezone(MOSCOW).time() == time()
