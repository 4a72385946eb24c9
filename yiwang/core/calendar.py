"""Working-day calendar for deadlines.

Three sources, in order of authority:

1. the admin-editable ``CalendarDay`` table (holidays and adjusted working days
   entered by the data bureau, including years no library knows yet);
2. the ``chinese_calendar`` library (statutory holidays and 调休 for the years it covers);
3. for any other year, a plain rule: Monday-Friday are working days except the
   fixed-date statutory holidays (元旦 1/1, 劳动节 5/1, 国庆 10/1-10/3). The lunar
   holidays cannot be known before the State Council publishes them, so such
   years are reported by :func:`uncovered_years` until someone enters them.

This module is pure Python (no Django imports) so it can be tested and used
without a database; :mod:`yiwang.core.models` loads the table into it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIXED_DATE_HOLIDAYS = {(1, 1), (5, 1), (10, 1), (10, 2), (10, 3)}


@lru_cache(maxsize=64)
def library_knows_year(year: int) -> bool:
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def fallback_is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and (day.month, day.day) not in FIXED_DATE_HOLIDAYS


# The answer for a day never changes (the library is data; the fallback is a rule), so it
# is kept. Why: asking the library costs about 25 µs (it validates the date and looks the
# year up twice), and deadline arithmetic, KPIs and the burst detector's baselines ask
# about the same few hundred days again and again: one check of the detector under 32
# intake clients spent an eighth of its CPU here (py-spy).
@lru_cache(maxsize=8192)
def _without_overrides(day: dt.date) -> bool:
    if library_knows_year(day.year):
        return chinese_calendar.is_workday(day)
    return fallback_is_working_day(day)


class WorkingCalendar:
    """Answers "is this a working day" and does working-time arithmetic.

    ``overrides`` maps dates to True (working day) or False (rest day); it wins
    over the library. Working time runs from ``start_hour`` to ``end_hour`` in
    Asia/Shanghai on working days.
    """

    def __init__(self, overrides: Mapping[dt.date, bool] | None = None, *, start_hour: int = 9, end_hour: int = 17):
        if not 0 <= start_hour < end_hour <= 24:
            raise ValueError("working hours must satisfy 0 <= start < end <= 24")
        self.overrides = dict(overrides or {})
        self.start_hour = start_hour
        self.end_hour = end_hour

    @property
    def hours_per_day(self) -> int:
        return self.end_hour - self.start_hour

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        return _without_overrides(day)

    def _bounds(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        start = dt.datetime.combine(day, dt.time(self.start_hour), tzinfo=SHANGHAI)
        end = start + dt.timedelta(hours=self.hours_per_day)
        return start, end

    def add_working_hours(self, start: dt.datetime, hours: float) -> dt.datetime:
        """The moment ``hours`` of working time after ``start``.

        Zero hours from outside working time gives the next working moment's
        start, so a deadline never lands on a holiday.
        """
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if hours < 0:
            raise ValueError("hours must not be negative")
        remaining = dt.timedelta(hours=hours)
        moment = start.astimezone(SHANGHAI)
        day = moment.date()
        for _ in range(3660):  # ten years of days: a guard, never reached in practice
            if self.is_working_day(day):
                open_, close = self._bounds(day)
                begin = max(moment, open_)
                if begin < close:
                    available = close - begin
                    if remaining <= available:
                        return begin + remaining
                    remaining -= available
            day += dt.timedelta(days=1)
            moment = dt.datetime.combine(day, dt.time(0), tzinfo=SHANGHAI)
        raise ValueError("no working time found within ten years")

    def add_working_days(self, start: dt.datetime, days: float) -> dt.datetime:
        return self.add_working_hours(start, days * self.hours_per_day)

    def working_hours_between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Working hours in [start, end); negative if end is before start."""
        if end < start:
            return -self.working_hours_between(end, start)
        total = dt.timedelta(0)
        day = start.astimezone(SHANGHAI).date()
        last = end.astimezone(SHANGHAI).date()
        while day <= last:
            if self.is_working_day(day):
                open_, close = self._bounds(day)
                lo, hi = max(open_, start), min(close, end)
                if hi > lo:
                    total += hi - lo
            day += dt.timedelta(days=1)
        return total.total_seconds() / 3600


def uncovered_years(years, entered_years: set[int]) -> list[int]:
    """Years neither the library nor the admin table covers: deadlines there use the fallback rule."""
    return [y for y in years if not library_knows_year(y) and y not in entered_years]
