"""Demo inspections go through the services and show every state a page can show."""

from __future__ import annotations

import datetime as dt

from django.core.management import call_command

from yiwang.core.calendar import SHANGHAI
from yiwang.inspections import demo
from yiwang.inspections.models import Inspection, Rectification, SpaceStatus
from yiwang.spaces.models import Space

from .conftest import make_space


def test_demo_inspections_cover_every_state_once(iw):
    for n in range(4, 16):
        make_space(f"HK-DX-{n:04d}", iw.quyang if n % 2 else iw.jiaxing, using_unit=iw.unit_a if n % 3 else iw.unit_b)
    now = dt.datetime(2026, 11, 23, 10, tzinfo=SHANGHAI)
    created = demo.seed(now=now)
    assert created == Inspection.objects.count() > 20
    assert Inspection.objects.filter(kind="spot", overrules__isnull=False).count() == 1
    states = set(Rectification.objects.values_list("status", flat=True))
    assert states == {"open", "submitted", "closed"}
    assert Rectification.objects.filter(overdue=True).exists()
    assert Rectification.objects.filter(events__action="reject").exists()
    assert SpaceStatus.objects.count() == Space.objects.filter(using_unit__isnull=False).count()
    assert demo.seed(now=now) == 0  # once only
    call_command("inspections_sweep")
    call_command("load_checklists")
