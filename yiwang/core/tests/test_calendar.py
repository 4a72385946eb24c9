"""Working-day arithmetic. No database: the calendar is pure."""

import datetime as dt

import pytest

from yiwang.core.calendar import SHANGHAI, WorkingCalendar, library_knows_year, uncovered_years


def at(y, m, d, h=9, mi=0):
    return dt.datetime(y, m, d, h, mi, tzinfo=SHANGHAI)


cal = WorkingCalendar()


def test_weekday_is_working_and_weekend_is_not():
    assert cal.is_working_day(dt.date(2026, 11, 20))  # Friday
    assert not cal.is_working_day(dt.date(2026, 11, 21))  # Saturday


def test_national_day_and_adjusted_working_day_from_library():
    assert not cal.is_working_day(dt.date(2025, 10, 3))
    assert cal.is_working_day(dt.date(2025, 9, 28))  # Sunday made a working day (调休)


def test_add_hours_within_a_day():
    assert cal.add_working_hours(at(2026, 11, 23, 9, 30), 4) == at(2026, 11, 23, 13, 30)


def test_add_hours_carries_over_the_weekend():
    # Friday 15:00 + 4h: 2h on Friday, 2h on Monday.
    assert cal.add_working_hours(at(2026, 11, 20, 15), 4) == at(2026, 11, 23, 11)


def test_start_outside_working_time_begins_next_working_morning():
    assert cal.add_working_hours(at(2026, 11, 21, 20), 1) == at(2026, 11, 23, 10)
    assert cal.add_working_hours(at(2026, 11, 23, 7), 0) == at(2026, 11, 23, 9)


def test_a_full_day_ends_at_close_of_business():
    assert cal.add_working_days(at(2026, 11, 23, 9), 1) == at(2026, 11, 23, 17)


def test_deadline_skips_national_day_week():
    # 2025-09-30 (Tue) 09:00 + 2 working days: Oct 1-8 are holidays, Oct 11 (Sat) is a working day.
    assert cal.add_working_days(at(2025, 9, 30, 9), 2) == at(2025, 10, 9, 17)


def test_years_the_library_does_not_know_use_the_fallback_rule():
    assert not library_knows_year(2031)
    assert not cal.is_working_day(dt.date(2031, 10, 1))  # fixed-date National Day
    assert cal.is_working_day(dt.date(2031, 10, 6))  # a Monday
    assert uncovered_years([2026, 2031], entered_years=set()) == [2031]
    assert uncovered_years([2031], entered_years={2031}) == []


def test_overrides_win_over_library_and_fallback():
    spring_festival_2027 = {dt.date(2027, 2, 8): False, dt.date(2027, 2, 6): True}
    c = WorkingCalendar(spring_festival_2027)
    assert not c.is_working_day(dt.date(2027, 2, 8))  # a Monday made a holiday
    assert c.is_working_day(dt.date(2027, 2, 6))  # a Saturday made a working day
    # Friday 2027-02-05 16:00 + 2h: 1h Friday, Saturday is a working day from the table.
    assert c.add_working_hours(at(2027, 2, 5, 16), 2) == at(2027, 2, 6, 10)


def test_hours_between_counts_only_working_time():
    assert cal.working_hours_between(at(2026, 11, 20, 15), at(2026, 11, 23, 11)) == 4
    assert cal.working_hours_between(at(2026, 11, 23, 11), at(2026, 11, 20, 15)) == -4


@pytest.mark.parametrize("hours", [0.5, 3, 8, 17, 40, 120, 333])
def test_hours_between_inverts_add(hours):
    start = at(2026, 12, 28, 10, 15)  # crosses New Year 2027
    assert cal.working_hours_between(start, cal.add_working_hours(start, hours)) == pytest.approx(hours)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        cal.add_working_hours(dt.datetime(2026, 1, 1), 1)
    with pytest.raises(ValueError):
        cal.add_working_hours(at(2026, 1, 5), -1)
    with pytest.raises(ValueError):
        WorkingCalendar(start_hour=18, end_hour=9)


def test_a_kept_library_answer_never_hides_another_calendars_override():
    national_day = dt.date(2026, 10, 1)
    plain = WorkingCalendar()
    assert plain.is_working_day(national_day) is False  # now kept
    overridden = WorkingCalendar({national_day: True})
    assert overridden.is_working_day(national_day) is True
    assert plain.is_working_day(national_day) is False
    assert WorkingCalendar({national_day: True}).is_working_day(national_day) is True
