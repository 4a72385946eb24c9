"""Reads of alerts for the pages and the API: open first, with their evidence and the false-alarm rate."""

from __future__ import annotations

import datetime as dt

from django.db.models import Case, Count, IntegerField, QuerySet, Value, When

from yiwang.core.calendar import SHANGHAI
from yiwang.core.models import load_calendar
from yiwang.workorders.models import WorkOrder

from .models import Alert, AlertStatus, Kind, OrderTopic

STATUS_RANK = Case(When(status=AlertStatus.OPEN, then=Value(0)), When(status=AlertStatus.ACKNOWLEDGED, then=Value(1)),
                   default=Value(2), output_field=IntegerField())
CHART_HOURS_BEFORE = 24


def alert_list(*, status: str | None = None, kind: str | None = None) -> QuerySet[Alert]:
    """Open alerts first, then acknowledged, then the rest; newest first within each."""
    qs = Alert.objects.select_related("street", "category").annotate(
        rank=STATUS_RANK, n_orders=Count("links"))
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("rank", "-raised_at", "-id")


def alert_detail(pk: int) -> Alert:
    return Alert.objects.select_related("street", "category", "handled_by").get(pk=pk)


def alert_orders(alert: Alert) -> QuerySet[WorkOrder]:
    """The alert's orders, oldest first. No personal data is read: the page shows none."""
    return (WorkOrder.objects.filter(alert_links__alert=alert).select_related("street", "category", "lead_unit")
            .only("id", "number", "title", "status", "created_at", "street__name", "category__path",
                  "lead_unit__name").order_by("created_at", "id"))


def false_alarm_stats(*, since: dt.datetime, until: dt.datetime) -> dict:
    """False alarms: alerts raised in [since, until) that a duty officer dismissed.

    ``rate`` is over the alerts already decided (acknowledged, escalated or
    dismissed), so open alerts neither help nor hurt it; ``per_week`` is the
    dismissed count per 7 days of the period.
    """
    rows = dict(Alert.objects.filter(raised_at__gte=since, raised_at__lt=until).order_by()
                .values_list("status").annotate(n=Count("pk")))
    raised = sum(rows.values())
    dismissed = rows.get(AlertStatus.DISMISSED, 0)
    decided = raised - rows.get(AlertStatus.OPEN, 0)
    weeks = max((until - since).total_seconds() / (7 * 86400), 1e-9)
    return {"raised": raised, "decided": decided, "dismissed": dismissed,
            "rate": dismissed / decided if decided else None, "per_week": dismissed / weeks,
            "days": round((until - since).total_seconds() / 86400)}


def _key_times(alert: Alert, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    if alert.kind == Kind.TOPIC:
        qs = OrderTopic.objects.filter(name=alert.key)
    elif alert.kind == Kind.STREET:
        qs = WorkOrder.objects.filter(street_id=int(alert.key))
    else:
        qs = WorkOrder.objects.filter(category_id=int(alert.key))
    return list(qs.filter(created_at__gte=start, created_at__lt=end).order_by().values_list("created_at", flat=True))


def hourly_chart(alert: Alert) -> dict:
    """Hourly orders of the alert's key around the burst, against the expected count of each hour.

    Expected per hour = the key's daily rate on days of that hour's type x the
    district's share of that hour (the baseline the detector used).
    """
    start = (alert.first_order_at.astimezone(SHANGHAI) - dt.timedelta(hours=CHART_HOURS_BEFORE)).replace(
        minute=0, second=0, microsecond=0)
    end = alert.last_order_at.astimezone(SHANGHAI).replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=2)
    hours = int((end - start).total_seconds() // 3600)
    counts = [0] * hours
    for at in _key_times(alert, start, end):
        index = int((at - start).total_seconds() // 3600)
        if 0 <= index < hours:
            counts[index] += 1
    baseline = alert.detail.get("baseline") or {}
    rates = baseline.get("rates") or {"workday": alert.daily_rate, "restday": alert.daily_rate}
    shares = baseline.get("shares") or {"workday": [1 / 24] * 24, "restday": [1 / 24] * 24}
    calendar = load_calendar(start.date() - dt.timedelta(days=1), days=(end - start).days + 3)
    labels, expected = [], []
    for k in range(hours):
        moment = start + dt.timedelta(hours=k)
        kind = "workday" if calendar.is_working_day(moment.date()) else "restday"
        labels.append(moment.strftime("%m-%d %H:00"))
        expected.append(round(rates[kind] * shares[kind][moment.hour], 3))
    return {"labels": labels, "observed": counts, "expected": expected}
