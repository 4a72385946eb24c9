"""The numbers of the weekly analysis report (热线分析周报), as one plain, JSON-ready dict.

::

    from yiwang.reports.selectors import weekly_report
    from yiwang.reports.weeks import Week
    data = weekly_report(Week.parse("2026-W48"))           # district-wide
    data = weekly_report(Week.parse("2026-W48"), unit=7)   # one unit's version

The page, the PDF, the xlsx and the stored report (``WeeklyReport.data``) all
render this dict, so they cannot disagree. Sections:

- ``volumes``: orders *registered* in the week (Monday 00:00 to Monday 00:00,
  Shanghai) and in the week before, by day, channel, appeal type, street and leaf
  category, each with the change on the previous week. Counted on the work
  orders themselves (one grouped query per week over the ``wo_created`` index).
- ``kpis``: the six KPIs of :mod:`yiwang.kpi.selectors` for the orders registered
  in the week and in the week before, and per street and per unit; same
  definitions as the KPI page (outcomes known when the report is built).
- ``clusters`` / ``alerts``: the week's case clusters and sudden-issue alerts
  when those apps are installed (``available: False`` otherwise); district-wide
  reports only.
- ``summary``: template sentences over the numbers above (:mod:`summary`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.apps import apps
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from yiwang.core.calendar import SHANGHAI
from yiwang.kpi import selectors as kpi
from yiwang.org.models import Category, Street, Unit
from yiwang.workorders.models import AppealType, Channel, WorkOrder

from . import summary
from .weeks import Week

TOP_CATEGORIES = 10
TOP_CLUSTERS = 10
KPI_CODES = [d["code"] for d in kpi.DEFINITIONS]
KPI_NAMES = {d["code"]: d["name"] for d in kpi.DEFINITIONS}
# Higher is better for these; for return and repeat-call rates lower is better.
HIGHER_IS_BETTER = {"sign", "resolution", "satisfaction", "closure"}


def change(current: int | float | None, previous: int | float | None) -> float | None:
    """Relative change on the previous week (0.25 = +25 %); None when there is nothing to compare with."""
    if current is None or not previous:
        return None
    return round((current - previous) / previous, 4)


def _orders(week: Week, unit: int | None):
    qs = WorkOrder.objects.filter(created_at__gte=week.start, created_at__lt=week.end)
    return qs.filter(lead_unit_id=unit) if unit is not None else qs


def _grouped_counts(week: Week, unit: int | None) -> dict[str, Counter]:
    """One grouped query: counts per day, channel, appeal type, street and category."""
    rows = (_orders(week, unit).order_by()
            .values_list(TruncDate("created_at", tzinfo=SHANGHAI), "channel", "appeal_type", "street_id",
                         "category_id")
            .annotate(n=Count("pk")))
    counts = {k: Counter() for k in ("day", "channel", "appeal_type", "street", "category")}
    for day, channel, appeal_type, street, category, n in rows:
        # SQLite answers the date as a string.
        counts["day"][day if isinstance(day, str) else day.isoformat()] += n
        counts["channel"][channel] += n
        counts["appeal_type"][appeal_type] += n
        counts["street"][street] += n
        counts["category"][category] += n
    return counts


def _compare(keys_labels, current: Counter, previous: Counter) -> list[dict]:
    rows = []
    for key, label in keys_labels:
        cur, prev = current.get(key, 0), previous.get(key, 0)
        if cur or prev:
            rows.append({"key": key, "name": label, "count": cur, "previous": prev, "change": change(cur, prev)})
    return rows


def _share(rows: list[dict], total: int) -> list[dict]:
    for row in rows:
        row["share"] = round(row["count"] / total, 4) if total else None
    return rows


def volumes(week: Week, *, unit: int | None = None) -> dict:
    cur, prev = _grouped_counts(week, unit), _grouped_counts(week.previous, unit)
    total, prev_total = sum(cur["channel"].values()), sum(prev["channel"].values())
    days = [{"day": d.isoformat(), "weekday": "一二三四五六日"[d.weekday()], "count": cur["day"].get(d.isoformat(), 0),
             "previous": prev["day"].get((d - dt.timedelta(days=7)).isoformat(), 0)} for d in week.days]
    streets = dict(Street.objects.values_list("pk", "name"))
    street_rows = _compare([(pk, name) for pk, name in streets.items()] + [(None, "（未定位街道）")],
                           cur["street"], prev["street"])
    street_rows.sort(key=lambda r: (r["key"] is None, -r["count"], r["name"]))
    top = [pk for pk, _ in sorted(cur["category"].items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or 0))
           if pk is not None][:TOP_CATEGORIES]
    paths = dict(Category.objects.filter(pk__in=top).values_list("pk", "path"))
    categories = _compare([(pk, paths.get(pk, str(pk)).rsplit("/", 1)[-1]) for pk in top], cur["category"],
                          prev["category"])
    for row in categories:
        row["path"] = paths.get(row["key"], "")
    return {
        "total": total, "previous": prev_total, "change": change(total, prev_total),
        "days": days,
        "channels": _share(_compare(Channel.choices, cur["channel"], prev["channel"]), total),
        "appeal_types": _share(_compare(AppealType.choices, cur["appeal_type"], prev["appeal_type"]), total),
        "streets": _share(street_rows, total),
        "categories": _share(categories, total),
    }


def _kpi_pairs(current: dict, previous: dict) -> list[dict]:
    out = []
    for code in KPI_CODES:
        cur, prev = current[code], previous[code]
        delta = None if cur["rate"] is None or prev["rate"] is None else round(cur["rate"] - prev["rate"], 4)
        out.append({"code": code, "name": KPI_NAMES[code], "num": cur["num"], "den": cur["den"], "rate": cur["rate"],
                    "previous": prev["rate"], "previous_num": prev["num"], "previous_den": prev["den"],
                    "delta": delta, "higher_is_better": code in HIGHER_IS_BETTER,
                    "three_rates": code in kpi.THREE_RATES})
    return out


def kpis(week: Week, *, unit: int | None = None) -> dict:
    period = kpi.Period(week.monday, week.sunday)
    previous = kpi.Period(week.previous.monday, week.previous.sunday)
    current = kpi.kpis(period, unit=unit)["total"]
    return {
        "period": period.as_dict(), "orders": current["orders"],
        "rates": _kpi_pairs(current, kpi.kpis(previous, unit=unit)["total"]),
        "by_street": kpi.kpis(period, by="street", unit=unit)["rows"],
        "by_unit": kpi.kpis(period, by="unit", unit=unit)["rows"],
        "definitions": kpi.DEFINITIONS,
    }


# --- case clusters and alerts (apps of their own; read only when installed) ---------------

def clusters(week: Week) -> dict:
    """The live clusters that received orders registered in the week, hottest first.

    Heat, size and status are the cluster's as of now (the heat index is kept
    current by the clustering job); ``week_count`` counts the member orders
    registered in the week. Governance task: the newest task's status, if any.
    """
    if not apps.is_installed("yiwang.clusters"):
        return {"available": False, "items": []}
    from yiwang.clusters.models import LIVE, CaseCluster, GovernanceTask, Placement

    # From the week's orders (the created_at index) to their clusters, not from every
    # cluster's placements: a week is a few thousand orders, the history millions.
    week_counts = dict(Placement.objects.filter(order__created_at__gte=week.start, order__created_at__lt=week.end,
                                                cluster__status__in=LIVE)
                       .order_by().values_list("cluster_id").annotate(n=Count("pk")))
    rows = list(CaseCluster.objects.filter(pk__in=list(week_counts)).select_related("street")
                .order_by("-heat", "-id")[:TOP_CLUSTERS])
    tasks = {}
    for task in (GovernanceTask.objects.filter(cluster__in=[c.pk for c in rows])
                 .select_related("owner_unit").order_by("cluster_id", "-opened_at", "-id")):
        tasks.setdefault(task.cluster_id, task)
    items = []
    for c in rows:
        task = tasks.get(c.pk)
        items.append({
            "id": c.pk, "label": c.label or f"类案#{c.pk}", "heat": round(c.heat, 2), "week_count": week_counts[c.pk],
            "size": c.size, "street": c.street.name if c.street else "", "place": c.place,
            "status": c.get_status_display(),
            "task": ({"title": task.title, "status": task.get_status_display(), "owner": task.owner_unit.name,
                      "deadline": _local(task.deadline)} if task else None),
        })
    return {"available": True, "items": items}


def alerts(week: Week) -> dict:
    """Sudden-issue alerts raised in the week, oldest first, with how far above normal they were."""
    if not apps.is_installed("yiwang.alerts"):
        return {"available": False, "items": [], "by_status": {}}
    from yiwang.alerts.models import Alert

    rows = (Alert.objects.filter(raised_at__gte=week.start, raised_at__lt=week.end)
            .select_related("street", "category").annotate(n_orders=Count("links")).order_by("raised_at", "id"))
    items, by_status = [], Counter()
    for a in rows:
        by_status[a.get_status_display()] += 1
        items.append({
            "id": a.pk, "raised_at": _local(a.raised_at), "kind": a.get_kind_display(), "what": a.label,
            # A street alert is about its street; category and topic alerts are counted district-wide.
            "where": a.street.name if a.street else "全区",
            "observed": a.observed, "expected": round(a.expected, 2),
            "ratio": round(a.observed / a.expected, 2) if a.expected else None,
            "window_hours": a.window_hours, "orders": a.n_orders, "status": a.get_status_display(),
            "open": a.status == "open",
        })
    return {"available": True, "items": items, "by_status": dict(by_status)}


def _local(moment: dt.datetime | None) -> str:
    return timezone.localtime(moment, SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else ""


def weekly_report(week: Week, *, unit: int | None = None, now: dt.datetime | None = None) -> dict:
    """Everything the report shows for ``week``; ``unit`` gives a unit leader's version (its orders only)."""
    now = now or timezone.now()
    unit_name = Unit.objects.filter(pk=unit).values_list("name", flat=True).first() if unit is not None else ""
    data = {
        "week": {"code": week.code, "title": week.title, "from": week.monday.isoformat(),
                 "to": week.sunday.isoformat(), "previous": week.previous.code, "complete": week.complete(now=now)},
        "scope": {"unit": unit, "unit_name": unit_name},
        "generated_at": _local(now),
        "volumes": volumes(week, unit=unit),
        "kpis": kpis(week, unit=unit),
        # Clusters and alerts are district matters (their pages are for district roles).
        "clusters": clusters(week) if unit is None else {"available": False, "items": []},
        "alerts": alerts(week) if unit is None else {"available": False, "items": [], "by_status": {}},
    }
    data["summary"] = summary.sentences(data)
    return data
