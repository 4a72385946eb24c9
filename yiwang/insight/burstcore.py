"""The shared core of sudden-issue (突发) detection: day types, baseline rates and the test.

Pure Python (no Django): the batch replay (:mod:`.bursts`, ``yiwang insight
bursts``) and the live detector (:mod:`yiwang.alerts.detector`, orders in the
database) both call these functions, so an alert means the same thing in both.

The model: a key (a street, a category, a place or entity) receives orders at a
rate that depends on the type of day. Its *expected* count in a window is its
mean count per day over the baseline days of the same type (working day vs
weekend/holiday, adjusted working days included), never below ``floor`` (a
place never named before has a small rate, not zero), times the share of a
day's orders that fall in the window (1 for a 24-hour window). An alert is
raised when the *observed* count reaches ``min_count``, at least ``min_users``
distinct callers are involved (one person's repeated calls are repeat calls,
not a sudden issue) and the Poisson tail P(X >= observed | expected) is below
``alpha``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from scipy.special import pdtrc

IsWorkday = Callable[[date], bool]


@dataclass(frozen=True)
class Rule:
    baseline_days: int = 28
    floor: float = 0.15  # orders per day assumed for a key with no history
    min_count: int = 3
    min_users: int = 2
    alpha: float = 1e-4


@lru_cache(maxsize=4096)
def library_is_workday(day: date) -> bool:
    """The calendar library's answer; outside the years it knows, Monday to Friday."""
    try:
        import chinese_calendar

        return chinese_calendar.is_workday(day)
    except (NotImplementedError, ImportError):
        return day.weekday() < 5


def baseline_days(end: date, n: int) -> list[date]:
    """The ``n`` days before ``end`` (``end`` itself excluded), newest first."""
    return [end - timedelta(days=k) for k in range(1, n + 1)]


def days_of_type(days: Iterable[date], workday: bool, is_workday: IsWorkday) -> int:
    return sum(1 for d in days if is_workday(d) == workday)


def daily_rate(count_same_type: int, n_days_same_type: int, floor: float) -> float:
    """Mean orders per day of one type, never below ``floor``."""
    return max(floor, count_same_type / max(1, n_days_same_type))


def baseline_of_type(end: date, workday: bool, rule: Rule, is_workday: IsWorkday) -> list[date]:
    """The days of one type among the ``rule.baseline_days`` days before ``end``."""
    return [d for d in baseline_days(end, rule.baseline_days) if is_workday(d) == workday]


def rate_over(day_counts: Mapping[date, int], days: list[date], rule: Rule) -> tuple[float, int]:
    """(rate per day, number of days) over ``days``, all of one type (:func:`baseline_of_type`)."""
    return daily_rate(sum(day_counts.get(d, 0) for d in days), len(days), rule.floor), len(days)


def tail_p(observed: int, expected: float) -> float:
    """P(X >= observed) for X ~ Poisson(expected).

    ``scipy.special.pdtrc`` is what ``scipy.stats.poisson.sf`` computes, without the
    distribution object's argument checking around it: 0.8 µs a call instead of 25 µs,
    and a check under a mass event tests thousands of keys.
    """
    if observed <= 0:
        return 1.0
    return float(pdtrc(observed - 1, expected))


def test(observed: int, users: int, expected: float, rule: Rule, *, alpha: float | None = None) -> float | None:
    """The Poisson tail p when the count is a burst under ``rule``, else None.

    ``users`` is the number of distinct callers (0 when callers are unknown: then
    the caller condition cannot be checked and is skipped).
    """
    if observed < rule.min_count:
        return None
    if users and users < rule.min_users:
        return None
    p = tail_p(observed, expected)
    return p if p < (rule.alpha if alpha is None else alpha) else None
