"""List and search latency on 1,000,000 work orders (PostgreSQL).

Run from the repository root (a PostgreSQL server whose ``postgres`` role may
create databases; about 2 GB of disk; the fill takes about a quarter of an hour on 2 cores):

    .venv/bin/python bench/list_latency.py                 # fill (if needed) and time
    .venv/bin/python bench/list_latency.py --refill        # drop and fill again
    .venv/bin/python bench/list_latency.py --drop          # remove the database afterwards

It migrates a database ``yiwang_bench_list`` (``--pg``), then fills it inside
PostgreSQL (``INSERT … SELECT`` over ``generate_series``: much faster than
sending a million rows from Python) with orders whose text is real appeals from
``../shared/data`` and whose street, committee, category (skewed to the common
ones), channel, status, unit, dates (three years, more recent ones busier) and
deadlines follow the shape of a district hotline; every order past
registration has its lead-unit assignment, one in ten a co-unit too.

Then it times, in process through the real URL routing, views, serializers and
audit writes, ``--runs`` requests each (after one warm-up) of the REST list
``/api/v1/workorders/`` and the HTML list ``/orders/`` with the filters users use,
the dispatcher's queue and a unit's inbox, and prints p50 / p95 / max in ms and
the load average. Timings are of the whole request, SQL and Python.

With the indexes of workorders/0004 (``.venv/bin/python bench/list_latency.py
--runs 10 --explain 300``, load 3.5, another job using one core), p50 / p95 ms,
before the indexes in brackets (p50, load 5.6): no filter 79 / 99 (129); street
1548 / 1641 (1793); lead unit 1019 / 1161 (1139); category top level 58 / 92 (76);
leaf 195 / 230 (239); channel 1714 / 1970 (2205); status 137 / 157 (152); red and
handling 114 / 133 (144); created in a week 64 / 180 (82); street+status+channel
1262 / 1309 (1376); keyword of 3+ characters 237 / 268 (5319); keyword of 2
characters 4623 / 4765; rare keyword 4 / 9; number prefix "HK2026" 6385 / 6945;
the HTML list with a 3+ character keyword 4844 / 5016 (the page also matches the
phone column, which has no trigram index); unit inbox 87 / 180; dispatcher queue
88 / 121; a handler's home 411 / 498.

What is still slow and why (``--explain``): street, lead unit and channel lists
count and sort ``SELECT DISTINCT`` over whole rows (content included) of tens of
thousands of orders; an ``id IN (subquery)`` or ``EXISTS`` filter instead of a join
plus ``distinct()`` would avoid it. A keyword of 2 Chinese characters has no
trigram, so no index serves it and the page's ``COUNT(*)`` reads every row (the
page itself, newest first, stops early); a bigram index (the pg_bigm extension) or
a bounded count for such keywords would fix it.

Since then a keyword search counts at most 10,000 rows (``workorders/pagination.py``:
the page shows "10,000+ 件", the REST list returns ``count_capped: true``) and a
keyword that starts an order number ("HK2026") is a prefix match on the number
alone, which its ``varchar_pattern_ops`` index serves. ``.venv/bin/python
bench/list_latency.py --runs 5``, p50 / p95 ms, before in brackets (load 2.2 before,
2.7 after; other jobs on the machine, so unrelated rows moved by ±50 %): REST keyword
of 2 characters 1241 / 1340 (5021 / 5547), count 10000 (55685); number prefix
"HK2026" 72 / 75 (11897 / 21241), count 10000 (378284); keyword of 3+ characters
267 / 290 (186 / 212: its trigram bitmap is built whole either way); HTML list with
a 3+ character keyword 315 / 400 (467 / 764). The 2-character keyword still reads
the rows up to the 10,001st match (about a fifth of the table for 噪音) for the count.

Re-measured after the list filters lost SELECT DISTINCT and the order table lost seven
redundant indexes (workorders/0006), with the fill now building the secondary indexes
after the rows (687 s in all, the million-row INSERT 127 s, the indexes 536 s; the
INSERT alone had run over 40 minutes with them in place). ``.venv/bin/python
bench/list_latency.py --runs 5 --refill``, p50 / p95 ms, load 1.2: REST no filter
73 / 83; street 60 / 63; lead unit 54 / 59; category top level 74 / 79, leaf 150 / 193;
channel 69 / 78; status 45 / 47; red and handling 71 / 75; created in a week 49 / 245;
street+status+channel 440 / 470; keyword of 3+ characters 109 / 133; of 2 characters
1160 / 1418; rare keyword 10 / 10; number prefix 40 / 42; deep offset 10,000 132 / 145;
a unit's orders 232 / 243. Pages: no filter 132 / 137; street 90 / 91; category 104 /
326; status 62 / 77; a week 62 / 85; keyword 177 / 182; page 200 161 / 186; a unit's
orders 302 / 400; dispatcher queue 149 / 169; unit inbox 160 / 166; home (to-do) of a
handler 526 / 555, of a dispatcher 277 / 289. Queries per request 2-12, constant.

Then a keyword of one or two characters counts to 1,000 only ("1,000+ 件";
workorders/pagination.py), same command without --refill: REST keyword of 2
characters 199 / 227 ms (1160 / 1418 before).
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("YIWANG_DATA_DIR", ROOT.parent / "shared" / "data"))
DB = "yiwang_bench_list"

# (value, weight) — roughly a hotline's mix; most old orders are closed.
CHANNELS = [("phone", 60), ("web", 14), ("api", 8), ("open311", 5), ("city", 7), ("qr", 3), ("iot", 2), ("enterprise", 1)]
# Orders of the last 20 days; older ones are archived (97%) or merged.
RECENT_STATUSES = [("archived", 45), ("follow_up", 8), ("replied", 5), ("handling", 20), ("dispatched", 6),
                   ("registered", 8), ("return_requested", 3), ("merged", 5)]
APPEAL_TYPES = [("request", 45), ("complaint", 30), ("consultation", 15), ("report", 5), ("suggestion", 4), ("praise", 1)]


def weighted_sql(pairs: list[tuple[str, int]], rnd: str) -> str:
    """A CASE picking a value with the given weights from the uniform ``rnd`` in [0, 1)."""
    total, acc, parts = sum(w for _, w in pairs), 0, []
    for value, weight in pairs[:-1]:
        acc += weight
        parts.append(f"WHEN {rnd} < {acc / total:.6f} THEN '{value}'")
    return f"CASE {' '.join(parts)} ELSE '{pairs[-1][0]}' END"


def texts() -> tuple[list[str], list[str]]:
    titles, contents = [], []
    for name in ("appeals_public_2019.csv", "appeals_with_replies.csv", "appeals_labelled_train.csv"):
        with open(DATA / name, encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row["title"].strip() and row["detail"].strip():
                    titles.append(row["title"].strip()[:200])
                    contents.append(row["detail"].strip()[:800])
    return titles, contents


def admin_conn(args):
    import psycopg

    return psycopg.connect(args.pg + "/postgres", autocommit=True)


def exists(args) -> bool:
    with admin_conn(args) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB,)).fetchone() is not None


def fill(args) -> None:
    import subprocess

    import psycopg

    with admin_conn(args) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")
    env = os.environ.copy()
    var_dir = tempfile.mkdtemp(prefix="yiwang-list-bench-")
    env.update(DATABASE_URL=f"{args.pg}/{DB}", YIWANG_VAR_DIR=var_dir, YIWANG_LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT))
    t0 = time.time()
    subprocess.run([sys.executable, "-m", "yiwang.cli", "manage", "migrate", "--no-input", "-v", "0"],
                   env=env, cwd=ROOT, check=True)
    titles, contents = texts()
    n = args.orders
    with psycopg.connect(f"{args.pg}/{DB}", autocommit=True) as conn:
        committees = conn.execute("SELECT id, street_id FROM org_committee ORDER BY id").fetchall()
        categories = [r[0] for r in conn.execute(
            "SELECT id FROM org_category WHERE level = 3 AND active ORDER BY random()").fetchall()]
        units = [r[0] for r in conn.execute("SELECT id FROM org_unit WHERE active ORDER BY id").fetchall()]
        offices = dict(conn.execute("SELECT street_id, min(id) FROM org_unit WHERE kind = 'street' AND active "
                                    "GROUP BY street_id").fetchall())
        extra = filler_columns(conn)
        # Built in bulk after the fill, not row by row during it: the trigram indexes of
        # title and content alone kept a million-row INSERT busy for over 40 minutes.
        secondary = conn.execute("""
            SELECT i.indexname, i.indexdef FROM pg_indexes i
            JOIN pg_class c ON c.relname = i.indexname JOIN pg_index x ON x.indexrelid = c.oid
            WHERE i.tablename IN ('workorders_workorder', 'workorders_assignment') AND NOT x.indisunique
        """).fetchall()
        for name, _ in secondary:
            conn.execute(f'DROP INDEX "{name}"')
        conn.execute("CREATE TEMP TABLE office AS SELECT * FROM unnest(%s::bigint[], %s::bigint[]) AS o(street_id, unit_id)",
                     (list(offices), list(offices.values())))
        print(f"filling {n:,} orders …", file=sys.stderr, flush=True)
        # One row of random draws per order, then every column from them. Dates: three
        # years back, recent months somewhat busier; open orders are recent.
        conn.execute(f"""
            INSERT INTO workorders_workorder (
                id, number, channel, appeal_type, urgency, title, content, category_id, street_id, committee_id,
                address, appellant_name, appellant_phone, status, lead_unit_id, external_ref, registered_by_id,
                created_at, updated_at, dispatched_at, signed_at, replied_at, closed_at, sign_deadline,
                handle_deadline, yellow_at, sla_state, sign_overdue, extension_hours, reply, direct_answer,
                satisfaction, reopen_count, escalation_count{''.join(', ' + c for c, _ in extra)})
            SELECT g, 'HK' || to_char(created, 'YYYYMMDD') || lpad(g::text, 6, '0'), channel, appeal_type,
                CASE WHEN r[5] < 0.03 THEN 'urgent' ELSE 'normal' END,
                (%(titles)s::text[])[t], (%(contents)s::text[])[t], (%(categories)s::bigint[])[cat],
                (%(cstreets)s::bigint[])[com], CASE WHEN r[6] < 0.7 THEN (%(committees)s::bigint[])[com] END,
                (ARRAY['曲阳路','四平路','广中路','欧阳路','嘉兴路','大连西路','东江湾路','四川北路'])[1 + (r[7] * 8)::int %% 8]
                    || (1 + (r[7] * 100000)::int %% 999) || '号',
                (ARRAY['张','王','李','赵','刘','陈','杨','黄','周','吴'])[1 + (r[8] * 10)::int %% 10]
                    || (ARRAY['先生','女士','伟','芳','敏','静','磊','洋'])[1 + (r[8] * 80)::int %% 8],
                '1' || (3 + (r[9] * 7)::int %% 7) || lpad(((r[9] * 1e9)::bigint %% 1000000000)::text, 9, '0'),
                status,
                CASE WHEN status NOT IN ('registered', 'merged') THEN
                    COALESCE(CASE WHEN r[10] < 0.65 THEN (SELECT unit_id FROM office o
                        WHERE o.street_id = (%(cstreets)s::bigint[])[com]) END,
                        (%(units)s::bigint[])[1 + (r[10] * 1000)::int %% %(nunits)s]) END,
                '', NULL, created, created,
                CASE WHEN status NOT IN ('registered', 'merged') THEN created + interval '20 minutes' END,
                CASE WHEN status NOT IN ('registered', 'merged', 'dispatched') THEN created + interval '3 hours' END,
                CASE WHEN status IN ('replied', 'follow_up', 'archived') THEN created + interval '4 days' END,
                CASE WHEN status IN ('archived', 'merged') THEN created + interval '6 days' END,
                CASE WHEN status NOT IN ('registered', 'merged') THEN created + interval '1 day' END,
                CASE WHEN status NOT IN ('registered', 'merged') THEN created + (2 + (r[11] * 13)::int) * interval '1 day' END,
                CASE WHEN status NOT IN ('registered', 'merged') THEN created + (1 + (r[11] * 10)::int) * interval '1 day' END,
                CASE WHEN status IN ('dispatched', 'handling', 'return_requested') THEN
                    CASE WHEN created + (2 + (r[11] * 13)::int) * interval '1 day' < now() THEN 'red'
                         WHEN created + (1 + (r[11] * 10)::int) * interval '1 day' < now() THEN 'yellow'
                         ELSE 'normal' END ELSE 'normal' END,
                false, 0, CASE WHEN status IN ('replied', 'follow_up', 'archived') THEN '已处理，详见答复。' ELSE '' END,
                false, CASE WHEN status = 'archived' THEN 'satisfied' ELSE '' END, 0, 0
                {''.join(', ' + v for _, v in extra)}
            FROM (
                SELECT g, r, created,
                    1 + (r[1] * %(ntexts)s)::int %% %(ntexts)s AS t,
                    1 + (power(r[2], 2) * %(ncat)s)::int %% %(ncat)s AS cat,
                    1 + (r[3] * %(ncom)s)::int %% %(ncom)s AS com,
                    {weighted_sql(CHANNELS, 'r[4]')} AS channel,
                    {weighted_sql(APPEAL_TYPES, 'r[12]')} AS appeal_type,
                    CASE WHEN created > now() - interval '20 days' THEN {weighted_sql(RECENT_STATUSES, 'r[13]')}
                         ELSE {weighted_sql([("archived", 97), ("merged", 3)], 'r[13]')} END AS status
                FROM (
                    SELECT g, r, now() - power(r[14], 1.25) * interval '1095 days' AS created
                    FROM (SELECT g, ARRAY(SELECT random() FROM generate_series(1, 14) WHERE g > 0) AS r
                          FROM generate_series(1, %(n)s) g) draws
                ) dated
            ) o
        """, {"titles": titles, "contents": contents, "ntexts": len(titles), "categories": categories,
              "ncat": len(categories), "committees": [c[0] for c in committees], "cstreets": [c[1] for c in committees],
              "ncom": len(committees), "units": units, "nunits": len(units), "n": n})
        conn.execute("SELECT setval(pg_get_serial_sequence('workorders_workorder', 'id'), %s)", (n,))
        print(f"orders in {time.time() - t0:.0f} s; assignments …", file=sys.stderr, flush=True)
        conn.execute("""
            INSERT INTO workorders_assignment (order_id, unit_id, role, active, dispatched_at, signed_at, opinion)
            SELECT id, lead_unit_id, 'lead', true, dispatched_at, signed_at, '' FROM workorders_workorder
            WHERE lead_unit_id IS NOT NULL
        """)
        conn.execute("""
            INSERT INTO workorders_assignment (order_id, unit_id, role, active, dispatched_at, signed_at, opinion)
            SELECT w.id, u.id, 'co', true, w.dispatched_at, w.signed_at, '' FROM workorders_workorder w
            JOIN org_unit u ON u.id = (SELECT id FROM org_unit WHERE active AND id <> w.lead_unit_id
                                       ORDER BY id OFFSET (w.id % 20) LIMIT 1)
            WHERE w.lead_unit_id IS NOT NULL AND w.id % 10 = 0
        """)
        print(f"assignments in {time.time() - t0:.0f} s; {len(secondary)} indexes …", file=sys.stderr, flush=True)
        conn.execute("SET maintenance_work_mem = '1GB'")
        for _, definition in secondary:
            conn.execute(definition)
        print(f"indexes in {time.time() - t0:.0f} s; vacuum analyze …", file=sys.stderr, flush=True)
        conn.execute("VACUUM ANALYZE workorders_workorder")
        conn.execute("VACUUM ANALYZE workorders_assignment")
    print(f"filled in {time.time() - t0:.0f} s", file=sys.stderr, flush=True)


def filler_columns(conn) -> list[tuple[str, str]]:
    """NOT NULL columns without a default that the fill does not know (added by later
    migrations): the type's empty value, so the bench keeps working as the model grows."""
    known = {"id", "number", "channel", "appeal_type", "urgency", "title", "content", "category_id", "street_id",
             "committee_id", "address", "appellant_name", "appellant_phone", "status", "lead_unit_id",
             "external_ref", "registered_by_id", "created_at", "updated_at", "dispatched_at", "signed_at",
             "replied_at", "closed_at", "sign_deadline", "handle_deadline", "yellow_at", "sla_state",
             "sign_overdue", "extension_hours", "reply", "direct_answer", "satisfaction", "reopen_count",
             "escalation_count"}
    empty = {"boolean": "false", "integer": "0", "smallint": "0", "bigint": "0", "numeric": "0", "jsonb": "'{}'",
             "timestamp with time zone": "now()", "uuid": "gen_random_uuid()"}
    rows = conn.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = "
                        "'workorders_workorder' AND is_nullable = 'NO' AND column_default IS NULL").fetchall()
    return [(f'"{name}"', empty.get(kind, "''")) for name, kind in rows if name not in known]


# --- timing ---------------------------------------------------------------------------------

def setup_django(args) -> None:
    var_dir = tempfile.mkdtemp(prefix="yiwang-list-bench-")
    os.makedirs(os.path.join(var_dir, "static"))
    os.environ.update(DATABASE_URL=f"{args.pg}/{DB}", YIWANG_VAR_DIR=var_dir, YIWANG_LOG_LEVEL="WARNING",
                      DJANGO_SETTINGS_MODULE="yiwang.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def cases():
    """(name, who, url): the lists people open all day, with the filters in the URL."""
    from yiwang.org.models import Category, Street, Unit
    from yiwang.workorders.filtersets import WorkOrderFilterSet

    street = Street.objects.order_by("code").first().code
    office = Unit.objects.filter(kind="street", street__code=street).first().code
    top = Category.objects.filter(level=1).order_by("code").first().code
    leaf = Category.objects.filter(level=3).order_by("code").first().code
    week = "created_at_after=2026-01-05T00:00:00%2B08:00&created_at_before=2026-01-12T00:00:00%2B08:00"
    filters = [
        ("no filter", ""),
        ("street", f"street={street}"),
        ("lead unit", f"lead_unit={office}"),
        ("category (top level)", f"category={top}"),
        ("category (leaf)", f"category={leaf}"),
        ("channel", "channel=web"),
        ("status", "status=handling"),
        ("red, handling", "status=handling&sla_state=red"),
        ("created in a week", week),
        ("street+status+channel", f"street={street}&status=archived&channel=phone"),
        ("keyword 3+ chars", "q=噪音扰民"),
        ("keyword 2 chars", "q=噪音"),
        ("keyword rare", "q=婚纱摄影"),
        ("number", "q=HK2026"),
    ]
    if "handle_deadline" in WorkOrderFilterSet.base_filters or "due" in WorkOrderFilterSet.base_filters:
        name = "handle_deadline" if "handle_deadline" in WorkOrderFilterSet.base_filters else "due"
        filters.append(("due this week", f"{name}_after=2026-01-05&{name}_before=2026-01-12"))
    out = [(f"REST {label}", "dispatcher", f"/api/v1/workorders/?{query}") for label, query in filters]
    out += [(f"page {label}", "dispatcher", f"/orders/?{query}") for label, query in filters
            if label in ("no filter", "street", "status", "created in a week", "keyword 3+ chars", "category (top level)")]
    out += [
        ("page deep (page 200)", "dispatcher", "/orders/?page=200"),
        ("REST deep (offset 10000)", "dispatcher", "/api/v1/workorders/?offset=10000"),
        ("REST unit's orders", "handler", "/api/v1/workorders/"),
        ("REST unit's, status", "handler", "/api/v1/workorders/?status=handling"),
        ("page unit's orders", "handler", "/orders/"),
        ("dispatcher queue", "dispatcher", "/queue/"),
        ("unit inbox", "handler", "/inbox/"),
        ("home (to-do)", "handler", "/"),
        ("home (to-do)", "dispatcher", "/"),
    ]
    return out, office


def time_all(args) -> None:
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from rest_framework.authtoken.models import Token

    from yiwang.accounts.roles import Role
    from yiwang.demo import factories
    from yiwang.org.models import Unit

    todo, office = cases()
    users = {
        "dispatcher": factories.make_user("bench-dispatcher", Role.DISPATCHER),
        "handler": factories.make_user("bench-handler", Role.UNIT_HANDLER, unit=Unit.objects.get(code=office)),
    }
    clients = {}
    for name, user in users.items():
        client = Client()
        client.force_login(user)
        token, _ = Token.objects.get_or_create(user=user)
        clients[name] = (client, token.key)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n{args.runs} runs each after one warm-up; whole request in process; load before {load}")
    head = f"{'list':<34} {'who':<10} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'SQL':>4} {'rows':>9}"
    print(head)
    print("-" * len(head))
    for label, who, url in todo:
        client, token = clients[who]
        headers = {"HTTP_AUTHORIZATION": f"Token {token}"} if url.startswith("/api/") else {}
        response = client.get(url, **headers)
        if response.status_code != 200:
            print(f"{label:<34} {who:<10} HTTP {response.status_code}")
            continue
        rows = response.json().get("count", "") if url.startswith("/api/") else ""
        samples = []
        for _ in range(args.runs):
            reset_queries()
            with CaptureQueriesContext(connection) as ctx:
                t = time.perf_counter()
                client.get(url, **headers)
                samples.append((time.perf_counter() - t) * 1000)
        samples.sort()
        p95 = samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]
        print(f"{label:<34} {who:<10} {statistics.median(samples):>7.1f} {p95:>7.1f} {samples[-1]:>7.1f} "
              f"{len(ctx.captured_queries):>4} {rows!s:>9}")
        if args.explain and samples[len(samples) // 2] > args.explain:
            slowest = max(ctx.captured_queries, key=lambda q: float(q["time"]))
            print("    slowest SQL:", slowest["time"], slowest["sql"][:600])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server (no database)")
    p.add_argument("--orders", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--refill", action="store_true", help="drop the bench database and fill it again")
    p.add_argument("--drop", action="store_true", help="drop the bench database at the end")
    p.add_argument("--explain", type=float, default=0, metavar="MS",
                   help="print the slowest SQL of lists whose median is above MS")
    args = p.parse_args()
    if args.refill or not exists(args):
        fill(args)
    else:
        # Migrations added since the fill (new indexes) apply to the filled table.
        import subprocess

        env = os.environ.copy()
        env.update(DATABASE_URL=f"{args.pg}/{DB}", YIWANG_LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT),
                   YIWANG_VAR_DIR=tempfile.mkdtemp(prefix="yiwang-list-bench-"))
        subprocess.run([sys.executable, "-m", "yiwang.cli", "manage", "migrate", "--no-input", "-v", "0"],
                       env=env, cwd=ROOT, check=True)
    setup_django(args)
    try:
        time_all(args)
    finally:
        if args.drop:
            from django.db import connections

            connections.close_all()
            with admin_conn(args) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
