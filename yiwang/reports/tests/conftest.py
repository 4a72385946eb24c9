"""Two hand-built weeks: 2026-W48 (the KPI app's ``kpi_world`` plus three boundary orders) and 2026-W47.

====  =======================  =======  ========  ==============  ============
order registered (Shanghai)      street   channel   appeal type     week
====  =======================  =======  ========  ==============  ============
A–E   Mon 23 Nov 09:00–09:04   曲阳路    phone     request         W48
F     Mon 23 Nov 09:30         欧阳路    phone     consultation    W48
I     Mon 23 Nov 00:30         欧阳路    phone     complaint       W48 (Sun 16:30 UTC)
H     Sun 29 Nov 23:59:30      曲阳路    web       request         W48
G     Mon 30 Nov 09:00         曲阳路    phone     request         W49
P1    Mon 16 Nov 10:00         曲阳路    phone     request         W47
P2    Wed 18 Nov 14:00         嘉兴路    web       complaint       W47
P3    Sun 22 Nov 23:59         曲阳路    phone     request         W47
====  =======================  =======  ========  ==============  ============

W48: 8 orders (Mon 7, Sun 1; phone 7, web 1; 曲阳路 6, 欧阳路 2); W47: 3.
The KPIs of W48 are kpi_world's (H and I are only registered): sign 2/4,
resolution 1/3, satisfaction 2/3, closure 2/3, return 1/4, repeat 1/8.
"""

from __future__ import annotations

import datetime as dt

import pytest

from yiwang.core.calendar import SHANGHAI
from yiwang.demo import factories
from yiwang.kpi import facts
from yiwang.kpi.tests.conftest import kpi_world  # noqa: F401  (the fixture, reused)
from yiwang.workorders.models import AppealType, Channel

from ..weeks import Week

W48 = Week(dt.date(2026, 11, 23))
W47 = Week(dt.date(2026, 11, 16))


def at(month, day, hour, minute=0, second=0):
    return dt.datetime(2026, month, day, hour, minute, second, tzinfo=SHANGHAI)


@pytest.fixture
def report_world(kpi_world):  # noqa: F811
    w = kpi_world.world
    mk = lambda **kw: factories.make_order(w.operator, **kw)  # noqa: E731
    o = kpi_world
    o.i = mk(now=at(11, 23, 0, 30), street=factories.street("欧阳路"), appeal_type=AppealType.COMPLAINT,
             title="凌晨施工噪音")
    o.h = mk(now=at(11, 29, 23, 59, 30), channel=Channel.WEB, title="周日深夜反映")
    o.p1 = mk(now=at(11, 16, 10), title="上周路灯")
    o.p2 = mk(now=at(11, 18, 14), channel=Channel.WEB, street=factories.street("嘉兴路"),
              appeal_type=AppealType.COMPLAINT, title="上周投诉")
    o.p3 = mk(now=at(11, 22, 23, 59), title="上周日深夜")
    facts.rebuild()
    return o


@pytest.fixture
def private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return settings.PRIVATE_MEDIA_ROOT


# The hand-built weeks lie in late November 2026; pages and jobs ask the clock
# which weeks are over, so their tests run on Thursday 10 December 2026.
CLOCK = dt.datetime(2026, 12, 10, 9, tzinfo=SHANGHAI)


@pytest.fixture
def clock(monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: CLOCK.astimezone(dt.timezone.utc))
    return CLOCK
