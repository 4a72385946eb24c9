"""Sudden-issue alerts through the LIVE detector: replayed real appeals plus injected bursts.

    .venv/bin/python bench/alerts_replay.py [--injections 30] [--size 5] [--seed 7]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h3_bench .venv/bin/python bench/alerts_replay.py --scale 1000000

Both appeal files (``../shared/data/appeals_public_2019.csv`` and
``appeals_with_replies.csv``) are written as work orders into a fresh database
(SQLite in a temporary folder, or the PostgreSQL database named by DATABASE_URL,
created and dropped by this script) with ``created_at`` from the file, in time
order. After each order the check runs with the clock at that order's time (in
production the intake follower runs it within ``FOLLOW_INTERVAL``, 15 s, of an arrival) (``yiwang.alerts.jobs.run_check(now=created_at)``):
the detector reads only the database. Streets: the data's district code (A3区, its
street level) mapped onto Hongkou's streets; appeals naming none get a street
from their id. Categories are left empty (the file has none), so category keys
are not exercised here.

Injected bursts: ``--injections`` bursts of ``--size`` perturbed copies of one real
appeal (another caller each, the same street) at random times within one hour,
at a random moment of 2019. A burst is detected when an alert links one of its
orders; delay = that alert's raised_at minus the burst's first order. Alerts
linking no injected order count as false alarms per week of 2019 (the real data
hold real bursts too, so this is an upper bound).

``--scale N`` (PostgreSQL) then adds N synthetic orders over the year before a
moment and times the check there (median/p90 of 20 runs): the time-window
queries read ``wo_created``, ``wo_street_created``, ``wo_category_created`` and
``order_topic_name_time``.

Result (2-core dev machine, SQLite, ``--injections 30 --size 5 --seed 7``): 7,292 orders
replayed in 744 s, 69 alerts; detected 30/30 bursts, delay from the first order
median 18.6 min, p90 34.2 min, max 39.1 min (with min_count 3 an alert cannot come
before a burst's third order, which arrives 24 min in on average); 32 alerts with
no injected order in 2019 = 0.61 per week (upper bound of false alarms); check
runtime per run median 76 ms, p90 175 ms. The 1M-order PostgreSQL timing
(``--scale``) has not been run yet.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
FILES = ("appeals_public_2019.csv", "appeals_with_replies.csv")
PERIOD = (datetime(2019, 1, 1), datetime(2020, 1, 1))


def setup_database() -> str | None:
    """A fresh database; returns the PostgreSQL name to drop at the end, or None for SQLite."""
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        os.environ["YIWANG_VAR_DIR"] = tempfile.mkdtemp(prefix="alerts-replay-")
        return None
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(name: str | None) -> None:
    if not name:
        return
    from django.db import connections

    connections.close_all()
    import psycopg

    url = os.environ["DATABASE_URL"]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def _digest(text: str) -> int:
    return int(hashlib.sha1(text.encode()).hexdigest()[:8], 16)


def _perturb(text: str, rng: random.Random) -> str:
    cut = rng.randrange(len(text) // 3 + 1)
    return rng.choice(["再次反映：", "", "紧急！", "请领导关注："]) + text[cut:]


def load(rng: random.Random, injections: int, size: int):
    from yiwang.insight.appeals import read_appeals

    appeals = []
    for name in FILES:
        appeals += [replace(a, id=f"{name[:8]}:{a.id}") for a in read_appeals(DATA / name)]
    pool = [a for a in appeals if PERIOD[0] + timedelta(days=35) <= a.time < PERIOD[1]]
    bursts = []
    for n in range(injections):
        seed = rng.choice(pool)
        t0 = PERIOD[0] + timedelta(days=35, seconds=rng.randrange(int((PERIOD[1] - PERIOD[0]).total_seconds()) - 36 * 86400))
        offsets = sorted(rng.randrange(3600) for _ in range(size - 1))
        bursts.append([replace(seed, id=f"inj{n}-{m}", user=f"inj{n}-{m}", time=t0 + timedelta(seconds=off),
                               title=_perturb(seed.title, rng), detail=_perturb(seed.detail, rng))
                       for m, off in enumerate([0, *offsets])])
    return appeals, bursts


def street_for(appeal, streets) -> object:
    from yiwang.insight import entities

    districts = entities.districts(appeal.text)
    source = appeal.id.split("-")[0] if appeal.id.startswith("inj") else appeal.id
    return streets[_digest(districts[0] if districts else source) % len(streets)]


def replay(appeals, bursts) -> dict:
    from django.utils import timezone

    from yiwang.alerts import jobs
    from yiwang.alerts.models import Alert, AlertOrder
    from yiwang.core.calendar import SHANGHAI
    from yiwang.org.models import Street
    from yiwang.workorders.models import AppealType, Channel, WorkOrder

    streets = list(Street.objects.order_by("code"))
    injected = {a.id: n for n, burst in enumerate(bursts) for a in burst}
    everything = sorted([*appeals, *(a for b in bursts for a in b)], key=lambda a: (a.time, a.id))
    # For injected bursts, the street of their seed appeal (the copies may have lost the district name).
    seed_street = {n: street_for(burst[0], streets) for n, burst in enumerate(bursts)}
    order_of: dict[str, int] = {}
    runtimes = []
    started = time.perf_counter()
    for a in everything:
        when = timezone.make_aware(a.time, SHANGHAI)
        street = seed_street[injected[a.id]] if a.id in injected else street_for(a, streets)
        order = WorkOrder.objects.create(channel=Channel.IMPORT, appeal_type=AppealType.COMPLAINT, title=a.title[:200],
                                         content=a.detail or a.title, street=street, created_at=when,
                                         appellant_phone=f"u{_digest(a.user or a.id)}", external_ref=a.id[:64])
        order_of[a.id] = order.pk
        t = time.perf_counter()
        jobs.run_check(now=when)
        runtimes.append((time.perf_counter() - t) * 1000)
    wall = time.perf_counter() - started
    inj_orders = {order_of[a.id]: n for n, burst in enumerate(bursts) for a in burst}
    first_at = {n: min(timezone.make_aware(a.time, SHANGHAI) for a in burst) for n, burst in enumerate(bursts)}
    hits: dict[int, datetime] = {}
    false_alarms = 0
    lo, hi = (timezone.make_aware(t, SHANGHAI) for t in PERIOD)
    for alert in Alert.objects.all():
        linked = set(AlertOrder.objects.filter(alert=alert).values_list("order_id", flat=True))
        found = {inj_orders[o] for o in linked if o in inj_orders}
        for n in found:
            hits[n] = min(hits.get(n, alert.raised_at), alert.raised_at)
        if not found and lo <= alert.raised_at < hi:
            false_alarms += 1
    delays = sorted((hits[n] - first_at[n]).total_seconds() / 60 for n in hits)
    return {"orders": len(everything), "alerts": Alert.objects.count(), "detected": len(hits),
            "injected": len(bursts), "delays": delays, "false_alarms": false_alarms,
            "weeks": (PERIOD[1] - PERIOD[0]).days / 7, "runtimes": runtimes, "wall": wall}


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def scale(n: int, rng: random.Random, appeals) -> None:
    """N synthetic orders over the year before ``moment``; time the check at ``moment``."""
    from django.utils import timezone

    from yiwang.alerts import jobs
    from yiwang.alerts.models import DetectorState, OrderTopic
    from yiwang.core.calendar import SHANGHAI
    from yiwang.insight import entities
    from yiwang.org.models import Category, Street
    from yiwang.workorders.models import AppealType, Channel, WorkOrder

    streets = list(Street.objects.values_list("pk", flat=True))
    categories = list(Category.objects.filter(level=3).values_list("pk", flat=True))
    texts = [(a.title[:200], a.detail[:400], sorted(n for n in entities.extract(a.text) if len(n) <= 32))
             for a in appeals[:2000]]
    moment = timezone.make_aware(datetime(2026, 6, 10, 10, 30), SHANGHAI)
    start = moment - timedelta(days=365)
    t = time.perf_counter()
    batch, topics = [], []
    first_id = (WorkOrder.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    for k in range(n):
        title, content, names = texts[k % len(texts)]
        # Arrivals weighted to working hours: 80% between 08:00 and 18:00.
        day = start + timedelta(days=rng.randrange(365))
        hour = rng.randrange(8, 18) if rng.random() < 0.8 else rng.randrange(24)
        when = day.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60))
        if when >= moment:
            when -= timedelta(days=1)
        batch.append(WorkOrder(channel=Channel.IMPORT, appeal_type=AppealType.COMPLAINT, title=title, content=content,
                               street_id=rng.choice(streets), category_id=rng.choice(categories), created_at=when,
                               appellant_phone=f"u{rng.randrange(10**7)}"))
        topics.append((names, when))
        if len(batch) == 20000:
            WorkOrder.objects.bulk_create(batch)
            batch = []
    if batch:
        WorkOrder.objects.bulk_create(batch)
    ids = list(WorkOrder.objects.filter(pk__gte=first_id).order_by("pk").values_list("pk", flat=True))
    rows = []
    for pk, (names, when) in zip(ids, topics):
        rows += [OrderTopic(order_id=pk, name=name, created_at=when, caller="") for name in names]
        if len(rows) >= 20000:
            OrderTopic.objects.bulk_create(rows, ignore_conflicts=True)
            rows = []
    OrderTopic.objects.bulk_create(rows, ignore_conflicts=True)
    DetectorState.objects.update(topics_through=ids[-1])
    print(f"scale: {n} orders written in {time.perf_counter() - t:.0f} s "
          f"({WorkOrder.objects.count()} in the table, {OrderTopic.objects.count()} topic rows)")
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    times = []
    for k in range(20):
        now = moment + timedelta(minutes=k)
        t = time.perf_counter()
        jobs.run_check(now=now)
        times.append((time.perf_counter() - t) * 1000)
    print(f"check at {WorkOrder.objects.count()} orders ({connection.vendor}): median {statistics.median(times):.0f} ms, "
          f"p90 {pct(times, 0.9):.0f} ms, first {times[0]:.0f} ms (hour shares not cached yet)")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--injections", type=int, default=30)
    p.add_argument("--size", type=int, default=5, help="orders per injected burst (within one hour)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--scale", type=int, default=0, help="then add N synthetic orders and time the check")
    args = p.parse_args()
    pg_name = setup_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiwang.settings")
    import logging

    import django

    django.setup()
    logging.getLogger("yiwang.alerts").setLevel(logging.ERROR)  # replayed orders have no events to notify on
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    try:
        rng = random.Random(args.seed)
        appeals, bursts = load(rng, args.injections, args.size)
        r = replay(appeals, bursts)
        d = r["delays"]
        print(f"replayed {r['orders']} orders ({r['injected']} bursts of {args.size} injected) in {r['wall']:.0f} s; "
              f"{r['alerts']} alerts")
        print(f"detected {r['detected']}/{r['injected']} bursts; delay from the first order: "
              f"median {statistics.median(d) if d else float('nan'):.1f} min, p90 {pct(d, 0.9):.1f} min, "
              f"max {max(d, default=float('nan')):.1f} min")
        print(f"false alarms (alerts with no injected order) in 2019: {r['false_alarms']} over {r['weeks']:.0f} weeks"
              f" = {r['false_alarms'] / r['weeks']:.2f} per week")
        rt = r["runtimes"]
        print(f"check runtime per run during the replay: median {statistics.median(rt):.1f} ms, "
              f"p90 {pct(rt, 0.9):.1f} ms")
        if args.scale:
            scale(args.scale, rng, appeals)
    finally:
        drop_database(pg_name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
