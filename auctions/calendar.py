"""Business days for promises with a deadline (an inquiry is answered within 3 business days).

Pure: the caller passes the moment and the holidays; nothing here reads a clock or a setting.
Business days are Monday to Friday, minus the given holidays, counted in UTC.
"""
from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta


def is_business_day(day: date, holidays: Collection[date] = ()) -> bool:
    """Monday to Friday and not a holiday."""
    return day.weekday() < 5 and day not in holidays


def add_business_days(start: datetime, days: int, holidays: Collection[date] = ()) -> datetime:
    """The moment `days` business days after `start`, at the same time of day.

    A request made on a weekend or a holiday starts counting from the next business day's
    beginning, so asking on Saturday gives as much time as asking first thing on Monday.
    """
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise ValueError("days must be a whole number of at least 0")
    moment = start
    if not is_business_day(moment.date(), holidays):
        moment = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        while not is_business_day(moment.date(), holidays):
            moment += timedelta(days=1)
    left = days
    while left:
        moment += timedelta(days=1)
        if is_business_day(moment.date(), holidays):
            left -= 1
    return moment


def business_days_between(start: datetime, end: datetime, holidays: Collection[date] = ()) -> int:
    """How many business days begin after `start` and on or before `end` (0 when end <= start)."""
    count, day = 0, start.date()
    while day < end.date():
        day += timedelta(days=1)
        if is_business_day(day, holidays):
            count += 1
    return count
