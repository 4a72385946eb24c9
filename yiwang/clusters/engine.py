"""The continuous clustering job: new work orders join case clusters (类案) or form new ones.

Run by django-q2 every 10 minutes (Schedule ``clusters-assign``, migration 0002),
from the admin (类案 → "立即聚合") or by ``yiwang manage cluster_orders``.

How one run works
-----------------
1. **New orders** are those without a :class:`~.models.Placement` row, looked for
   above ``JobState.watermark - LOOKBACK_IDS`` (so an intake transaction still open
   when the previous run read the ids is not skipped), ``CHUNK`` at a time in id order.
2. **Window**: the chunk plus the already placed orders registered within
   ``WINDOW_DAYS`` (90) days of it, at most ``MAX_WINDOW`` of them (the newest).
   The run never compares all orders with all orders.
3. **Scoring** is :mod:`yiwang.insight.pairs` unchanged: one TF-IDF corpus over the
   window, candidates from the nearest neighbours of each *new* order plus orders
   of the same caller (phone) or naming the same rare place/entity, then
   ``is_duplicate`` (same case) or ``is_similar`` (similar case) decides a link.
   A merged order (``master``) is always linked to its master as the same case.
4. **Placing**, new orders in time order (the incremental form of the batch's
   connected components, :mod:`yiwang.insight.clusters`):
   no link → placed alone; links only to unclustered orders → a new cluster of them;
   links to clusters → it joins the one it links to most strongly, and other linked
   clusters are merged into it only when none of them is locked (confirmed or edited
   by a person) and the result stays under ``MAX_AUTO_MERGE`` orders.
5. **Human decisions win**: an order a person took out of a cluster (an
   :class:`~.models.Exclusion`) is never used as a link again; a locked cluster is
   never merged, split or relabelled by the job; already placed orders are never
   moved by the job. So a confirmation, split, merge or removal survives every run.
6. **Refresh**: touched clusters get their statistics, heat, generated summary and
   representative order again; clusters whose heat decays (orders in the last 30
   days) or whose members got a dissatisfied follow-up since the last run get new
   statistics.

Heat index (the batch's formula, :data:`yiwang.insight.clusters.HEAT_WEIGHTS`)
------------------------------------------------------------------------------
::

    heat = 1.0·ln(1 + volume)        member orders
         + 1.0·ln(1 + recent)        members registered in the 30 days before the newest order (growth)
         + 0.5·ln(1 + repeats)       members that repeat an earlier member (same case, or merged into it)
         + 0.5·ln(1 + support)       public support: appellants beyond the first (distinct phone numbers);
                                     the hotline has no likes, the CSV batch counts likes here
         + 0.5·ln(1 + dissatisfied)  members with a dissatisfied follow-up (回访不满意)

"Now" for ``recent`` is the newest order's registration time (never later than
the clock), so a replayed or imported history ranks the same way it did live.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from sklearn.neighbors import NearestNeighbors

from yiwang.insight import clusters as batch
from yiwang.insight import pairs
from yiwang.insight.appeals import Appeal
from yiwang.org.models import Category
from yiwang.workorders.models import FollowUp, Satisfaction, WorkOrder

from .models import LIVE, CaseCluster, ClusterStatus, Exclusion, JobState, Placement

log = logging.getLogger(__name__)

WINDOW_DAYS = 90
MAX_WINDOW = 20_000
CHUNK = 2_000
LOOKBACK_IDS = 2_000
MAX_AUTO_MERGE = 300
MAX_DETAIL_CHARS = 1_500  # long letters add little evidence and cost TF-IDF time
SUMMARY_BACKGROUND = 1_500  # orders beside a cluster's own when its summary needs a corpus of its own
SUMMARY_MEMBERS = 300
KEYWORDS = 5
STATE_KEY = "clusters"

_FIELDS = ("pk", "created_at", "title", "content", "appellant_phone", "master_id")


@dataclass
class RunStats:
    new: int = 0
    placed_in_clusters: int = 0
    clusters_created: int = 0
    clusters_merged: int = 0
    refreshed: int = 0
    chunks: int = 0
    seconds: float = 0.0
    phases: dict = field(default_factory=lambda: defaultdict(float))

    def as_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k != "phases"}
        d["phases"] = {k: round(v, 3) for k, v in self.phases.items()}
        d["seconds"] = round(self.seconds, 3)
        return d


def _state() -> JobState:
    state, _ = JobState.objects.get_or_create(key=STATE_KEY)
    return state


def pending_ids(limit: int = CHUNK) -> list[int]:
    """Ids of orders the job has not placed yet, lowest first."""
    floor = max(0, _state().watermark - LOOKBACK_IDS)
    placed = Placement.objects.filter(order_id__gt=floor).values("order_id")
    return list(WorkOrder.objects.filter(pk__gt=floor).exclude(pk__in=placed)
                .order_by("pk").values_list("pk", flat=True)[:limit])


def _appeal(row: tuple) -> Appeal:
    pk, created_at, title, content, phone, _master = row
    return Appeal(id=str(pk), time=created_at, title=title or "", detail=(content or "")[:MAX_DETAIL_CHARS],
                  user=phone or "")


def run(*, max_chunks: int | None = None, now: dt.datetime | None = None) -> dict:
    """Place every new order; returns what was done (also kept in ``JobState.last_stats``)."""
    started = time.perf_counter()
    stats = RunStats()
    state = _state()
    since = state.last_run_at
    while max_chunks is None or stats.chunks < max_chunks:
        ids = pending_ids()
        if not ids:
            break
        touched, corpus, row_of = _chunk(ids, stats)
        t = time.perf_counter()
        stats.refreshed += refresh(touched, corpus=corpus, row_of=row_of)
        stats.phases["refresh"] += time.perf_counter() - t
        stats.chunks += 1
    t = time.perf_counter()
    stats.refreshed += refresh(_decaying(since), labels=False)
    stats.phases["refresh_decaying"] += time.perf_counter() - t
    stats.seconds = time.perf_counter() - started
    JobState.objects.filter(pk=state.pk).update(last_run_at=now or timezone.now(), last_stats=stats.as_dict())
    log.info("clusters run: %s", stats.as_dict())
    return stats.as_dict()


def _chunk(ids: list[int], stats: RunStats) -> tuple[set[int], pairs.Corpus | None, dict[int, int]]:
    t = time.perf_counter()
    new_rows = list(WorkOrder.objects.filter(pk__in=ids).order_by("created_at", "pk").values_list(*_FIELDS))
    lo = min(r[1] for r in new_rows) - dt.timedelta(days=WINDOW_DAYS)
    hi = max(r[1] for r in new_rows) + dt.timedelta(days=WINDOW_DAYS)
    old_rows = list(WorkOrder.objects.filter(created_at__gte=lo, created_at__lte=hi, case_placement__isnull=False)
                    .exclude(pk__in=ids).order_by("-created_at").values_list(*_FIELDS)[:MAX_WINDOW])
    rows = old_rows + new_rows
    stats.phases["load"] += time.perf_counter() - t

    t = time.perf_counter()
    appeals = [_appeal(r) for r in rows]
    corpus = pairs.build(appeals)
    new_idx = list(range(len(old_rows), len(rows)))
    links = _links(corpus, new_idx)
    stats.phases["score"] += time.perf_counter() - t

    t = time.perf_counter()
    pk_at = [r[0] for r in rows]
    edges: dict[int, list[tuple[int, float, bool]]] = defaultdict(list)
    for p in links:
        a, b = pk_at[p.i], pk_at[p.j]
        dup = pairs.is_duplicate(p)
        edges[a].append((b, p.score, dup))
        edges[b].append((a, p.score, dup))
    for r in new_rows:
        if r[5]:  # merged into a master: the same case by a person's decision
            edges[r[0]].append((r[5], 1.0, True))
    touched = _place(new_rows, edges, stats)
    stats.phases["place"] += time.perf_counter() - t
    stats.new += len(new_rows)
    return touched, corpus, {pk: i for i, pk in enumerate(pk_at)}


def _links(c: pairs.Corpus, new_idx: list[int]) -> list[pairs.Pair]:
    """Pairs with at least one new order that insight.pairs judges the same or a similar case."""
    n = len(c.appeals)
    found: set[tuple[int, int]] = set()
    if n > 1 and new_idx:
        k = min(pairs.NEIGHBOURS + 1, n)
        nn = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(c.text)
        dist, idx = nn.kneighbors(c.text[new_idx])
        for row, i in enumerate(new_idx):
            for d, j in zip(dist[row], idx[row]):
                if j != i and 1 - d >= pairs.CANDIDATE_MIN_TEXT:
                    found.add((min(i, j), max(i, j)))
    fresh = set(new_idx)
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, a in enumerate(c.appeals):
        if a.user:
            groups[("user", a.user)].append(i)
        for name in c.names[i]:
            groups[("name", name)].append(i)
    for group in groups.values():
        if 1 < len(group) <= pairs.MAX_USER_POSTS:
            for i in fresh.intersection(group):
                found.update((min(i, j), max(i, j)) for j in group if j != i)
    return [p for p in pairs.make_pairs(c, sorted(found)) if pairs.is_duplicate(p) or pairs.is_similar(p)]


def _place(new_rows: list[tuple], edges: dict, stats: RunStats) -> set[int]:
    """Step 4 of the module docstring, in one transaction with the current human decisions."""
    now = timezone.now()
    new_ids = [r[0] for r in new_rows]
    neighbours = {m for n in new_ids for m, _, _ in edges.get(n, ())}
    touched: set[int] = set()
    with transaction.atomic():
        state = JobState.objects.select_for_update().get(key=STATE_KEY)
        already = set(Placement.objects.filter(order_id__in=new_ids).values_list("order_id", flat=True))
        cluster_of: dict[int, int | None] = dict(
            Placement.objects.filter(order_id__in=neighbours).values_list("order_id", "cluster_id"))
        held = set(Exclusion.objects.filter(order_id__in=neighbours).values_list("order_id", flat=True))
        clusters = {c.pk: c for c in CaseCluster.objects.select_for_update()
                    .filter(pk__in={c for c in cluster_of.values() if c}, status__in=LIVE)}
        sizes: Counter = Counter(dict(Placement.objects.filter(cluster_id__in=clusters).order_by()
                                      .values_list("cluster_id").annotate(n=Count("pk"))))
        rows: dict[int, Placement] = {}
        moved: dict[int, int] = {}  # existing unclustered placements that now join a cluster

        def new_cluster(at) -> CaseCluster:
            c = CaseCluster.objects.create(created_at=now, first_at=at, last_at=at)
            clusters[c.pk] = c
            stats.clusters_created += 1
            return c

        for pk, created_at, *_ in new_rows:
            if pk in already:
                continue
            linked: dict[int, float] = {}
            loners: list[int] = []
            repeat, best = False, 0.0
            for m, score, dup in edges.get(pk, ()):
                if m in held or m not in cluster_of:
                    continue  # taken out by a person, or not placed yet (a later order of this chunk links back)
                repeat, best = repeat or dup, max(best, score)
                cid = cluster_of[m]
                if cid is None:
                    loners.append(m)
                elif cid in clusters:
                    linked[cid] = max(linked.get(cid, 0.0), score)
            target = None
            if linked:
                target = clusters[max(linked, key=lambda c: (linked[c], sizes[c]))]
                if not target.locked:
                    for cid in sorted(linked, key=lambda c: -linked[c]):
                        other = clusters[cid]
                        if other is target or other.locked or sizes[target.pk] + sizes[cid] > MAX_AUTO_MERGE:
                            continue
                        Placement.objects.filter(cluster_id=cid).update(cluster_id=target.pk)
                        for o, c in list(cluster_of.items()):
                            if c == cid:
                                cluster_of[o] = target.pk
                        for o, c in list(moved.items()):
                            if c == cid:
                                moved[o] = target.pk
                        for row in rows.values():
                            if row.cluster_id == cid:
                                row.cluster_id = target.pk
                        sizes[target.pk] += sizes.pop(cid, 0)
                        touched.discard(cid)
                        del clusters[cid]
                        other.delete()  # an automatic cluster nobody touched: nothing to keep
                        stats.clusters_merged += 1
            elif loners:
                target = new_cluster(created_at)
            cid = target.pk if target else None
            rows[pk] = Placement(order_id=pk, cluster_id=cid, repeat=repeat, score=round(best, 4), placed_at=now)
            cluster_of[pk] = cid
            if target:
                sizes[cid] += 1
                touched.add(cid)
                stats.placed_in_clusters += 1
                for m in loners:
                    if cluster_of.get(m) is None:
                        cluster_of[m] = cid
                        sizes[cid] += 1
                        if m in rows:
                            rows[m].cluster_id = cid
                        else:
                            moved[m] = cid
        Placement.objects.bulk_create(rows.values())
        by_cluster: dict[int, list[int]] = defaultdict(list)
        for o, c in moved.items():
            by_cluster[c].append(o)
        for c, orders in by_cluster.items():
            Placement.objects.filter(order_id__in=orders, cluster__isnull=True).update(cluster_id=c)
        top = max(new_ids)
        if top > state.watermark:
            JobState.objects.filter(pk=state.pk).update(watermark=top)
    return touched


def _decaying(since: dt.datetime | None) -> set[int]:
    """Clusters whose heat changes without new members: recent counts age, follow-ups arrive."""
    ids = set(CaseCluster.objects.filter(status__in=LIVE, recent__gt=0).values_list("pk", flat=True))
    if since is not None:
        orders = FollowUp.objects.filter(at__gte=since).values("order_id")
        ids |= set(Placement.objects.filter(order_id__in=orders, cluster__isnull=False)
                   .values_list("cluster_id", flat=True))
    return ids


def reference_time() -> dt.datetime:
    """The heat index's "now": the newest order's registration time, never later than the clock."""
    newest = WorkOrder.objects.order_by("-created_at", "-id").values_list("created_at", flat=True).first()
    now = timezone.now()
    return min(newest, now) if newest else now


# --- statistics and summaries -------------------------------------------------------

_MEMBER_FIELDS = ("cluster_id", "order_id", "repeat", "order__created_at", "order__street_id",
                  "order__committee_id", "order__category_id", "order__appellant_phone", "order__appellant_name")


def refresh(cluster_ids, *, corpus: pairs.Corpus | None = None, row_of: dict[int, int] | None = None,
            labels: bool = True) -> int:
    """Recompute statistics (and, with ``labels``, the summary) of the given clusters; returns how many."""
    ids = sorted(set(cluster_ids))
    if not ids:
        return 0
    ref = reference_time()
    recent_since = ref - dt.timedelta(days=batch.RECENT_DAYS)
    done = 0
    for start in range(0, len(ids), 500):
        part = ids[start:start + 500]
        members: dict[int, list[tuple]] = defaultdict(list)
        for row in Placement.objects.filter(cluster_id__in=part).values_list(*_MEMBER_FIELDS):
            members[row[0]].append(row[1:])
        order_ids = [m[0] for ms in members.values() for m in ms]
        unhappy = set(FollowUp.objects.filter(order_id__in=order_ids, satisfaction=Satisfaction.DISSATISFIED)
                      .values_list("order_id", flat=True))
        paths = dict(Category.objects.filter(pk__in={m[5] for ms in members.values() for m in ms if m[5]})
                     .values_list("pk", "path"))
        need_corpus: list[CaseCluster] = []
        for cluster in CaseCluster.objects.filter(pk__in=part):
            ms = members.get(cluster.pk, [])
            _stats(cluster, ms, unhappy, paths, recent_since)
            if cluster.size == 0 and cluster.status in LIVE:
                cluster.status = ClusterStatus.EMPTY
            if labels and ms and not cluster.label_by_person:
                rows = [row_of.get(m[0]) for m in ms] if row_of is not None and corpus is not None else [None]
                if None in rows:
                    need_corpus.append(cluster)
                else:
                    _summarise(cluster, corpus, rows, [m[0] for m in ms])
            cluster.refreshed_at = timezone.now()
            cluster.save()
            done += 1
        if need_corpus:
            _summarise_apart(need_corpus, members)
    return done


def _stats(cluster: CaseCluster, ms: list[tuple], unhappy: set[int], paths: dict, recent_since) -> None:
    cluster.size = len(ms)
    cluster.repeats = sum(1 for m in ms if m[1])
    cluster.recent = sum(1 for m in ms if m[2] >= recent_since)
    callers = {m[6] or m[7] or f"#{m[0]}" for m in ms}
    cluster.callers = len(callers)
    cluster.dissatisfied = sum(1 for m in ms if m[0] in unhappy)
    cluster.heat = batch.heat_from_counts(volume=cluster.size, recent=cluster.recent, repeats=cluster.repeats,
                                          likes=max(0, cluster.callers - 1), dissatisfied=cluster.dissatisfied)
    cluster.first_at = min((m[2] for m in ms), default=None)
    cluster.last_at = max((m[2] for m in ms), default=None)
    streets = Counter(m[3] for m in ms if m[3])
    cluster.street_id = streets.most_common(1)[0][0] if streets else None
    committees = Counter(m[4] for m in ms if m[4])
    cluster.committee_id = committees.most_common(1)[0][0] if committees else None
    mix = Counter(paths.get(m[5], "未分类") for m in ms)
    cluster.category_mix = [[path, n] for path, n in sorted(mix.items(), key=lambda kv: (-kv[1], kv[0]))[:6]]


def _summarise(cluster: CaseCluster, c: pairs.Corpus, rows: list[int], pks: list[int]) -> None:
    """Label (place + top n-grams, :func:`yiwang.insight.clusters.label_parts`) and the most central member."""
    vocab = getattr(c, "_vocab_cache", None)
    if vocab is None:
        vocab = c.problem_vocab
        c._vocab_cache = vocab  # sorting the vocabulary is the slow part; once per corpus
    place, words = batch.label_parts(c, rows, vocab, n_words=KEYWORDS)
    cluster.place = place[:64]
    cluster.keywords = words
    head = "、".join(words[:3])
    cluster.label = (f"{place}：{head}" if place else head)[:200] or "类案"
    block = c.text[rows]
    centroid = np.asarray(block.mean(axis=0)).ravel()
    cluster.representative_id = pks[int(np.argmax(block @ centroid))]


def _summarise_apart(clusters: list[CaseCluster], members: dict[int, list[tuple]]) -> None:
    """Summaries for clusters outside the job's window: a corpus of their members and the orders around them.

    The background orders keep the inverse document frequencies meaningful: with the
    members alone, the words they share would weigh least.
    """
    member_ids = {c.pk: [m[0] for m in sorted(members[c.pk], key=lambda m: m[2])[-SUMMARY_MEMBERS:]] for c in clusters}
    wanted = {pk for ids in member_ids.values() for pk in ids}
    lo = min(c.first_at for c in clusters)
    hi = max(c.last_at for c in clusters)
    background = list(WorkOrder.objects.filter(created_at__gte=lo - dt.timedelta(days=WINDOW_DAYS),
                                               created_at__lte=hi)
                      .exclude(pk__in=wanted).order_by("-created_at").values_list(*_FIELDS)[:SUMMARY_BACKGROUND])
    own = list(WorkOrder.objects.filter(pk__in=wanted).values_list(*_FIELDS))
    rows = background + own
    corpus = pairs.build([_appeal(r) for r in rows])
    row_of = {r[0]: i for i, r in enumerate(rows)}
    for cluster in clusters:
        pks = member_ids[cluster.pk]
        _summarise(cluster, corpus, [row_of[pk] for pk in pks], pks)
        cluster.save(update_fields=["place", "keywords", "label", "representative"])
