"""Reads behind the intelligent-dispatch analytics page. Every number is one aggregate query."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.functions import TruncWeek

from yiwang.workorders.models import Decision, Event, ReturnRequest, WorkOrder
from yiwang.workorders.states import Action

from .models import DispatchFeedback, DispatchSuggestion, ModelVersion

ANSWERED = [DispatchFeedback.Kind.CONFIRM, DispatchFeedback.Kind.CORRECT]


def weekly_feedback(since: dt.datetime | None = None) -> list[dict]:
    """Per week: confirmations, corrections, returns, and the share of answers whose top-level label was right."""
    qs = DispatchFeedback.objects.all()
    if since:
        qs = qs.filter(created_at__gte=since)
    rows = (qs.annotate(week=TruncWeek("created_at")).values("week")
            .annotate(confirmed=Count("id", filter=Q(kind=DispatchFeedback.Kind.CONFIRM)),
                      corrected=Count("id", filter=Q(kind=DispatchFeedback.Kind.CORRECT)),
                      returned=Count("id", filter=Q(kind=DispatchFeedback.Kind.RETURN)),
                      right=Count("id", filter=Q(kind__in=ANSWERED, suggested_label=F("final_label"))))
            .order_by("week"))
    out = []
    for row in rows:
        answered = row["confirmed"] + row["corrected"]
        out.append({**row, "week": row["week"].date().isoformat(),
                    "accuracy": round(row["right"] / answered, 4) if answered else None})
    return out


def confusion(since: dt.datetime | None = None) -> dict:
    """Suggested top-level label × final label over confirmations and corrections."""
    qs = DispatchFeedback.objects.filter(kind__in=ANSWERED).exclude(final_label="")
    if since:
        qs = qs.filter(created_at__gte=since)
    cells = list(qs.values("suggested_label", "final_label").annotate(n=Count("id")).order_by())
    labels = sorted({c["suggested_label"] for c in cells} | {c["final_label"] for c in cells})
    return {"labels": labels, "cells": [[labels.index(c["suggested_label"]), labels.index(c["final_label"]), c["n"]]
                                        for c in cells]}


def auto_share(since: dt.datetime | None = None) -> dict:
    qs = DispatchSuggestion.objects.all()
    if since:
        qs = qs.filter(created_at__gte=since)
    agg = qs.aggregate(total=Count("id"), auto=Count("id", filter=Q(auto_dispatched=True)),
                       pending=Count("id", filter=Q(outcome="pending")))
    agg["share"] = round(agg["auto"] / agg["total"], 4) if agg["total"] else None
    return agg


def return_rates(since: dt.datetime | None = None) -> dict:
    """Approved returns among dispatched orders, automatically dispatched vs dispatched by hand."""
    orders = WorkOrder.objects.filter(Exists(Event.objects.filter(order=OuterRef("pk"), action=Action.DISPATCH)))
    if since:
        orders = orders.filter(created_at__gte=since)
    rows = (orders.annotate(
        auto=Exists(DispatchSuggestion.objects.filter(order=OuterRef("pk"), auto_dispatched=True)),
        returned=Exists(ReturnRequest.objects.filter(order=OuterRef("pk"), decision=Decision.APPROVED)),
    ).values("auto").annotate(n=Count("id"), r=Count("id", filter=Q(returned=True))).order_by())
    out = {"auto": {"n": 0, "returned": 0, "rate": None}, "manual": {"n": 0, "returned": 0, "rate": None}}
    for row in rows:
        key = "auto" if row["auto"] else "manual"
        out[key] = {"n": row["n"], "returned": row["r"], "rate": round(row["r"] / row["n"], 4) if row["n"] else None}
    return out


def versions(limit: int = 10) -> list[ModelVersion]:
    return list(ModelVersion.objects.order_by("-number")[:limit])
