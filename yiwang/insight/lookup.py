"""Intake-time repeat-call lookup (重复来电): earlier orders that are probably the same case.

While an operator registers a call, the intake page asks for orders that share the
caller's phone or whose title reads like the new one, so the operator can see the
case is already known and register the call linked (``services.link``) or merged
(``services.merge``) into it in one step (``services.register_repeat_call``). Only
orders the operator may see, and only orders still open or registered in the last
90 days, are candidates; merged orders never are (their master is the one to merge
into).

PostgreSQL: pg_trgm similarity on ``UPPER(title::text)``, the exact expression the
trigram GIN index ``wo_title_trgm`` of workorders/0004 is built on, so the ``%``
operator is answered from that index. SQLite has no trigram index: it scans a
bounded window of recent orders in Python (see :func:`_sqlite_title_matches`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from django.contrib.postgres.lookups import TrigramSimilar
from django.contrib.postgres.search import TrigramSimilarity
from django.db import connection
from django.db.models import Q, QuerySet, TextField, Value
from django.db.models.functions import Cast, Upper
from django.utils import timezone

from yiwang.workorders.models import WorkOrder
from yiwang.workorders.selectors import visible_orders
from yiwang.workorders.states import OPEN, Status

RECENT_DAYS = 90
# Below this a title shares only a word or two with the new one (measured on the
# 2019 appeals: unrelated titles of one category score 0.2-0.3 in pg_trgm).
MIN_SCORE = 0.3
SAME_STREET_BONUS = 0.1
SAME_PHONE_WEIGHT = 0.5  # a caller's unrelated earlier call must not hide a near-identical appeal
# SQLite fallback: how many of the newest orders are compared in Python at most.
SCAN_LIMIT = 5000
MAX_QUERY_CHARS = 200


@dataclass(frozen=True)
class Candidate:
    pk: int
    number: str
    title: str
    status: str
    status_label: str
    street: str
    created_at: dt.datetime
    score: float
    reason: str
    repeat_count: int = 0  # repeat calls already linked or merged to it
    master_number: str = ""  # set when it is itself a repeat call: linking to it links to this master

    def as_dict(self) -> dict:
        return asdict(self)


def similar_open_orders(user, title: str, content: str = "", phone: str = "", street=None, *, limit: int = 5,
                        now: dt.datetime | None = None) -> list[Candidate]:
    """Up to ``limit`` probable earlier orders of the same case, best first.

    Ranked by title similarity plus ``SAME_PHONE_WEIGHT`` when the caller is the
    same and ``SAME_STREET_BONUS`` on the caller's street: the same person about the
    same matter comes first, a near-identical appeal from someone else (0.8) before
    the same person's call about something unrelated (0.5). ``content`` stands in for
    the title only when no title is typed yet.
    """
    text = (title or "").strip() or (content or "").strip()
    text = text[:MAX_QUERY_CHARS]
    phone = (phone or "").strip()
    if not text and not phone:
        return []
    since = (now or timezone.now()) - dt.timedelta(days=RECENT_DAYS)
    pool = (visible_orders(user).exclude(status=Status.MERGED)
            .filter(Q(status__in=OPEN) | Q(created_at__gte=since)))
    street_id = getattr(street, "pk", street)

    scores: dict[int, float] = {}
    by_phone: set[int] = set()
    if phone:
        by_phone = set(pool.filter(appellant_phone=phone).order_by("-created_at").values_list("pk", flat=True)[:limit])
    if text:
        if connection.vendor == "postgresql":
            scores = _pg_title_matches(pool, text, limit * 3)
            missing = by_phone - scores.keys()
            if missing:
                scores.update(_pg_scores(pool.filter(pk__in=missing), text))
        else:
            scores = _sqlite_title_matches(pool, text, since, by_phone)
    ids = by_phone | {pk for pk, s in scores.items() if s >= MIN_SCORE}
    orders = {o.pk: o for o in WorkOrder.objects.filter(pk__in=ids).select_related("street", "master")}

    def rank(pk):
        o = orders[pk]
        bonus = SAME_STREET_BONUS if street_id and o.street_id == street_id else 0.0
        phone_weight = SAME_PHONE_WEIGHT if pk in by_phone else 0.0
        return (scores.get(pk, 0.0) + phone_weight + bonus, o.created_at)

    best = sorted(orders, key=rank, reverse=True)[:limit]
    return [_candidate(orders[pk], scores.get(pk, 0.0), pk in by_phone, street_id) for pk in best]


def _candidate(order: WorkOrder, score: float, same_phone: bool, street_id) -> Candidate:
    reasons = ["同一来电号码"] if same_phone else []
    if score >= MIN_SCORE:
        reasons.append(f"标题相似 {score:.2f}")
    if street_id and order.street_id == street_id:
        reasons.append("同一街道")
    return Candidate(
        pk=order.pk, number=order.number or "", title=order.title, status=order.status,
        status_label=order.get_status_display(), street=order.street.name if order.street else "",
        created_at=order.created_at, score=round(score, 2), reason="，".join(reasons),
        repeat_count=order.repeat_count, master_number=order.master.number if order.master_id else "",
    )


# --- PostgreSQL: pg_trgm over the trigram index -----------------------------------

def _upper_title():
    # Must match the index expression UPPER("title"::text) of wo_title_trgm exactly.
    return Upper(Cast("title", TextField()))


def _pg_title_matches(pool: QuerySet, text: str, n: int) -> dict[int, float]:
    # ``%`` (default threshold 0.3 = MIN_SCORE) is what the GIN index answers; the
    # similarity() annotation then only orders the rows the index returned.
    needle = Value(text.upper(), output_field=TextField())
    rows = (pool.filter(TrigramSimilar(_upper_title(), needle))
            .annotate(score=TrigramSimilarity(_upper_title(), needle))
            .order_by("-score", "-created_at").values_list("pk", "score")[:n])
    return dict(rows)


def _pg_scores(qs: QuerySet, text: str) -> dict[int, float]:
    needle = Value(text.upper(), output_field=TextField())
    return dict(qs.annotate(score=TrigramSimilarity(_upper_title(), needle)).values_list("pk", "score"))


# --- SQLite: a bounded scan ------------------------------------------------------

def _sqlite_title_matches(pool: QuerySet, text: str, since: dt.datetime, also: set[int]) -> dict[int, float]:
    # SQLite has no trigram index and no similarity function, and a development or
    # test database is small, so the newest SCAN_LIMIT orders of the last 90 days are
    # compared in Python. Character bigrams rather than pg_trgm's trigrams: Chinese
    # words are mostly two characters, so bigrams capture them and need no word split.
    query = _bigrams(text)
    rows = pool.filter(Q(created_at__gte=since) | Q(pk__in=also)).order_by("-created_at")
    return {pk: _jaccard(query, _bigrams(t)) for pk, t in rows.values_list("pk", "title")[:SCAN_LIMIT]}


def _bigrams(text: str) -> set[str]:
    s = "".join(ch for ch in text.upper() if ch.isalnum())
    return {s[i:i + 2] for i in range(len(s) - 1)} or ({s} if s else set())


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0
