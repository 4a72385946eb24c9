"""Deadlines and the sweep that turns them into yellow/red warnings.

Deadlines are stored columns computed here from recorded timestamps, the SLA
rule and the working calendar, so they survive restarts and can be recomputed
(``yiwang recompute-deadlines``) after someone edits the calendar table.
The sweep flips state with conditional updates (``WHERE sla_state = old``), so
several workers running it at once never double-act, and each flip is an event row.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from yiwang.core.calendar import WorkingCalendar
from yiwang.core.models import load_calendar

from .models import Event, SlaRule, SlaState, WorkOrder
from .states import UNIT_STAGE, Action, Status

log = logging.getLogger(__name__)

# Used only if the admin deleted the rule for a type/urgency pair: a generous
# default is safer than refusing to dispatch.
FALLBACK_RULE = SlaRule(sign_hours=Decimal(8), handle_hours=Decimal(15 * 8), warn_ratio=Decimal("0.8"))


@dataclass(frozen=True)
class Deadlines:
    sign: dt.datetime
    handle: dt.datetime
    yellow: dt.datetime


def rule_for(appeal_type: str, urgency: str) -> SlaRule:
    return SlaRule.objects.filter(appeal_type=appeal_type, urgency=urgency).first() or FALLBACK_RULE


def compute_deadlines(
    *, clock_start: dt.datetime, rule: SlaRule, extension_hours: Decimal | float = 0,
    city_deadline: dt.datetime | None = None, calendar: WorkingCalendar,
) -> Deadlines:
    """Deadlines for a dispatch at ``clock_start``.

    An approved extension pauses the handling clock, which in working time is
    the same as moving the deadline by the paused working hours. A city
    transfer carries the city's own deadline, which is never exceeded.
    """
    handle_hours = float(rule.handle_hours) + float(extension_hours)
    sign = calendar.add_working_hours(clock_start, float(rule.sign_hours))
    handle = calendar.add_working_hours(clock_start, handle_hours)
    if city_deadline is not None and city_deadline < handle:
        handle = city_deadline
        handle_hours = max(calendar.working_hours_between(clock_start, handle), 0.0)
    yellow = calendar.add_working_hours(clock_start, handle_hours * float(rule.warn_ratio))
    return Deadlines(sign=min(sign, handle), handle=handle, yellow=min(yellow, handle))


def state_at(order: WorkOrder, now: dt.datetime) -> str:
    if order.handle_deadline and now >= order.handle_deadline:
        return SlaState.RED
    if order.yellow_at and now >= order.yellow_at:
        return SlaState.YELLOW
    return SlaState.NORMAL


def apply_deadlines(order: WorkOrder, *, now: dt.datetime, calendar: WorkingCalendar | None = None) -> None:
    """Set the order's deadline columns from its dispatch time and approved extensions (no save).

    Call it only for an order that is (or is about to be) with a unit: the
    warning state it sets is that of a running clock.
    """
    if order.dispatched_at is None:
        order.sign_deadline = order.handle_deadline = order.yellow_at = None
        order.sla_state = SlaState.NORMAL
        return
    calendar = calendar or load_calendar(order.dispatched_at.date() - dt.timedelta(days=1))
    deadlines = compute_deadlines(
        clock_start=order.dispatched_at,
        rule=rule_for(order.appeal_type, order.urgency),
        extension_hours=order.extension_hours,
        city_deadline=order.city_deadline,
        calendar=calendar,
    )
    order.sign_deadline, order.handle_deadline, order.yellow_at = deadlines.sign, deadlines.handle, deadlines.yellow
    order.sla_state = state_at(order, now)
    order.sign_overdue = order.signed_at is None and now >= deadlines.sign


# --- the sweep -------------------------------------------------------------

SWEEP_BATCH = 500


def _flip(order_id: int, *, field: str, old, new, action: str, now: dt.datetime, extra: dict) -> Event | None:
    """Conditionally flip one order; write the event only if this worker won."""
    with transaction.atomic():
        won = WorkOrder.objects.filter(pk=order_id, **{field: old}, **extra).update(**{field: new})
        if not won:
            return None
        status = WorkOrder.objects.values_list("status", flat=True).get(pk=order_id)
        return Event.objects.create(
            order_id=order_id, action=action, from_status=status, to_status=status,
            reason=Action(action).label, data={field: str(new)}, created_at=now,
        )


def sweep(now: dt.datetime | None = None) -> list[Event]:
    """Flip every order whose stored deadline has passed; return the events written.

    Safe to run concurrently: each flip is a conditional update, and only the
    worker whose update matched writes the event.
    """
    now = now or timezone.now()
    events: list[Event | None] = []
    unit_stage = [s.value for s in UNIT_STAGE]

    overdue_sign = WorkOrder.objects.filter(
        status=Status.DISPATCHED, sign_overdue=False, sign_deadline__lte=now
    ).order_by("sign_deadline").values_list("pk", flat=True)[:SWEEP_BATCH]
    for pk in list(overdue_sign):
        events.append(_flip(pk, field="sign_overdue", old=False, new=True,
                                        action=Action.SIGN_OVERDUE, now=now,
                                        extra={"status": Status.DISPATCHED, "sign_deadline__lte": now}))

    red = WorkOrder.objects.filter(
        status__in=unit_stage, sla_state__in=[SlaState.NORMAL, SlaState.YELLOW], handle_deadline__lte=now
    ).order_by("handle_deadline").values_list("pk", "sla_state")[:SWEEP_BATCH]
    for pk, old in list(red):
        events.append(_flip(pk, field="sla_state", old=old, new=SlaState.RED, action=Action.SLA_RED,
                               now=now, extra={"status__in": unit_stage, "handle_deadline__lte": now}))

    yellow = WorkOrder.objects.filter(
        status__in=unit_stage, sla_state=SlaState.NORMAL, yellow_at__lte=now
    ).order_by("yellow_at").values_list("pk", flat=True)[:SWEEP_BATCH]
    for pk in list(yellow):
        events.append(_flip(pk, field="sla_state", old=SlaState.NORMAL, new=SlaState.YELLOW,
                                  action=Action.SLA_YELLOW, now=now,
                                  extra={"status__in": unit_stage, "yellow_at__lte": now}))
    flipped = [e for e in events if e is not None]
    if flipped:
        log.info("sla sweep at %s flipped %d orders", now.isoformat(), len(flipped))
    return flipped


def _open_dispatched_in_chunks(size: int = 2000):
    """Open dispatched orders, a fully read chunk at a time (by id).

    Not ``.iterator()``: on SQLite its open cursor keeps a read snapshot, and the
    updates written meanwhile fail with "database is locked" once another connection
    (the job worker, a request) has committed.
    """
    orders = WorkOrder.objects.filter(status__in=[s.value for s in UNIT_STAGE],
                                      dispatched_at__isnull=False).order_by("pk")
    after = 0
    while True:
        chunk = list(orders.filter(pk__gt=after)[:size])
        yield from chunk
        if len(chunk) < size:
            return
        after = chunk[-1].pk


def recompute_open_deadlines(now: dt.datetime | None = None) -> int:
    """Recompute stored deadlines of every open dispatched order (after a calendar or rule edit)."""
    now = now or timezone.now()
    calendar = load_calendar(now.date() - dt.timedelta(days=200), days=600)
    changed = 0
    for order in _open_dispatched_in_chunks():
        before = (order.sign_deadline, order.handle_deadline, order.yellow_at, order.sla_state)
        apply_deadlines(order, now=now, calendar=calendar)
        if (order.sign_deadline, order.handle_deadline, order.yellow_at, order.sla_state) != before:
            WorkOrder.objects.filter(pk=order.pk).update(
                sign_deadline=order.sign_deadline, handle_deadline=order.handle_deadline,
                yellow_at=order.yellow_at, sla_state=order.sla_state,
            )
            changed += 1
    return changed
