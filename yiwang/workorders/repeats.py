"""Repeat calls (重复来电): what they are and how they are counted.

Definition
    A *repeat call* is a work order that hotline staff (``roles.CAN_MERGE``) attached
    to an earlier order of the same case, its *master*: either linked (关联,
    ``Action.LINK``: the call stays open and is handled on) or merged (合并,
    ``Action.MERGE``: the call ends as MERGED, the master carries on). It is a repeat
    call for as long as it stays attached; unlinking (取消关联, ``Action.UNLINK``)
    takes it out of every count. Masters are roots: attaching to a repeat call
    attaches to its master, and an order that is attached brings its own repeat calls
    along, so ``master`` is never more than one level deep.

Counts
    - Per order: ``WorkOrder.repeat_count``, the orders whose ``master`` it is (all
      time), kept by :mod:`services` in the transaction that changes a ``master``.
    - In a period: a repeat call belongs to the period in which it was registered
      (its ``created_at``, when the citizen called again), whenever it was attached.
    - Per unit: the master's lead unit (the unit responsible for the case the caller
      calls about again); per street: the master's street; both as they are now.
    - Repeat-call rate of a period: its repeat calls / all orders registered in it.

Recomputable from the event log
    Every attachment is an event on the repeat call (link, merge, unlink) whose
    ``data`` names the new master (``master``, null for unlink) and the repeat calls
    that moved along with it (``moved``). Replaying them in the order they were
    written gives every order's master, hence every count
    (:func:`recount_from_events`, ``yiwang manage recount_repeat_calls``).

Period counts are one aggregate query each over the partial index
``wo_repeat_created`` (orders with a master, by ``created_at``); see
bench/repeat_counts.py.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, QuerySet

from .models import Event, WorkOrder
from .states import Action, Status

ATTACH_ACTIONS = (Action.LINK, Action.MERGE, Action.UNLINK)


@dataclass(frozen=True)
class Period:
    """[start, end): aware datetimes; ``street`` / ``unit`` narrow to masters of that street or unit."""

    start: dt.datetime
    end: dt.datetime
    street_id: int | None = None
    unit_id: int | None = None


def repeat_calls(period: Period) -> QuerySet[WorkOrder]:
    """The repeat calls registered in ``period`` (the rows of ``wo_repeat_created``)."""
    qs = WorkOrder.objects.filter(master__isnull=False, created_at__gte=period.start, created_at__lt=period.end)
    if period.street_id:
        qs = qs.filter(master__street_id=period.street_id)
    if period.unit_id:
        qs = qs.filter(master__lead_unit_id=period.unit_id)
    return qs.order_by()


def top_masters(period: Period, *, limit: int = 20) -> list[dict]:
    """The masters with most repeat calls in ``period``: one grouped query, most first."""
    rows = (repeat_calls(period)
            .values("master", "master__number", "master__title", "master__status", "master__repeat_count",
                    "master__lead_unit__name", "master__street__name")
            .annotate(n=Count("id")).order_by("-n", "master")[:limit])
    return [{"pk": r["master"], "number": r["master__number"], "title": r["master__title"],
             "status": r["master__status"], "status_label": Status(r["master__status"]).label,
             "total": r["master__repeat_count"],
             "unit": r["master__lead_unit__name"] or "", "street": r["master__street__name"] or "",
             "count": r["n"]} for r in rows]


def by_unit(period: Period) -> list[dict]:
    """Repeat calls of ``period`` per lead unit of their master (one aggregate query)."""
    return _grouped(period, "master__lead_unit", "master__lead_unit__name", "（未派单）")


def by_street(period: Period) -> list[dict]:
    """Repeat calls of ``period`` per street of their master (one aggregate query)."""
    return _grouped(period, "master__street", "master__street__name", "（未填街道）")


def _grouped(period: Period, key: str, name: str, empty: str) -> list[dict]:
    rows = repeat_calls(period).values(key, name).annotate(n=Count("id")).order_by("-n", key)
    return [{"pk": r[key], "name": r[name] or empty, "count": r["n"]} for r in rows]


def summary(period: Period) -> dict:
    """Repeat calls, all calls and the repeat-call rate of ``period`` (two counts).

    Narrowed to a street or unit there is no rate: the calls that could repeat are
    not defined by the masters' street or unit, so ``calls`` and ``rate`` are None.
    """
    repeats = repeat_calls(period).count()
    total = None
    if not (period.street_id or period.unit_id):
        total = WorkOrder.objects.filter(created_at__gte=period.start, created_at__lt=period.end).count()
    return {"repeats": repeats, "calls": total, "rate": round(100 * repeats / total, 2) if total else None}


# --- recomputation from the event log -------------------------------------------------

def masters_from_events() -> dict[int, int]:
    """Every attached order's master as the link / merge / unlink events say (replayed in write order)."""
    master: dict[int, int] = {}
    events = (Event.objects.filter(action__in=ATTACH_ACTIONS).order_by("id")
              .values_list("order_id", "action", "data").iterator(chunk_size=5000))
    for order_id, action, data in events:
        target = None if action == Action.UNLINK else (data or {}).get("master")
        for pk in [order_id, *(data or {}).get("moved", [])]:
            if target is None:
                master.pop(pk, None)
            else:
                master[pk] = target
    return master


def recount_from_events(*, apply: bool = False) -> dict:
    """Compare ``master`` and ``repeat_count`` with the event log; with ``apply``, fix the counts.

    Returns ``{"masters": n, "repeat_calls": n, "count_mismatches": [(pk, stored, replayed)],
    "master_mismatches": [(pk, stored, replayed)]}``. Only counts are rewritten: a
    ``master`` that disagrees with its events is reported, since the events are the
    record of who decided what and a person must look at it.
    """
    replayed = masters_from_events()
    counts = Counter(replayed.values())
    stored_masters = dict(WorkOrder.objects.filter(master__isnull=False).values_list("pk", "master_id"))
    master_mismatches = sorted((pk, stored_masters.get(pk), replayed.get(pk))
                               for pk in stored_masters.keys() | replayed.keys()
                               if stored_masters.get(pk) != replayed.get(pk))
    stored_counts = dict(WorkOrder.objects.filter(repeat_count__gt=0).values_list("pk", "repeat_count"))
    count_mismatches = sorted((pk, stored_counts.get(pk, 0), counts.get(pk, 0))
                              for pk in stored_counts.keys() | counts.keys()
                              if stored_counts.get(pk, 0) != counts.get(pk, 0))
    if apply and count_mismatches:
        with transaction.atomic():
            for pk, _stored, value in count_mismatches:
                WorkOrder.objects.filter(pk=pk).update(repeat_count=value)
    return {"masters": len(counts), "repeat_calls": len(replayed),
            "count_mismatches": count_mismatches, "master_mismatches": master_mismatches}
