"""Self-inspection cycles: pure date arithmetic, no database.

A risk grade's interval (months: high 1, medium 3, low 6 by default, see
``InspectionInterval``) cuts the calendar year into cycles that start in
January: monthly cycles are the months, quarterly ones the quarters, half-yearly
ones January-June and July-December. A unit must inspect each space once per
cycle. After an inspection the next one is due by the end of the following
cycle; a space never inspected is due by the end of the current cycle.
"""

from __future__ import annotations

import calendar
import datetime as dt


def _check(months: int) -> None:
    if months not in (1, 2, 3, 4, 6, 12):
        raise ValueError("the interval must divide the year: 1, 2, 3, 4, 6 or 12 months")


def cycle_of(day: dt.date, months: int) -> tuple[dt.date, dt.date]:
    """First and last day of the cycle containing ``day``."""
    _check(months)
    first_month = (day.month - 1) // months * months + 1
    last_month = first_month + months - 1
    return (dt.date(day.year, first_month, 1),
            dt.date(day.year, last_month, calendar.monthrange(day.year, last_month)[1]))


def next_cycle(day: dt.date, months: int) -> tuple[dt.date, dt.date]:
    _, end = cycle_of(day, months)
    return cycle_of(end + dt.timedelta(days=1), months)


def next_due(last_inspected: dt.date | None, months: int, today: dt.date) -> dt.date:
    """The last day by which the next self-inspection is due."""
    if last_inspected is None:
        return cycle_of(today, months)[1]
    return next_cycle(last_inspected, months)[1]


def cycles_ending_within(start: dt.date, end: dt.date, months: int) -> list[tuple[dt.date, dt.date]]:
    """The cycles whose last day lies in [start, end]: those a period's completion rate counts."""
    out = []
    first, last = cycle_of(start, months)
    while first <= end:
        if start <= last <= end:
            out.append((first, last))
        first, last = cycle_of(last + dt.timedelta(days=1), months)
    return out
