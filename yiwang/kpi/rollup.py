"""Per-day sums of the KPI facts (:class:`DailyRollup`), derived from :class:`OrderFact` only.

``rebuild_days(days)`` recomputes the rows of those registration days from the
facts (delete, then insert the GROUP BY of each dimension), so the rollup is
always a pure function of the facts; ``rebuild_days(None)`` does every day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, F, Q, Value

from .models import DailyRollup, OrderFact

# code -> (numerator condition, denominator condition or None for all rows): the one
# place the conditions live; selectors reads them from here.
CONDITIONS = {
    "sign": (Q(sign_on_time=True), Q(sign_on_time__isnull=False)),
    "resolution": (Q(resolved=True), Q(resolved__isnull=False)),
    "satisfaction": (Q(satisfied=True), Q(satisfied__isnull=False)),
    "closure": (Q(closed_on_time=True), Q(closed_on_time__isnull=False)),
    "return": (Q(returned=True), Q(dispatched=True)),
    "repeat": (Q(repeat=True), None),
}
# dimension -> the fact column it groups by (None: one row per day)
DIMENSIONS = {
    DailyRollup.Dim.TOTAL: None,
    DailyRollup.Dim.UNIT: "unit_id",
    DailyRollup.Dim.FIRST_UNIT: "first_unit_id",
    DailyRollup.Dim.STREET: "street_id",
    DailyRollup.Dim.CATEGORY: "top_category_id",
}
CHUNK_DAYS = 60


def counts(codes=CONDITIONS) -> dict:
    """The COUNT aggregates of the facts, named as the rollup's columns."""
    out = {"orders": Count("pk")}
    for code in codes:
        num, den = CONDITIONS[code]
        out[f"{code}_num"] = Count("pk", filter=num if den is None else num & den)
        out[f"{code}_den"] = Count("pk", filter=den) if den is not None else Count("pk")
    return out


def _rows(facts, model=DailyRollup) -> list[DailyRollup]:
    rows = []
    for dim, column in DIMENSIONS.items():
        key = F(column) if column else Value(0)
        for r in facts.order_by().values("day", k=key).annotate(**counts()):
            rows.append(model(dim=dim, key=r.pop("k") or 0, **r))
    return rows


def rebuild_all(fact_model=OrderFact, model=DailyRollup) -> int:
    """Every day's rows from the facts (also run by migration 0003 with its historical models)."""
    with transaction.atomic():
        model.objects.all().delete()
        rows = _rows(fact_model.objects.all(), model)
        model.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def rebuild_days(days: Iterable[dt.date] | None) -> int:
    """Recompute the rollup rows of ``days`` (all days when None) from the facts."""
    if days is None:
        return rebuild_all()
    days = sorted(set(days))
    done = 0
    for i in range(0, len(days), CHUNK_DAYS):
        part = days[i:i + CHUNK_DAYS]
        with transaction.atomic():
            DailyRollup.objects.filter(day__in=part).delete()
            rows = _rows(OrderFact.objects.filter(day__in=part))
            DailyRollup.objects.bulk_create(rows, batch_size=5000)
        done += len(rows)
    return done
