"""Self-inspection cycles by interval."""

from __future__ import annotations

import datetime as dt

import pytest

from yiwang.inspections import schedule

D = dt.date


@pytest.mark.parametrize("day, months, cycle", [
    (D(2026, 11, 21), 1, (D(2026, 11, 1), D(2026, 11, 30))),
    (D(2026, 11, 21), 3, (D(2026, 10, 1), D(2026, 12, 31))),
    (D(2026, 2, 10), 6, (D(2026, 1, 1), D(2026, 6, 30))),
    (D(2028, 2, 29), 1, (D(2028, 2, 1), D(2028, 2, 29))),
])
def test_cycles_are_aligned_on_the_calendar_year(day, months, cycle):
    assert schedule.cycle_of(day, months) == cycle


def test_next_due_is_the_end_of_the_following_cycle_or_of_this_one_when_never_inspected():
    today = D(2026, 11, 21)
    assert schedule.next_due(None, 3, today) == D(2026, 12, 31)
    assert schedule.next_due(D(2026, 11, 2), 1, today) == D(2026, 12, 31)
    assert schedule.next_due(D(2026, 12, 30), 3, today) == D(2027, 3, 31)
    assert schedule.next_due(D(2026, 3, 1), 6, today) == D(2026, 12, 31)


def test_cycles_ending_within_a_period():
    q4 = (D(2026, 10, 1), D(2026, 12, 31))
    assert len(schedule.cycles_ending_within(*q4, 1)) == 3
    assert schedule.cycles_ending_within(*q4, 3) == [q4]
    assert schedule.cycles_ending_within(*q4, 6) == [(D(2026, 7, 1), D(2026, 12, 31))]
    assert schedule.cycles_ending_within(D(2026, 7, 1), D(2026, 9, 30), 6) == []


def test_interval_must_divide_the_year():
    with pytest.raises(ValueError):
        schedule.cycle_of(D(2026, 1, 1), 5)
