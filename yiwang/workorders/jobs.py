"""Background work of the engine, run by the django-q2 cluster (``yiwang worker``).

Tasks are queued only after the transaction that caused them commits, and are
idempotent (a retried task finds its notification rows already there).
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django_q.tasks import async_task

log = logging.getLogger(__name__)

# Which events tell whom. Units: the order's active lead and co-units.
TO_UNITS = {"dispatch", "reopen", "escalate", "reject_return", "reject_reply", "approve_extension",
            "refuse_extension", "sla_yellow", "sla_red", "sign_overdue"}
TO_DISPATCHERS = {"request_return", "request_extension", "reply", "register", "transfer_from_city"}


def on_commit_notify(event) -> None:
    if event.action in TO_UNITS or event.action in TO_DISPATCHERS:
        transaction.on_commit(lambda: async_task("yiwang.workorders.jobs.notify", event.pk, task_name=f"notify-{event.pk}"))


def notify(event_id: int) -> int:
    from .models import Assignment, Event, Notification

    event = Event.objects.select_related("order").filter(pk=event_id).first()
    if event is None:
        return 0
    order = event.order
    message = f"{order.number} {event.get_action_display()}：{order.title}"[:255]
    rows = []
    if event.action in TO_UNITS:
        units = Assignment.objects.filter(order=order, active=True).values_list("unit_id", flat=True)
        rows += [Notification(order=order, event=event, unit_id=u, message=message) for u in units]
    if event.action in TO_DISPATCHERS:
        rows.append(Notification(order=order, event=event, role="dispatcher", message=message))
    created = 0
    for row in rows:
        try:
            with transaction.atomic():
                row.save()
                created += 1
        except IntegrityError:
            pass  # already delivered by an earlier attempt
    return created


def run_sla_sweep(now=None) -> int:
    """Scheduled every minute. Safe when several clusters run it at once."""
    from . import sla

    events = sla.sweep(now)
    for event in events:
        async_task("yiwang.workorders.jobs.notify", event.pk, task_name=f"notify-{event.pk}")
    return len(events)
