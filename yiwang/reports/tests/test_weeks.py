"""ISO weeks in Shanghai time: parsing, the default week, and the boundaries."""

import datetime as dt

import pytest

from yiwang.core.calendar import SHANGHAI
from yiwang.core.errors import Invalid
from yiwang.reports.weeks import Week

NOW = dt.datetime(2026, 12, 2, 10, tzinfo=SHANGHAI)  # Wednesday of 2026-W49


def test_parse_accepts_the_html_week_format_and_a_short_form():
    assert Week.parse("2026-W48", now=NOW) == Week(dt.date(2026, 11, 23))
    assert Week.parse("2026w48", now=NOW) == Week(dt.date(2026, 11, 23))
    assert Week.parse("2026-W1", now=NOW).monday == dt.date(2025, 12, 29)  # ISO week 1 starts in December
    assert Week.parse("2020-W53", now=NOW).monday == dt.date(2020, 12, 28)


@pytest.mark.parametrize("text", ["2026-48", "W48", "2026-W54", "2025-W53", "2026-W00", "1999-W10", "2026-W50"])
def test_bad_or_future_weeks_are_refused_with_the_field(text):
    with pytest.raises(Invalid) as err:
        Week.parse(text, now=NOW)
    assert err.value.field == "week"


def test_the_current_week_may_be_previewed_but_is_not_complete():
    week = Week.parse("2026-W49", now=NOW)
    assert not week.complete(now=NOW)
    assert week.previous.complete(now=NOW)


def test_default_is_the_last_complete_week_in_shanghai_time():
    assert Week.parse("", now=NOW).code == "2026-W48"
    # Monday 00:05 in Shanghai is still Sunday in UTC: the new week has begun all the same.
    monday_early = dt.datetime(2026, 11, 30, 0, 5, tzinfo=SHANGHAI)
    assert monday_early.astimezone(dt.timezone.utc).weekday() == 6
    assert Week.last_complete(now=monday_early).code == "2026-W48"
    sunday_late = dt.datetime(2026, 11, 29, 23, 59, tzinfo=SHANGHAI)
    assert Week.last_complete(now=sunday_late).code == "2026-W47"


def test_week_bounds_are_monday_midnight_shanghai():
    week = Week.of(dt.date(2026, 11, 26))
    assert week.code == "2026-W48" and week.sunday == dt.date(2026, 11, 29)
    assert week.start == dt.datetime(2026, 11, 23, tzinfo=SHANGHAI)
    assert week.end == dt.datetime(2026, 11, 30, tzinfo=SHANGHAI)
    assert week.start.astimezone(dt.timezone.utc) == dt.datetime(2026, 11, 22, 16, tzinfo=dt.timezone.utc)
    assert week.title == "2026 年第 48 周（11月23日—11月29日）"
    assert [d.day for d in week.days] == [23, 24, 25, 26, 27, 28, 29]
    assert week.previous.code == "2026-W47" and week.next.code == "2026-W49"
