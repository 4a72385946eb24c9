"""Reads of case clusters and governance tasks, scoped by role, and the before/after volume of a task."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from yiwang.accounts import roles
from yiwang.workorders.models import WorkOrder
from yiwang.workorders.selectors import personal_data

from .models import LIVE, CaseCluster, ClusterStatus, GovernanceTask, Placement, TaskStatus

STATUS_FILTERS = {"live": LIVE, "auto": (ClusterStatus.AUTO,), "confirmed": (ClusterStatus.CONFIRMED,)}
DEFAULT_WEEKS = 8
MAX_WEEKS = 26


def may_see_clusters(user) -> bool:
    return bool(user and user.is_authenticated and (user.is_superuser or user.role in roles.CAN_SEE_CLUSTERS))


def ranked_clusters(*, status: str = "live", street_id: int | None = None, q: str = "", min_size: int = 2) -> QuerySet:
    """Live clusters hottest first (index cluster_status_heat), with what the list shows in one query."""
    qs = (CaseCluster.objects.filter(status__in=STATUS_FILTERS[status], size__gte=min_size)
          .select_related("street", "committee", "representative")
          .annotate(open_tasks=Count("tasks", filter=~Q(tasks__status=TaskStatus.DONE)))
          .order_by("-heat", "-id"))
    if street_id:
        qs = qs.filter(street_id=street_id)
    if q:
        qs = qs.filter(Q(label__icontains=q) | Q(place__icontains=q))
    return qs


def members(user, cluster: CaseCluster) -> list[dict]:
    """The member orders, newest first, with the appellant masked unless the user's role needs it."""
    rows = (WorkOrder.objects.filter(case_placement__cluster=cluster)
            .select_related("street", "committee", "category", "case_placement")
            .order_by("-created_at", "-id"))
    out = []
    for order in rows:
        placement = order.case_placement
        out.append({"order": order, "person": personal_data(user, order), "repeat": placement.repeat,
                    "source": placement.get_source_display(), "score": placement.score})
    return out


def tasks_for(user) -> QuerySet:
    """Governance tasks this user may see: all for cluster roles, their unit's (or their own) for unit staff."""
    qs = GovernanceTask.objects.select_related("cluster", "owner_unit", "owner_person").order_by("-opened_at", "-id")
    if user is None or not user.is_authenticated:
        return qs.none()
    if user.is_superuser or user.role in roles.CAN_SEE_CLUSTERS:
        return qs
    if user.role in roles.UNIT_ACTORS and user.unit_id:
        return qs.filter(Q(owner_unit_id=user.unit_id) | Q(owner_person=user))
    return qs.filter(owner_person=user)


def _kind_orders(cluster: CaseCluster) -> tuple[QuerySet, str]:
    """Orders of the cluster's kind: its main street and its main categories (the pattern it stands for)."""
    categories = [pk for pk in Placement.objects.filter(cluster=cluster, order__category__isnull=False)
                  .values_list("order__category_id", flat=True)]
    top = [pk for pk, _ in Counter(categories).most_common(3)]
    qs = WorkOrder.objects.all()
    parts = []
    if cluster.street_id:
        qs = qs.filter(street_id=cluster.street_id)
        parts.append(cluster.street.name)
    if top:
        qs = qs.filter(category_id__in=top)
        parts.append(f"主要分类 {len(top)} 个")
    return qs, "，".join(parts) or "全部工单"


def volume_around(task: GovernanceTask, *, weeks: int = DEFAULT_WEEKS, now: dt.datetime | None = None) -> dict:
    """Weekly order counts for ``weeks`` weeks before and after the task was opened.

    Week k covers [opened_at + 7k days, opened_at + 7(k+1) days), k = -weeks … weeks-1,
    counted from the orders' recorded registration time (``created_at``), so the
    numbers can be recomputed at any time. Two series: the cluster's own members,
    and all orders of its kind (same main street and categories), because an order
    the job has not placed yet, or one a person moved out, still shows the trend.
    Weeks not over yet are reported as far as they have run; future weeks are null.
    """
    now = now or timezone.now()
    pivot = task.opened_at
    lo = pivot - dt.timedelta(weeks=weeks)
    hi = pivot + dt.timedelta(weeks=weeks)
    cluster = task.cluster
    kind_qs, kind_label = _kind_orders(cluster)
    series = {}
    for name, qs in (("members", WorkOrder.objects.filter(case_placement__cluster=cluster)), ("kind", kind_qs)):
        counts = [0] * (2 * weeks)
        for at in qs.filter(created_at__gte=lo, created_at__lt=hi).values_list("created_at", flat=True):
            counts[int((at - lo).total_seconds() // (7 * 86400))] += 1
        series[name] = counts
    labels, before, after = [], {"members": 0, "kind": 0}, {"members": 0, "kind": 0}
    for k in range(-weeks, weeks):
        start = pivot + dt.timedelta(weeks=k)
        labels.append(f"{'+' if k >= 0 else ''}{k}周（{timezone.localtime(start):%m-%d}）")
        i = k + weeks
        for name in series:
            if start > now:
                series[name][i] = None
            elif k < 0:
                before[name] += series[name][i]
            else:
                after[name] += series[name][i]
    weeks_after = sum(1 for k in range(weeks) if pivot + dt.timedelta(weeks=k) <= now)
    return {
        "weeks": weeks, "pivot": pivot.isoformat(), "labels": labels, "series": series, "kind_label": kind_label,
        "before": before, "after": after, "weeks_after": weeks_after,
        "weekly_mean_before": {k: round(v / weeks, 2) for k, v in before.items()},
        "weekly_mean_after": {k: (round(v / weeks_after, 2) if weeks_after else None) for k, v in after.items()},
    }
