"""Repeat-call statistics (重复来电) on 1,000,000 work orders (PostgreSQL).

Run from the repository root (a PostgreSQL server whose ``postgres`` role may
create databases; about 400 MB of disk):

    .venv/bin/python bench/repeat_counts.py               # fill (if needed) and time
    .venv/bin/python bench/repeat_counts.py --explain     # also print each query's plan
    .venv/bin/python bench/repeat_counts.py --drop        # remove the database afterwards

It migrates a database ``yiwang_bench_repeat`` and fills it inside PostgreSQL
(``INSERT … SELECT`` over ``generate_series``) with ``--orders`` orders over three
years (recent months busier), each with a street, most with a lead unit, and
``--repeat-share`` of them (4 %) attached to an earlier order as
repeat calls (``master``: an order registered hours to days before), one in five
of those merged; ``repeat_count`` is then
set from ``master``. Only the columns the statistics read are realistic (titles are
short, contents empty), so the fill takes about a minute; the trigram indexes of
workorders/0004 are dropped (the lookup bench, bench/repeat_lookup.py, uses
``yiwang_bench_list``).

Then it times, ``--runs`` times each after one warm-up, the functions of
``yiwang.workorders.repeats`` that the ``/repeats/`` page calls (each one SQL
query): per unit, per street, the top 20 masters, and the summary (repeat calls and
all calls of the period: two counts), for a week, 30 days and a year ending now,
and prints p50 / max in ms with the load average.

Measured (``.venv/bin/python bench/repeat_counts.py --refill --explain``: 1,000,000
orders, 40,063 repeat calls; fill 815 s; load average 13.6 on 2 cores, other jobs
running, so not representative), p50 / max ms, one query each (summary: two):

    period     by_unit        by_street      top_masters    summary
    7 days      74 / 111       73 / 108       81 / 121       31 / 52
    30 days    166 / 190      166 / 227      202 / 386      119 / 180
    365 days   705 / 1105     461 / 498      737 / 824      217 / 279

Again (``.venv/bin/python bench/repeat_counts.py --runs 10``, same database, load
average 2.9), p50 / max ms:

    period     by_unit        by_street      top_masters    summary
    7 days       7 / 12         8 / 10         9 / 13         4 / 7
    30 days     26 / 39        24 / 38        28 / 36         6 / 8
    365 days    97 / 145       90 / 100      127 / 213       54 / 64

Plan (``--explain``, 30 days): a bitmap scan of ``wo_repeat_created`` (2,250 rows,
13 buffers, under 1 ms), then one primary-key lookup of the master per repeat call
(its lead unit / street: 2,250 loops, about 0.065 ms each under this load) and a
sort/group of those rows. The cost grows with the repeat calls of the period, not
with the table: a year (about 27,000 repeat calls here) is the slow case.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB = "yiwang_bench_repeat"


def admin_conn(args):
    import psycopg

    return psycopg.connect(args.pg + "/postgres", autocommit=True)


def exists(args) -> bool:
    with admin_conn(args) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB,)).fetchone() is not None


def empty_columns(conn, known: set[str]) -> list[tuple[str, str]]:
    """NOT NULL columns without a default that the fill does not set: the type's empty value."""
    empty = {"boolean": "false", "integer": "0", "smallint": "0", "bigint": "0", "numeric": "0", "jsonb": "'{}'",
             "timestamp with time zone": "now()", "uuid": "gen_random_uuid()"}
    rows = conn.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = "
                        "'workorders_workorder' AND is_nullable = 'NO' AND column_default IS NULL").fetchall()
    return [(f'"{name}"', empty.get(kind, "''")) for name, kind in rows if name not in known]


def fill(args) -> None:
    import subprocess

    import psycopg

    with admin_conn(args) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")
    env = os.environ.copy()
    env.update(DATABASE_URL=f"{args.pg}/{DB}", YIWANG_VAR_DIR=tempfile.mkdtemp(prefix="yiwang-repeat-bench-"),
               YIWANG_LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT))
    t0 = time.time()
    subprocess.run([sys.executable, "-m", "yiwang.cli", "manage", "migrate", "--no-input", "-v", "0"],
                   env=env, cwd=ROOT, check=True)
    with psycopg.connect(f"{args.pg}/{DB}", autocommit=True) as conn:
        for name in ("wo_number_trgm", "wo_title_trgm", "wo_content_trgm"):
            conn.execute(f"DROP INDEX IF EXISTS {name}")
        streets = [r[0] for r in conn.execute("SELECT id FROM org_street ORDER BY id").fetchall()]
        units = [r[0] for r in conn.execute("SELECT id FROM org_unit WHERE active ORDER BY id").fetchall()]
        known = {"id", "number", "channel", "appeal_type", "urgency", "title", "content", "street_id",
                 "lead_unit_id", "status", "created_at", "updated_at", "repeat_count"}
        extra = empty_columns(conn, known)
        print(f"filling {args.orders:,} orders …", file=sys.stderr, flush=True)
        conn.execute(f"""
            INSERT INTO workorders_workorder (id, number, channel, appeal_type, urgency, title, content, street_id,
                lead_unit_id, status, created_at, updated_at, repeat_count{''.join(', ' + c for c, _ in extra)})
            SELECT g, 'HK' || to_char(created, 'YYYYMMDD') || lpad(g::text, 7, '0'), 'phone', 'request', 'normal',
                '诉求 ' || g, '', (%(streets)s::bigint[])[1 + (r2 * %(nstreets)s)::int %% %(nstreets)s],
                CASE WHEN r3 < 0.9 THEN (%(units)s::bigint[])[1 + (r3 * 1000)::int %% %(nunits)s] END,
                CASE WHEN created > now() - interval '20 days' THEN 'handling' ELSE 'archived' END,
                created, created, 0{''.join(', ' + v for _, v in extra)}
            FROM (SELECT g, random() AS r2, random() AS r3,
                         now() - power(random(), 1.25) * interval '1095 days' AS created
                  FROM generate_series(1, %(n)s) g) d
            ORDER BY created
        """, {"streets": streets, "nstreets": len(streets), "units": units, "nunits": len(units), "n": args.orders})
        conn.execute("SELECT setval(pg_get_serial_sequence('workorders_workorder', 'id'), %s)", (args.orders,))
        # Ids follow creation time (ORDER BY created): a repeat call's master is an order
        # 1 to 3,000 ids earlier (hours to a few days before it).
        print(f"orders in {time.time() - t0:.0f} s; repeat calls …", file=sys.stderr, flush=True)
        conn.execute("""
            UPDATE workorders_workorder w SET master_id = m.id,
                status = CASE WHEN w.id %% 5 = 0 THEN 'merged' ELSE w.status END
            FROM workorders_workorder m
            WHERE m.id = w.id - 1 - (w.id * 7919) %% 3000 AND m.id > 0
              AND (hashint4(w.id::int) & 2147483647) < %s * 2147483647
        """, (args.repeat_share,))
        conn.execute("""
            UPDATE workorders_workorder m SET repeat_count = c.n
            FROM (SELECT master_id, count(*) AS n FROM workorders_workorder WHERE master_id IS NOT NULL
                  GROUP BY master_id) c WHERE m.id = c.master_id
        """)
        print(f"repeat calls in {time.time() - t0:.0f} s; vacuum analyze …", file=sys.stderr, flush=True)
        conn.execute("VACUUM ANALYZE workorders_workorder")
        total, repeats = conn.execute(
            "SELECT count(*), count(master_id) FROM workorders_workorder").fetchone()
    print(f"filled in {time.time() - t0:.0f} s: {total:,} orders, {repeats:,} repeat calls", file=sys.stderr)


def setup_django(args) -> None:
    var_dir = tempfile.mkdtemp(prefix="yiwang-repeat-bench-")
    os.makedirs(os.path.join(var_dir, "static"))
    os.environ.update(DATABASE_URL=f"{args.pg}/{DB}", YIWANG_VAR_DIR=var_dir, YIWANG_LOG_LEVEL="WARNING",
                      DJANGO_SETTINGS_MODULE="yiwang.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def time_all(args) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from yiwang.workorders import repeats

    now = timezone.now()
    print(f"load average {os.getloadavg()[0]:.1f}; p50 / max ms over {args.runs} runs (queries per call)")
    for days in (7, 30, 365):
        period = repeats.Period(start=now - dt.timedelta(days=days), end=now)
        for name in ("by_unit", "by_street", "top_masters", "summary"):
            fn = getattr(repeats, name)
            fn(period)  # warm-up
            times = []
            for _ in range(args.runs):
                with CaptureQueriesContext(connection) as queries:
                    t = time.perf_counter()
                    fn(period)
                    times.append((time.perf_counter() - t) * 1000)
            print(f"{days:>4} days  {name:<12} {statistics.median(times):7.1f} / {max(times):7.1f}"
                  f"  ({len(queries.captured_queries)})")
            if args.explain and days == 30 and name != "summary":
                sql = queries.captured_queries[0]["sql"]
                with connection.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                    print("\n".join("      " + r[0] for r in cursor.fetchall()))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server (no database)")
    p.add_argument("--orders", type=int, default=1_000_000)
    p.add_argument("--repeat-share", type=float, default=0.04)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--refill", action="store_true")
    p.add_argument("--explain", action="store_true")
    p.add_argument("--drop", action="store_true", help="drop the database and exit")
    args = p.parse_args()
    if args.drop:
        with admin_conn(args) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        return
    if args.refill or not exists(args):
        fill(args)
    setup_django(args)
    time_all(args)


if __name__ == "__main__":
    main()
