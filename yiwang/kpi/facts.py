"""Derive each work order's KPI facts from the engine's event log.

The definitions (docs/kpis.md, and :data:`yiwang.kpi.selectors.DEFINITIONS` on the
page) in code, per order:

- ``sign_on_time``: False if the SLA sweep ever wrote ``sign_overdue`` for the order
  (the lead unit had not signed when the sign-for deadline passed); True if the lead
  unit signed (a ``sign`` event that is not a co-unit's) and no such row exists;
  None while neither happened (dispatched, deadline still ahead) or never dispatched.
- ``closed_on_time``: the ``on_time`` the engine recorded on the last ``reply`` event
  (reply at or before the handling deadline, extensions included); with no reply
  yet, False once the sweep wrote ``sla_red`` (deadline passed), else None.
- ``satisfied`` / ``resolved``: from the last FollowUp (回访) row; satisfied means
  满意 or 基本满意. None without a follow-up.
- ``returned``: a ``request_return`` event exists (the unit asked to hand it back).
- ``repeat``: the order has a master (merged into, or linked to, an earlier order),
  read from the order's ``master`` column (a merge always sets it, and a merged order
  cannot be unlinked, so the ``merge`` event adds nothing).
- ``unit``: the lead unit of the last ``dispatch``/``reopen`` event; ``first_unit``
  that of the first ``dispatch``.

Only this module writes :class:`OrderFact`; everything it reads is kept by the
engine, so deleting the table and running ``yiwang manage kpi_rebuild`` gives the
same rows.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from yiwang.core.calendar import SHANGHAI
from yiwang.org.models import Category
from yiwang.workorders.models import Event, FollowUp, Satisfaction, WorkOrder
from yiwang.workorders.states import Action

from . import rollup
from .models import OrderFact, RefreshState

log = logging.getLogger(__name__)

RELEVANT = [Action.DISPATCH, Action.REOPEN, Action.SIGN, Action.SIGN_OVERDUE, Action.REPLY, Action.SLA_RED,
            Action.REQUEST_RETURN, Action.ANSWER_DIRECTLY]
SATISFIED = {Satisfaction.SATISFIED, Satisfaction.BASICALLY}
UPDATE_FIELDS = ["day", "channel", "street", "category", "top_category", "unit", "first_unit", "dispatched",
                 "direct", "sign_on_time", "closed_on_time", "satisfied", "resolved", "returned", "repeat",
                 "computed_at"]
CHUNK = 5000
# Events are numbered when inserted but become visible when their transaction commits,
# so a slow transaction can commit an id below one already folded in; each round
# looks this many ids back (refreshing is idempotent).
LOOKBACK = 500
BATCH_EVENTS = 20000


def top_categories() -> dict[int, int]:
    """Category id → id of its level-1 ancestor (the taxonomy is a few hundred rows)."""
    parent = dict(Category.objects.values_list("pk", "parent_id"))
    top = {}
    for pk in parent:
        node = pk
        while parent.get(node) is not None:
            node = parent[node]
        top[pk] = node
    return top


def derive(order: tuple, events: Iterable[tuple], follow_ups: list[tuple], *, tops: dict[int, int],
           now: dt.datetime) -> OrderFact:
    """One order's facts from its row, its relevant events (oldest first) and follow-ups (oldest first).

    ``order``: (pk, created_at, channel, street_id, category_id, master_id);
    ``events``: (action, unit_id, data.role, data.on_time); ``follow_ups``: (satisfaction, resolved).
    """
    pk, created_at, channel, street_id, category_id, master_id = order
    first_unit = unit = None
    dispatched = direct = signed = sign_late = red = returned = False
    last_reply_on_time = None
    for action, unit_id, role, on_time in events:
        if action == Action.DISPATCH:
            dispatched = True
            first_unit = first_unit or unit_id
            unit = unit_id
        elif action == Action.REOPEN:
            unit = unit_id or unit
        elif action == Action.SIGN and role != "co":
            signed = True
        elif action == Action.SIGN_OVERDUE:
            sign_late = True
        elif action == Action.REPLY:
            last_reply_on_time = bool(on_time)
        elif action == Action.SLA_RED:
            red = True
        elif action == Action.REQUEST_RETURN:
            returned = True
        elif action == Action.ANSWER_DIRECTLY:
            direct = True
    sign_on_time = False if sign_late else (True if signed else None)
    closed_on_time = last_reply_on_time if last_reply_on_time is not None else (False if red else None)
    satisfied = resolved = None
    if follow_ups:
        satisfaction, resolved = follow_ups[-1]
        satisfied = satisfaction in SATISFIED
    return OrderFact(
        order_id=pk, day=timezone.localtime(created_at, SHANGHAI).date(), channel=channel, street_id=street_id,
        category_id=category_id, top_category_id=tops.get(category_id), unit_id=unit, first_unit_id=first_unit,
        dispatched=dispatched, direct=direct, sign_on_time=sign_on_time, closed_on_time=closed_on_time,
        satisfied=satisfied, resolved=resolved, returned=returned, repeat=master_id is not None,
        computed_at=now,
    )


def _compute(orders: Q, related: Q, *, tops: dict[int, int]) -> list[OrderFact]:
    """Recompute and upsert the facts of the orders matching ``orders``; return them.

    ``related`` selects the same orders' Event and FollowUp rows (through ``order_id``).
    """
    now = timezone.now()
    rows = list(WorkOrder.objects.filter(orders).values_list(
        "pk", "created_at", "channel", "street_id", "category_id", "master_id"))
    if not rows:
        return []
    events = defaultdict(list)
    for order_id, *rest in (Event.objects.filter(related, action__in=RELEVANT)
                            .order_by("order_id", "created_at", "id")
                            .values_list("order_id", "action", "unit_id", "data__role", "data__on_time")):
        events[order_id].append(rest)
    follow_ups = defaultdict(list)
    for order_id, *rest in (FollowUp.objects.filter(related).order_by("order_id", "at", "id")
                            .values_list("order_id", "satisfaction", "resolved")):
        follow_ups[order_id].append(rest)
    facts = [derive(row, events.get(row[0], ()), follow_ups.get(row[0], []), tops=tops, now=now) for row in rows]
    OrderFact.objects.bulk_create(facts, batch_size=2000, update_conflicts=True, unique_fields=["order"],
                                  update_fields=UPDATE_FIELDS)
    return facts


def refresh(order_ids: Iterable[int]) -> int:
    """Recompute the facts of these orders, and the daily rollup of their days, now (idempotent)."""
    ids = sorted(set(order_ids))
    days: set[dt.date] = set()
    tops = top_categories()
    for i in range(0, len(ids), CHUNK):
        part = ids[i:i + CHUNK]
        days |= {f.day for f in _compute(Q(pk__in=part), Q(order_id__in=part), tops=tops)}
    rollup.rebuild_days(days)
    return len(ids)


def rebuild(*, stdout=None) -> int:
    """Recompute every order's facts from the event log, in primary-key ranges.

    The watermark is taken first, so events written during the rebuild are
    folded in again by the next minute job.
    """
    state = _state()
    watermark = Event.objects.aggregate(m=Max("pk"))["m"] or 0
    tops = top_categories()
    bounds = WorkOrder.objects.aggregate(lo=Min("pk"), hi=Max("pk"))
    done = 0
    if bounds["lo"] is not None:
        lo = bounds["lo"]
        while lo <= bounds["hi"]:
            done += len(_compute(Q(pk__gte=lo, pk__lt=lo + CHUNK), Q(order_id__gte=lo, order_id__lt=lo + CHUNK),
                                 tops=tops))
            lo += CHUNK
            if stdout is not None and done and done % 100000 < CHUNK:
                stdout.write(f"  {done:,} orders …")
    # No sweep for facts of deleted orders: the fact's foreign key (a database constraint)
    # refuses to outlive its order, and the ORM's CASCADE deletes it with the order.
    rollup.rebuild_days(None)
    now = timezone.now()
    RefreshState.objects.filter(pk=state.pk).update(last_event_id=watermark, rebuilt_at=now, refreshed_at=now)
    return done


def _state() -> RefreshState:
    state, _ = RefreshState.objects.get_or_create(pk=1)
    return state


def refresh_recent(*, max_rounds: int = 50, lookback: int = LOOKBACK) -> int:
    """Fold the events written since the last round into the facts (the minute job).

    Several workers may run it at once: the state row is locked for the round, so
    the second waits and then finds little left to do.
    """
    done = 0
    for _ in range(max_rounds):
        with transaction.atomic():
            state = RefreshState.objects.select_for_update().filter(pk=_state().pk).get()
            batch = list(Event.objects.filter(pk__gt=max(0, state.last_event_id - lookback))
                         .order_by("pk").values_list("pk", "order_id")[:BATCH_EVENTS])
            fresh = [pk for pk, _ in batch if pk > state.last_event_id]
            if not fresh:
                if batch:
                    refresh(order_id for _, order_id in batch)
                return done
            done += refresh(order_id for _, order_id in batch)
            state.last_event_id = max(fresh)
            state.refreshed_at = timezone.now()
            state.save(update_fields=["last_event_id", "refreshed_at"])
        if len(batch) < BATCH_EVENTS:
            return done
    return done
