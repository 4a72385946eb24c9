"""Each order's facts from its event log, and the three ways they are kept."""

import pytest

from yiwang.kpi import facts
from yiwang.kpi.models import OrderFact, RefreshState
from yiwang.workorders import services

from .conftest import at

pytestmark = pytest.mark.django_db

COLUMNS = ["sign_on_time", "closed_on_time", "satisfied", "resolved", "returned", "repeat", "dispatched", "direct"]


def fact_table():
    return {f.order_id: f for f in OrderFact.objects.all()}


def test_each_order_fact_matches_its_history(kpi_world):
    o, w = kpi_world, kpi_world.world
    facts.refresh_recent()
    got = fact_table()
    expect = {  # sign, close, satisfied, resolved, returned, repeat, dispatched, direct
        o.a: (True, True, True, True, False, False, True, False),
        o.b: (False, True, True, False, False, False, True, False),
        o.c: (True, False, False, False, False, False, True, False),
        o.d: (False, None, None, None, True, False, True, False),
        o.e: (None, None, None, None, False, True, False, False),
        o.f: (None, None, None, None, False, False, False, True),
        o.g: (None, None, None, None, False, False, False, False),
    }
    for order, values in expect.items():
        assert tuple(getattr(got[order.pk], c) for c in COLUMNS) == values, order.title
    assert got[o.d.pk].first_unit_id == w.street_office.pk and got[o.d.pk].unit_id == w.other_unit.pk
    assert got[o.a.pk].unit_id == got[o.a.pk].first_unit_id == w.street_office.pk
    assert got[o.e.pk].unit_id is None
    assert str(got[o.a.pk].day) == "2026-11-23" and str(got[o.g.pk].day) == "2026-11-30"
    assert got[o.a.pk].top_category.level == 1
    assert got[o.f.pk].street.name == "欧阳路"


def test_rebuild_from_the_event_log_gives_the_same_rows(kpi_world):
    facts.refresh_recent()
    before = {pk: tuple(getattr(f, c) for c in [*COLUMNS, "day", "unit_id", "first_unit_id", "street_id"])
              for pk, f in fact_table().items()}
    OrderFact.objects.all().delete()
    assert facts.rebuild() == 7
    after = {pk: tuple(getattr(f, c) for c in [*COLUMNS, "day", "unit_id", "first_unit_id", "street_id"])
             for pk, f in fact_table().items()}
    assert after == before
    assert RefreshState.objects.get().last_event_id > 0


def test_the_minute_job_folds_in_new_events_only(kpi_world):
    o, w = kpi_world, kpi_world.world
    assert facts.refresh_recent() == 7
    assert fact_table()[o.d.pk].sign_on_time is False
    # Reopen C after the dissatisfied follow-up; the new round is signed on time and satisfies.
    services.reopen(o.c, actor=w.supervisor, reason="群众不满意", now=at(12, 9, 11))
    services.sign(o.c, actor=w.handler, now=at(12, 9, 12))
    services.reply(o.c, actor=w.handler, text="已彻底解决", now=at(12, 10, 10))
    services.review_reply(o.c, actor=w.supervisor, approve=True, now=at(12, 10, 11))
    services.follow_up(o.c, actor=w.operator, satisfaction="satisfied", resolved=True, now=at(12, 11, 10))
    assert facts.refresh_recent(lookback=0) == 1  # only C has new events
    c = fact_table()[o.c.pk]
    # The last reply was on time and the last follow-up satisfied and resolved.
    assert (c.closed_on_time, c.satisfied, c.resolved, c.sign_on_time) == (True, True, True, True)


def test_a_co_units_sign_for_is_not_the_lead_units(kpi_world):
    o, w = kpi_world, kpi_world.world
    order = o.g
    services.dispatch(order, actor=w.dispatcher, lead_unit=w.street_office, co_units=[w.jgw], now=at(11, 30, 10))
    services.sign(order, actor=w.co_handler, now=at(11, 30, 10, 30))
    facts.refresh([order.pk])
    assert fact_table()[order.pk].sign_on_time is None
    services.sign(order, actor=w.handler, now=at(11, 30, 11))
    facts.refresh([order.pk])
    assert fact_table()[order.pk].sign_on_time is True


def test_the_rebuild_command_and_the_schedule(kpi_world):
    from io import StringIO

    from django.core.management import call_command
    from django_q.models import Schedule

    out = StringIO()
    call_command("kpi_rebuild", stdout=out)
    assert "7 orders" in out.getvalue() and OrderFact.objects.count() == 7
    call_command("kpi_rebuild", "--recent", stdout=out)
    job = Schedule.objects.get(name="kpi-facts-refresh")
    assert (job.func, job.minutes) == ("yiwang.kpi.jobs.refresh_recent", 1)
