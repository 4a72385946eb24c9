"""Deadlines from the calendar and the sweep that flips warnings."""

import datetime as dt
import threading

import pytest
from django.db import connection

from yiwang.core.calendar import SHANGHAI
from yiwang.core.models import CalendarDay
from yiwang.workorders import jobs, services, sla
from yiwang.workorders.models import Event, Notification, SlaState, WorkOrder
from yiwang.workorders.states import Status


def at(y, m, d, h, mi=0):
    return dt.datetime(y, m, d, h, mi, tzinfo=SHANGHAI)


@pytest.fixture
def dispatched(world, make_order):
    """Three orders dispatched on Monday 2026-11-23 10:00 (request/normal: sign 4h, handle 80h)."""
    orders = [make_order(now=at(2026, 11, 23, 9)) for _ in range(3)]
    for order in orders:
        services.dispatch(order, actor=world.dispatcher, now=at(2026, 11, 23, 10))
    return [WorkOrder.objects.get(pk=o.pk) for o in orders]


@pytest.mark.django_db
def test_deadlines_are_stored_at_dispatch(dispatched):
    order = dispatched[0]
    assert order.sign_deadline == at(2026, 11, 23, 14)
    assert order.yellow_at == at(2026, 12, 3, 10)  # 80% of 80 working hours = 64h = 8 working days
    assert order.handle_deadline == at(2026, 12, 7, 10)


@pytest.mark.django_db
def test_sweep_flips_each_order_once_and_records_each_flip(world, dispatched):
    services.sign(dispatched[0], actor=world.handler, now=at(2026, 11, 23, 11))
    flipped = sla.sweep(now=at(2026, 11, 23, 15))
    assert sorted(e.order_id for e in flipped) == sorted(o.pk for o in dispatched[1:])
    assert {e.action for e in flipped} == {"sign_overdue"}
    assert sla.sweep(now=at(2026, 11, 23, 15)) == []  # a second run finds nothing to do

    flipped = sla.sweep(now=at(2026, 12, 3, 10, 1))
    assert {e.action for e in flipped} == {"sla_yellow"} and len(flipped) == 3
    flipped = sla.sweep(now=at(2026, 12, 7, 10))
    assert {e.action for e in flipped} == {"sla_red"} and len(flipped) == 3
    assert set(WorkOrder.objects.values_list("sla_state", flat=True)) == {SlaState.RED}
    assert Event.objects.filter(action="sla_red").count() == 3


@pytest.mark.django_db
def test_replied_orders_are_not_flipped(world, dispatched):
    order = dispatched[0]
    services.sign(order, actor=world.handler, now=at(2026, 11, 23, 11))
    services.reply(order, actor=world.handler, text="已处理", now=at(2026, 11, 24, 11))
    flipped = sla.sweep(now=at(2026, 12, 8, 9))
    assert order.pk not in {e.order_id for e in flipped}
    assert WorkOrder.objects.get(pk=order.pk).sla_state == SlaState.NORMAL


@pytest.mark.django_db
def test_sweep_jumps_straight_to_red_when_both_have_passed(dispatched):
    flipped = sla.sweep(now=at(2026, 12, 8, 9))
    assert {e.action for e in flipped} == {"sign_overdue", "sla_red"}
    assert not Event.objects.filter(action="sla_yellow").exists()


@pytest.mark.django_db
def test_calendar_table_edit_and_recompute_moves_open_deadlines(dispatched):
    # The data bureau declares Friday 2026-12-04 a holiday after the orders were dispatched.
    CalendarDay.objects.create(date=dt.date(2026, 12, 4), kind=CalendarDay.Kind.HOLIDAY, name="测试调整")
    assert sla.recompute_open_deadlines(now=at(2026, 11, 24, 9)) == 3
    assert WorkOrder.objects.get(pk=dispatched[0].pk).handle_deadline == at(2026, 12, 8, 10)


@pytest.mark.django_db
def test_recompute_reads_open_orders_chunk_after_chunk(dispatched):
    assert [o.pk for o in sla._open_dispatched_in_chunks(size=2)] == sorted(o.pk for o in dispatched)


@pytest.mark.django_db
def test_deadline_crossing_into_2027_uses_the_table(world, make_order):
    # 2027 is unknown to the library; the table says 2027-01-04 (Mon) is still a holiday.
    CalendarDay.objects.create(date=dt.date(2027, 1, 4), kind=CalendarDay.Kind.HOLIDAY, name="元旦")
    order = make_order(now=at(2026, 12, 31, 9))
    services.dispatch(order, actor=world.dispatcher, now=at(2026, 12, 31, 9))
    order.refresh_from_db()
    # 80 working hours from Thu 31 Dec 09:00: 31 Dec (8h), 1 Jan fixed holiday, 4 Jan table holiday,
    # then 5 Jan..15 Jan is 9 working days (72h) -> Fri 15 Jan 17:00.
    assert order.handle_deadline == at(2027, 1, 15, 17)


@pytest.mark.django_db
def test_sla_events_notify_the_units(world, dispatched, monkeypatch):
    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)  # run queued tasks inline
    count = jobs.run_sla_sweep(now=at(2026, 12, 8, 9))
    assert count == 6  # past every deadline: sign overdue, then red, per order
    order = dispatched[0]
    units = set(Notification.objects.filter(order=order).values_list("unit__code", flat=True))
    assert units == {"ST-310109010", "JGW"}
    # the notification task is idempotent: re-running it adds nothing
    event = Event.objects.filter(order=order, action="sla_red").get()
    assert jobs.notify(event.pk) == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent sweepers need a server database")
def test_concurrent_sweeps_flip_each_order_exactly_once(world, make_order):
    orders = [make_order(now=at(2026, 11, 23, 9)) for _ in range(20)]
    for order in orders:
        services.dispatch(order, actor=world.dispatcher, now=at(2026, 11, 23, 10))
    barrier = threading.Barrier(4)
    results = []

    def run():
        barrier.wait()
        try:
            results.append(len(sla.sweep(now=at(2026, 12, 8, 9))))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == 40  # 20 sign-overdue + 20 red, whoever won each
    assert Event.objects.filter(action="sla_red").count() == 20
    assert Event.objects.filter(action="sign_overdue").count() == 20
    assert set(WorkOrder.objects.values_list("status", "sla_state")) == {(Status.DISPATCHED, SlaState.RED)}
