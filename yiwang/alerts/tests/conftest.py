"""Order histories written straight into the table (the detector reads only created_at, street,
category, caller and text), so a 28-day baseline costs one bulk insert per test."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache

from yiwang.core.calendar import SHANGHAI
from yiwang.demo import factories
from yiwang.insight.burstcore import library_is_workday
from yiwang.workorders.models import AppealType, Channel, WorkOrder

QUIET_TITLE = "夜间噪音扰民"
QUIET_TEXT = "楼下夜间施工噪音很大影响休息"  # names no place or entity: no topic key


def at(y, m, d, h=0, mi=0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # the hour shares are cached per day; each test has its own orders
    yield
    cache.clear()


@pytest.fixture
def street():
    return factories.street("曲阳路")


@pytest.fixture
def other_street():
    return factories.street("欧阳路")


def bulk_orders(rows) -> list[WorkOrder]:
    """rows: (created_at, street, caller, title, content)."""
    return WorkOrder.objects.bulk_create([
        WorkOrder(channel=Channel.PHONE, appeal_type=AppealType.COMPLAINT, title=title, content=content,
                  street=street, appellant_phone=caller, created_at=when)
        for when, street, caller, title, content in rows
    ])


@pytest.fixture
def workday_history(street, other_street):
    """28+ days before 2025-10-02: 12 orders on each working day (09:00-16:40) in 曲阳路, none on rest days;
    3 a day in 欧阳路 every day. Callers are all different."""
    rows = []
    day = dt.date(2025, 8, 25)
    n = 0
    while day < dt.date(2025, 10, 9):
        if library_is_workday(day):
            for k in range(12):
                n += 1
                rows.append((at(day.year, day.month, day.day, 9 + (k * 40) // 60, (k * 40) % 60), street,
                             f"139{n:08d}", QUIET_TITLE, QUIET_TEXT))
        for k in range(3):
            n += 1
            rows.append((at(day.year, day.month, day.day, 10 + 3 * k), other_street, f"138{n:08d}", QUIET_TITLE,
                         QUIET_TEXT))
        day += dt.timedelta(days=1)
    return bulk_orders(rows)
