"""ISO weeks in Shanghai time: what "the week of 2026-W48" means for a report.

A week runs from Monday 00:00 to the next Monday 00:00 in Asia/Shanghai
(``start`` included, ``end`` excluded), and its days are Monday to Sunday. The
default week is the last complete one: on Monday 2026-11-30 (any hour) that is
2026-W48, Monday 23 to Sunday 29 November.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.utils import timezone

from yiwang.core.calendar import SHANGHAI
from yiwang.core.errors import Invalid

_PATTERN = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)
# Weeks before the hotline's first data or far in the future are typos, not requests.
FIRST_YEAR = 2000


def _md(day: dt.date) -> str:
    return f"{day.month}月{day.day}日"


@dataclass(frozen=True, order=True)
class Week:
    monday: dt.date

    @classmethod
    def of(cls, day: dt.date) -> "Week":
        return cls(day - dt.timedelta(days=day.weekday()))

    @classmethod
    def last_complete(cls, *, now: dt.datetime | None = None) -> "Week":
        today = timezone.localtime(now or timezone.now(), SHANGHAI).date()
        return cls.of(today).previous

    @classmethod
    def parse(cls, text: str | None, *, now: dt.datetime | None = None) -> "Week":
        """``2026-W48`` (or ``2026W48``); empty means the last complete week; 400 with field ``week`` otherwise."""
        if not text:
            return cls.last_complete(now=now)
        match = _PATTERN.match(text.strip())
        if not match:
            raise Invalid(f"周次「{text}」格式应为 YYYY-Www，例如 2026-W48", field="week")
        year, number = int(match[1]), int(match[2])
        try:
            monday = dt.date.fromisocalendar(year, number, 1)
        except ValueError:
            raise Invalid(f"{year} 年没有第 {number} 周", field="week") from None
        week = cls(monday)
        today = timezone.localtime(now or timezone.now(), SHANGHAI).date()
        if year < FIRST_YEAR or week.monday > today:
            raise Invalid(f"周次「{text}」尚未开始或早于 {FIRST_YEAR} 年", field="week")
        return week

    @property
    def sunday(self) -> dt.date:
        return self.monday + dt.timedelta(days=6)

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.monday, dt.time(0), tzinfo=SHANGHAI)

    @property
    def end(self) -> dt.datetime:
        """Next Monday 00:00 Shanghai (excluded)."""
        return self.start + dt.timedelta(days=7)

    @property
    def previous(self) -> "Week":
        return Week(self.monday - dt.timedelta(days=7))

    @property
    def next(self) -> "Week":
        return Week(self.monday + dt.timedelta(days=7))

    @property
    def days(self) -> list[dt.date]:
        return [self.monday + dt.timedelta(days=i) for i in range(7)]

    @property
    def code(self) -> str:
        year, number, _ = self.monday.isocalendar()
        return f"{year}-W{number:02d}"

    @property
    def title(self) -> str:
        year, number, _ = self.monday.isocalendar()
        return f"{year} 年第 {number} 周（{_md(self.monday)}—{_md(self.sunday)}）"

    def complete(self, *, now: dt.datetime | None = None) -> bool:
        return (now or timezone.now()) >= self.end

    def __str__(self) -> str:
        return self.code
