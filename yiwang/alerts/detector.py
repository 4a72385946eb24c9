"""The live burst detector: finds streets, categories and topics above normal in the recent orders.

Reads only; :mod:`yiwang.alerts.services` turns the findings into alerts. Every
input is a recorded ``created_at`` in the database, so a check at time ``now``
gives the same answer whenever it runs (after a restart, or replayed).

For each key (a street, a level-3 category, or a topic: a place or entity named
in the order, :mod:`yiwang.insight.entities`) and each window in ``WINDOWS``
ending at ``now``:

* observed = the key's orders in the window, callers = their distinct callers;
* daily rate = the key's mean orders per day over the days of the same type
  (working day or rest day, from the working calendar with its admin overrides)
  among the ``baseline_days`` whole days before today (:mod:`yiwang.insight.burstcore`);
* share of an hour = the part of a day's orders that arrives in that local hour on
  days of that type, from the district's own orders of the same baseline days
  (more orders arrive at 10:00 than at 03:00), never below ``MIN_SHARE`` of a
  uniform hour;
* expected = the sum over the window's hours of (daily rate x share) for the
  type of the day each hour falls on: a 24-hour window on a Saturday morning
  still expects Friday afternoon's working-day volume;
* the Poisson test of ``burstcore`` at ``alpha / len(WINDOWS)`` (each window is
  one more look at the same data).

The short window makes a dense burst visible within minutes; the 24-hour one
catches a slower build-up, as the batch replay (``yiwang insight bursts``) does.
Streets and categories need ``WARMUP_DAYS`` of recorded orders before they can
alert (without history every street would look new).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import connection
from django.db.models import Count
from django.db.models.functions import ExtractHour, TruncDate

from yiwang.core.calendar import SHANGHAI, WorkingCalendar
from yiwang.core.models import load_calendar
from yiwang.insight import burstcore, entities
from yiwang.workorders.models import WorkOrder

from .models import DetectorState, Kind, OrderTopic

WINDOWS = (1, 24)  # hours
RULE = burstcore.Rule(baseline_days=28, floor=0.15, min_count=3, min_users=2, alpha=1e-4)
MIN_SHARE = 0.25
WARMUP_DAYS = 14
TOPIC_BATCH = 500  # orders per write: see index_new_topics
SHARES_CACHE_S = 3600


@dataclass(frozen=True)
class Member:
    order_id: int
    at: dt.datetime
    caller: str


@dataclass
class Finding:
    kind: str
    key: str
    window_hours: int
    observed: int
    expected: float
    daily_rate: float
    baseline_days: int
    workday: bool
    p: float
    callers: int
    members: list[Member] = field(default_factory=list)
    baseline: dict = field(default_factory=dict)  # both day types' rates and hour shares (for the chart)

    @property
    def order_ids(self) -> list[int]:
        return [m.order_id for m in self.members]

    @property
    def first_at(self) -> dt.datetime:
        return min(m.at for m in self.members)

    @property
    def last_at(self) -> dt.datetime:
        return max(m.at for m in self.members)


def caller_of(phone: str, user_id: int | None) -> str:
    """Who called: the phone number, else the appellant's account; empty when unknown."""
    if phone:
        return phone
    return f"user:{user_id}" if user_id else ""


def _state() -> DetectorState:
    state, _ = DetectorState.objects.get_or_create(pk=1)
    return state


# --- topics: the places and entities named in orders, read once per order ----------

def index_topics(limit: int = TOPIC_BATCH) -> int:
    """Write the topics of orders registered since the last call; returns how many orders were read.

    Safe to run twice at once: the rows are unique per (order, name) and the
    watermark only moves forward.
    """
    after = _state().topics_through
    rows = list(WorkOrder.objects.filter(pk__gt=after).order_by("pk").values_list(
        "pk", "title", "content", "created_at", "appellant_phone", "appellant_user_id")[:limit])
    if not rows:
        return 0
    topics = []
    for pk, title, content, created_at, phone, user_id in rows:
        caller = caller_of(phone, user_id)[:40]
        for name in sorted(entities.extract(f"{title}。{content}")):
            if len(name) <= 32:
                topics.append((pk, name, created_at, caller))
    _write_topics(topics)
    DetectorState.objects.filter(pk=1, topics_through__lt=rows[-1][0]).update(topics_through=rows[-1][0])
    return len(rows)


# On PostgreSQL one INSERT of four arrays. Why by hand: bulk_create builds a model
# instance per row and prepares each value one by one; for the 15,000 topics of 3,000
# orders that took 420-440 ms of CPU, this 70-170 ms. The check runs it for every order.
_INSERT_TOPICS_PG = f"""
    INSERT INTO {OrderTopic._meta.db_table} (order_id, name, created_at, caller)
    SELECT * FROM unnest(%s::bigint[], %s::varchar[], %s::timestamptz[], %s::varchar[])
    ON CONFLICT DO NOTHING
"""


def _write_topics(topics: list[tuple[int, str, dt.datetime, str]]) -> None:
    """Insert (order id, name, registered at, caller) rows; rows already there are skipped."""
    if not topics:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_INSERT_TOPICS_PG, [list(column) for column in zip(*topics)])
        return
    OrderTopic.objects.bulk_create([OrderTopic(order_id=pk, name=name, created_at=at, caller=caller)
                                    for pk, name, at, caller in topics], ignore_conflicts=True, batch_size=1000)


def index_new_topics() -> int:
    """Index every order registered since the last call, in batches of ``TOPIC_BATCH``.

    Each batch is its own short write. Why: on SQLite a write transaction holds the
    database's only write lock, and one check after a rush of intakes used to write
    the topics of up to 5,000 orders at once, so every intake arriving meanwhile waited
    for it (intake p99 on SQLite under 32 clients 589-597 ms with one write, 465-504 ms
    in batches: bench/intake_load.py --only yiwang-sqlite, alternating).
    """
    total = 0
    while True:
        done = index_topics(TOPIC_BATCH)
        total += done
        if done < TOPIC_BATCH:
            return total


# --- the recent orders of each key ---------------------------------------------------

def recent_members(now: dt.datetime, hours: int = max(WINDOWS)) -> dict[tuple[str, str], list[Member]]:
    """Each key's orders in the ``hours`` before ``now`` (two indexed range queries)."""
    since = now - dt.timedelta(hours=hours)
    out: dict[tuple[str, str], list[Member]] = defaultdict(list)
    rows = WorkOrder.objects.filter(created_at__gt=since, created_at__lte=now).order_by().values_list(
        "pk", "created_at", "street_id", "category_id", "appellant_phone", "appellant_user_id")
    for pk, at, street_id, category_id, phone, user_id in rows:
        member = Member(pk, at, caller_of(phone, user_id))
        if street_id:
            out[(Kind.STREET, str(street_id))].append(member)
        if category_id:
            out[(Kind.CATEGORY, str(category_id))].append(member)
    topics = OrderTopic.objects.filter(created_at__gt=since, created_at__lte=now).order_by().values_list(
        "order_id", "created_at", "name", "caller")
    for pk, at, name, caller in topics:
        out[(Kind.TOPIC, name)].append(Member(pk, at, caller))
    return out


# --- baselines ------------------------------------------------------------------------

def _day_bounds(today: dt.date, days: int) -> tuple[dt.datetime, dt.datetime]:
    end = dt.datetime.combine(today, dt.time(0), tzinfo=SHANGHAI)
    return end - dt.timedelta(days=days), end


def day_counts(kind: str, keys: list[str], today: dt.date, days: int = RULE.baseline_days) -> dict[str, dict]:
    """{key: {local date: orders}} over the ``days`` whole days before ``today``: one grouped query per kind."""
    if not keys:
        return {}
    start, end = _day_bounds(today, days)
    if kind == Kind.TOPIC:
        qs, column = OrderTopic.objects.filter(name__in=keys), "name"
    else:
        column = "street_id" if kind == Kind.STREET else "category_id"
        qs = WorkOrder.objects.filter(**{f"{column}__in": [int(k) for k in keys]})
    rows = (qs.filter(created_at__gte=start, created_at__lt=end).order_by()
            .annotate(day=TruncDate("created_at", tzinfo=SHANGHAI)).values_list(column, "day").annotate(n=Count("pk")))
    out: dict[str, dict] = defaultdict(dict)
    for key, d, n in rows:
        out[str(key)][d] = n
    return out


def hour_shares(today: dt.date, workday: bool, calendar: WorkingCalendar, days: int = RULE.baseline_days) -> list[float]:
    """The share of a day's orders arriving in each local hour, on baseline days of the given type.

    District-wide and cached for an hour: it moves slowly, and it is one scan of
    the baseline days' orders.
    """
    cache_key = f"alerts:hour-shares:{today.isoformat()}:{int(workday)}:{days}"
    cached = cache.get(cache_key)
    if cached is not None:
        return cached
    start, end = _day_bounds(today, days)
    rows = (WorkOrder.objects.filter(created_at__gte=start, created_at__lt=end).order_by()
            .annotate(day=TruncDate("created_at", tzinfo=SHANGHAI), hour=ExtractHour("created_at", tzinfo=SHANGHAI))
            .values_list("day", "hour").annotate(n=Count("pk")))
    counts = [0] * 24
    for d, hour, n in rows:
        if calendar.is_working_day(d) == workday:
            counts[hour] += n
    total = sum(counts)
    shares = [c / total for c in counts] if total else [1 / 24] * 24
    cache.set(cache_key, shares, SHARES_CACHE_S)
    return shares


def window_weights(now: dt.datetime, hours: int, shares: dict[bool, list[float]], is_workday) -> dict[bool, float]:
    """How many days' worth of orders of each day type the ``hours`` before ``now`` hold.

    Each local hour counts its day type's share (never below ``MIN_SHARE`` of a uniform
    hour), so a key's expected count is the sum of its rate times the weight over the
    two types (:func:`expected_count`). The weights are the same for every key: a
    check computes them once per window, not once per key.
    """
    weights = {True: 0.0, False: 0.0}
    moment, end = (now - dt.timedelta(hours=hours)).astimezone(SHANGHAI), now.astimezone(SHANGHAI)
    floor = MIN_SHARE / 24
    while moment < end:
        next_hour = (moment + dt.timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
        step = (min(next_hour, end) - moment).total_seconds() / 3600
        workday = is_workday(moment.date())
        weights[workday] += max(shares[workday][moment.hour], floor) * step
        moment = min(next_hour, end)
    return weights


def expected_count(rates: dict[bool, float], weights: dict[bool, float]) -> float:
    """Orders expected in a window of these ``weights`` (:func:`window_weights`) at these daily rates."""
    return rates[True] * weights[True] + rates[False] * weights[False]


# --- the check ------------------------------------------------------------------------

def _distinct_callers(members: list[Member]) -> int:
    return len({m.caller for m in members if m.caller})


def _candidates(members: list[Member], now: dt.datetime) -> list[tuple[int, list[Member]]]:
    """(window hours, members in it) for each window where the count and callers could make a burst."""
    out = []
    for hours in WINDOWS:
        inside = [m for m in members if m.at > now - dt.timedelta(hours=hours)]
        callers = _distinct_callers(inside)
        if len(inside) >= RULE.min_count and not (callers and callers < RULE.min_users):
            out.append((hours, inside))
    return out


def find(now: dt.datetime, *, calendar: WorkingCalendar | None = None) -> list[Finding]:
    """The keys bursting at ``now``, each with its strongest window; strongest first."""
    local_today = now.astimezone(SHANGHAI).date()
    calendar = calendar or load_calendar(local_today - dt.timedelta(days=RULE.baseline_days + 1))
    workday = calendar.is_working_day(local_today)
    warmed_up = WorkOrder.objects.filter(created_at__lt=now - dt.timedelta(days=WARMUP_DAYS)).exists()
    candidates: dict[tuple[str, str], list] = {}
    for (kind, key), members in recent_members(now).items():
        if kind != Kind.TOPIC and not warmed_up:
            continue
        windows = _candidates(members, now)
        if windows:
            candidates[(kind, key)] = windows
    if not candidates:
        return []
    shares = {t: hour_shares(local_today, t, calendar) for t in (True, False)}
    counts: dict[str, dict] = {}
    for kind in Kind.values:
        keys = [key for (k, key) in candidates if k == kind]
        counts.update({f"{kind}:{key}": c for key, c in day_counts(kind, keys, local_today).items()})
    alpha = RULE.alpha / len(WINDOWS)
    weights = {hours: window_weights(now, hours, shares, calendar.is_working_day) for hours in WINDOWS}
    days_of_type = {t: burstcore.baseline_of_type(local_today, t, RULE, calendar.is_working_day) for t in (True, False)}
    findings = []
    for (kind, key), windows in candidates.items():
        days = counts.get(f"{kind}:{key}", {})
        baseline = {t: burstcore.rate_over(days, days_of_type[t], RULE) for t in (True, False)}
        rates = {t: rate for t, (rate, _) in baseline.items()}
        best = None
        for hours, inside in windows:
            expected = expected_count(rates, weights[hours])
            callers = _distinct_callers(inside)
            p = burstcore.test(len(inside), callers, expected, RULE, alpha=alpha)
            if p is not None and (best is None or p < best.p):
                best = Finding(kind=kind, key=key, window_hours=hours, observed=len(inside), expected=expected,
                               daily_rate=rates[workday], baseline_days=baseline[workday][1], workday=workday, p=p,
                               callers=callers, members=sorted(inside, key=lambda m: (m.at, m.order_id)),
                               baseline={"rates": {"workday": rates[True], "restday": rates[False]},
                                         "shares": {"workday": shares[True], "restday": shares[False]}})
        if best:
            findings.append(best)
    return sorted(findings, key=lambda f: f.p)
