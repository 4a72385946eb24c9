"""Dashboard panel and KPI page latency on 1,000,000 work orders (PostgreSQL).

Run from the repository root (a PostgreSQL server whose ``postgres`` role may
create databases; about 4 GB of disk; the fill takes several minutes on 2 cores):

    .venv/bin/python bench/dashboard_latency.py                  # fill (if needed), rebuild facts, time
    .venv/bin/python bench/dashboard_latency.py --refill         # drop and fill again
    .venv/bin/python bench/dashboard_latency.py --runs 20        # more samples per URL
    .venv/bin/python bench/dashboard_latency.py --rebuild        # rebuild the KPI facts from the log, then time
    .venv/bin/python bench/dashboard_latency.py --drop           # remove the database afterwards

The database is ``yiwang_bench_kpi`` (its own, so the list benchmark's database is
left alone). The orders come from ``bench/list_latency.py``'s fill (real appeal
texts, three years of dates, streets, units, categories, statuses, deadlines).
That fill writes no history, so this script then writes, inside PostgreSQL, the
event log and the rows the KPIs are defined on, with a realistic spread:

- a ``register`` event per order; ``dispatch`` to the lead unit; for 3 % of the
  dispatched orders a first dispatch to another unit, its ``request_return`` (a
  ReturnRequest row) and ``approve_return`` before the real dispatch;
- ``sign`` by the lead unit, 8 % of them after the sign-for deadline (with the
  sweep's ``sign_overdue`` row), and ``sign_overdue`` for orders still unsigned
  past it;
- ``reply`` with ``on_time`` (10 % late, with ``sla_red``), ``sla_red`` for open
  orders past their handling deadline, ``approve_reply``;
- a FollowUp row and ``follow_up`` event for every archived order: 86 % 满意,
  8 % 基本满意, 6 % 不满意; 88 % "actually resolved";
- a master for every merged order (with its ``merge`` event) and for 1 % of the
  others (linked repeat calls).

The drawn sign-for, reply and follow-up times and outcomes are written to the
event and follow-up rows only; the orders' own columns (signed_at, replied_at,
satisfaction) keep the list fill's values, because rewriting a million orders
would also rewrite their trigram indexes. The KPIs read the log, so they see the
drawn values; the dashboard's live panels read the orders' status and deadlines.

The order text's trigram indexes are dropped in this database before the insert
(``TEXT_INDEXES``): no KPI or dashboard query reads them, and feeding them a
million long texts made the fill run for hours on the shared 2-core machine.

Then ``kpi_rebuild`` derives the KPI facts from that log (timed), and the script
times, in process through the real URL routing and views, ``--runs`` requests
each (after one warm-up) of every dashboard panel endpoint, the KPI page with
the queries users make, its JSON and its xlsx export, as a supervisor (whole
district) and as a unit leader (one street office). It prints p50 / p95 / max in
ms, the queries per request, and the load average before and after.

Measured 2026-11-21 on the shared 2-core machine, 1,000,000 orders, 6,180,166
events, ``.venv/bin/python bench/dashboard_latency.py --runs 5`` (load average
2.54 / 3.46 / 6.32 before, 2.38 after; other engineers' jobs running), p50 / p95 ms:
dashboard panels as a supervisor: volumes 41.6 / 46.7, rates 4.7 / 5.7, categories
32.0 / 76.4, streets 32.2 / 46.4, overdue 23.7 / 45.1, map 116.2 / 137.0; as a unit
leader: volumes 4.8 / 8.4, rates 19.5 / 20.3, overdue 10.5 / 11.3, map 12.7 / 14.8.
KPI page: default (84 days by unit) 19.6 / 22.1; 30 days by street 11.5 / 12.4; one
year by category, monthly 15.5 / 17.4; one year by unit 26.2 / 26.4; three years
total 13.2 / 13.7; one year of one street by unit (reads the facts, not the rollup)
127.2 / 131.5; a unit leader's year 95.7 / 113.9; JSON 10.5 / 10.6; xlsx of a year
by unit 39.7 / 40.7; the dashboard page 2.7 / 3.4. Every panel is under the 300 ms
target. The fill took 1,610 s for the orders (load 10-15) and 234 s for the history;
deriving the 1,000,000 orders' facts from the log took about 3 minutes (read from
the table's row count, not a clean timing) and the daily rollup (116,118 rows) 10 s.
Before the daily rollup, on 20,000 orders at load 9, the KPI page took 120-340 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import list_latency  # noqa: E402  (the order fill)

DB = "yiwang_bench_kpi"


def admin_conn(args):
    import psycopg

    return psycopg.connect(args.pg + "/postgres", autocommit=True)


def exists(args) -> bool:
    with admin_conn(args) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB,)).fetchone() is not None


def empty_values(conn, table: str, known: set[str]) -> list[tuple[str, str]]:
    """NOT NULL columns without a default that this fill does not know (added by later migrations)."""
    empty = {"boolean": "false", "integer": "0", "smallint": "0", "bigint": "0", "numeric": "0", "jsonb": "'{}'",
             "timestamp with time zone": "now()", "uuid": "gen_random_uuid()"}
    rows = conn.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s "
                        "AND is_nullable = 'NO' AND column_default IS NULL", (table,)).fetchall()
    return [(f'"{name}"', empty.get(kind, "''")) for name, kind in rows if name not in known]


EVENT_COLUMNS = {"id", "order_id", "action", "from_status", "to_status", "actor_id", "unit_id", "reason", "data",
                 "created_at"}


def insert_events(conn, select_sql: str) -> None:
    """``select_sql`` yields (order_id, action, from_status, to_status, unit_id, data, created_at)."""
    extra = empty_values(conn, "workorders_event", EVENT_COLUMNS)
    conn.execute(f"""
        INSERT INTO workorders_event (order_id, action, from_status, to_status, unit_id, reason, data, created_at
                                      {''.join(', ' + c for c, _ in extra)})
        SELECT order_id, action, from_status, to_status, unit_id, '', data, created_at
               {''.join(', ' + v for _, v in extra)}
        FROM ({select_sql}) e(order_id, action, from_status, to_status, unit_id, data, created_at)
    """)


# Trigram (GIN) indexes of the order text: the list benchmark needs them, the KPIs and
# the dashboard never read them, and inserting a million long texts into them is what
# makes the fill take hours on a busy 2-core machine. They are dropped before the
# orders are inserted (and stay dropped in this database): reads elsewhere are unchanged.
TEXT_INDEXES = ("wo_title_trgm", "wo_content_trgm", "wo_number_trgm")  # and any other GIN index of the table


def fill_orders(args) -> None:
    """The list benchmark's fill into this database, without the text indexes."""
    original = list_latency.filler_columns

    def drop_text_indexes_then(conn):
        # filler_columns is the fill's first step after migrating: the one place to act
        # between the schema and the insert without copying the fill.
        gin = [r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = "
                                          "'workorders_workorder' AND indexdef LIKE '%USING gin%'").fetchall()]
        for name in dict.fromkeys([*TEXT_INDEXES, *gin]):
            conn.execute(f'DROP INDEX IF EXISTS "{name}"')
        return original(conn)

    list_latency.DB = DB
    list_latency.filler_columns = drop_text_indexes_then
    try:
        list_latency.fill(args)
    finally:
        list_latency.filler_columns = original


def fill_history(args) -> None:
    """Events, follow-ups, returns and masters for the filled orders (see the module docstring)."""
    import psycopg

    t0 = time.time()
    with psycopg.connect(f"{args.pg}/{DB}", autocommit=True) as conn:
        say = lambda what: print(f"  {what} ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)  # noqa: E731
        # Each order's drawn outcome, from its id (a refill gives the same database). The times
        # go into the event rows only: rewriting a million orders would also rewrite their
        # trigram indexes (hours), and the KPIs read the event log, not these columns.
        conn.execute("""
            CREATE TEMP TABLE draw AS
            SELECT id, status, channel, lead_unit_id, created_at, dispatched_at, sign_deadline, handle_deadline,
                CASE WHEN signed_at IS NOT NULL AND abs(hashint4(id::int + 11)) % 100 < 8
                          AND sign_deadline + interval '8 hours' < now()
                     THEN sign_deadline + (1 + id % 7) * interval '1 hour' ELSE signed_at END AS sign_at,
                CASE WHEN replied_at IS NOT NULL AND abs(hashint4(id::int + 23)) % 100 < 10
                          AND handle_deadline + interval '6 days' < now()
                     THEN handle_deadline + (1 + id % 5) * interval '1 day' ELSE replied_at END AS reply_at,
                CASE WHEN abs(hashint4(id::int + 37)) % 100 < 86 THEN 'satisfied'
                     WHEN abs(hashint4(id::int + 37)) % 100 < 94 THEN 'basically' ELSE 'dissatisfied' END AS satisfaction,
                abs(hashint4(id::int + 41)) % 100 < 88 AS resolved
            FROM workorders_workorder;
            UPDATE draw SET sign_at = dispatched_at + interval '1 hour' WHERE sign_at < dispatched_at;
            CREATE TEMP TABLE follow AS
            SELECT id, satisfaction, resolved, greatest(reply_at + interval '1 day', created_at + interval '6 days') AS at
            FROM draw WHERE status = 'archived' AND reply_at IS NOT NULL;
        """)
        # Masters: every merged order and 1 % of the others (linked repeat calls) point at an
        # order registered a little earlier.
        conn.execute("""
            UPDATE workorders_workorder SET master_id = greatest(1, id - 1 - abs(hashint4(id::int + 53)) % 500)
            WHERE id > 1 AND (status = 'merged' OR abs(hashint4(id::int + 59)) % 100 < 1)
        """)
        # The returned orders: first dispatched to another unit two hours before the real dispatch.
        conn.execute("""
            CREATE TEMP TABLE returned AS
            SELECT w.id AS order_id, w.dispatched_at, w.status,
                   (SELECT id FROM org_unit u WHERE u.active AND u.id <> w.lead_unit_id
                    ORDER BY id OFFSET abs(hashint4(w.id::int)) % 20 LIMIT 1) AS first_unit
            FROM workorders_workorder w
            WHERE w.dispatched_at IS NOT NULL AND abs(hashint4(w.id::int + 67)) % 100 < 3
        """)
        rr_extra = empty_values(conn, "workorders_returnrequest",
                                {"id", "order_id", "unit_id", "reason_code", "reason", "suggested_unit_id",
                                 "requested_by_id", "requested_at", "previous_status", "decision", "decided_by_id",
                                 "decided_at", "decision_note"})
        conn.execute(f"""
            INSERT INTO workorders_returnrequest (order_id, unit_id, reason_code, reason, requested_at,
                previous_status, decision, decided_at, decision_note {''.join(', ' + c for c, _ in rr_extra)})
            SELECT order_id, first_unit, 'not_our_duty', '非本单位职责', dispatched_at - interval '1 hour',
                   'dispatched', 'approved', dispatched_at - interval '30 minutes', ''
                   {''.join(', ' + v for _, v in rr_extra)}
            FROM returned WHERE first_unit IS NOT NULL
        """)
        say("return requests")
        insert_events(conn, """
            SELECT id AS order_id, CASE WHEN channel = 'city' THEN 'transfer_from_city' ELSE 'register' END AS action,
                   '' AS from_status, 'registered' AS to_status, NULL::bigint AS unit_id,
                   jsonb_build_object('channel', channel) AS data, created_at
            FROM workorders_workorder
            UNION ALL
            SELECT order_id, a.action, a.f, a.t, first_unit,
                   a.data, dispatched_at - a.before
            FROM returned r CROSS JOIN (VALUES
                ('dispatch', 'registered', 'dispatched', interval '2 hours', '{}'::jsonb),
                ('request_return', 'dispatched', 'return_requested', interval '1 hour', '{"reason_code": "not_our_duty"}'),
                ('approve_return', 'return_requested', 'registered', interval '30 minutes', '{}')) AS a(action, f, t, before, data)
            WHERE first_unit IS NOT NULL
        """)
        say("register and return events")
        insert_events(conn, """
            SELECT id, 'dispatch', 'registered', 'dispatched', lead_unit_id,
                   jsonb_build_object('lead_unit', lead_unit_id), dispatched_at
            FROM workorders_workorder WHERE dispatched_at IS NOT NULL
            UNION ALL
            SELECT id, 'sign_overdue', 'dispatched', 'dispatched', NULL, '{"sign_overdue": "True"}', sign_deadline
            FROM draw WHERE sign_deadline IS NOT NULL
                AND (sign_at > sign_deadline OR (sign_at IS NULL AND status = 'dispatched' AND sign_deadline < now()))
            UNION ALL
            SELECT id, 'sign', 'dispatched', 'handling', lead_unit_id, '{}', sign_at
            FROM draw WHERE sign_at IS NOT NULL
        """)
        say("dispatch and sign-for events")
        insert_events(conn, """
            SELECT id, 'sla_red', 'handling', 'handling', NULL, '{"sla_state": "red"}', handle_deadline
            FROM draw WHERE handle_deadline IS NOT NULL AND handle_deadline < now()
                AND (reply_at > handle_deadline
                     OR (reply_at IS NULL AND status IN ('dispatched', 'handling', 'return_requested')))
            UNION ALL
            SELECT id, 'reply', 'handling', 'replied', lead_unit_id,
                   jsonb_build_object('on_time', reply_at <= handle_deadline), reply_at
            FROM draw WHERE reply_at IS NOT NULL
            UNION ALL
            SELECT id, 'approve_reply', 'replied', 'follow_up', NULL, '{}', reply_at + interval '2 hours'
            FROM draw WHERE reply_at IS NOT NULL AND status IN ('follow_up', 'archived')
            UNION ALL
            SELECT id, 'follow_up', 'follow_up', 'archived', NULL,
                   jsonb_build_object('satisfaction', satisfaction, 'resolved', resolved), at
            FROM follow
            UNION ALL
            SELECT id, 'merge', 'registered', 'merged', NULL, jsonb_build_object('master', master_id), closed_at
            FROM workorders_workorder WHERE status = 'merged' AND master_id IS NOT NULL
        """)
        say("reply, follow-up and merge events")
        fu_extra = empty_values(conn, "workorders_followup",
                                {"id", "order_id", "round", "satisfaction", "resolved", "note", "by_id", "at"})
        conn.execute(f"""
            INSERT INTO workorders_followup (order_id, round, satisfaction, resolved, note, at
                                             {''.join(', ' + c for c, _ in fu_extra)})
            SELECT id, 1, satisfaction, resolved, '', at {''.join(', ' + v for _, v in fu_extra)}
            FROM follow
        """)
        say("follow-ups")
        for table in ("workorders_workorder", "workorders_event", "workorders_followup", "workorders_returnrequest"):
            conn.execute(f"VACUUM ANALYZE {table}")
        say("vacuum analyze")


def migrate(args) -> None:
    env = os.environ.copy()
    env.update(DATABASE_URL=f"{args.pg}/{DB}", YIWANG_LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT),
               YIWANG_VAR_DIR=tempfile.mkdtemp(prefix="yiwang-kpi-bench-"))
    subprocess.run([sys.executable, "-m", "yiwang.cli", "manage", "migrate", "--no-input", "-v", "0"],
                   env=env, cwd=ROOT, check=True)


def setup_django(args) -> None:
    var_dir = tempfile.mkdtemp(prefix="yiwang-kpi-bench-")
    os.makedirs(os.path.join(var_dir, "static"))
    os.environ.update(DATABASE_URL=f"{args.pg}/{DB}", YIWANG_VAR_DIR=var_dir, YIWANG_LOG_LEVEL="WARNING",
                      DJANGO_SETTINGS_MODULE="yiwang.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def rebuild_facts() -> None:
    from django.db import connection

    from yiwang.kpi import facts

    t = time.time()
    n = facts.rebuild()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE kpi_orderfact")
    print(f"kpi_rebuild: {n:,} orders' facts from the event log in {time.time() - t:.0f} s", flush=True)


def cases(office_code: str) -> list[tuple[str, str, str]]:
    """(name, who, url)."""
    panels = [(f"panel {name}", "supervisor", f"/dashboard/panels/{name}.json")
              for name in ("volumes", "rates", "categories", "streets", "overdue", "map")]
    panels += [(f"panel {name}", "leader", f"/dashboard/panels/{name}.json")
               for name in ("volumes", "rates", "overdue", "map")]
    pages = [
        ("KPI page default (84 d, by unit)", "supervisor", "/kpi/"),
        ("KPI page 30 d by street", "supervisor", "/kpi/?by=street&from={d30}"),
        ("KPI page 1 y by category, monthly", "supervisor", "/kpi/?by=category&every=month&from={d365}"),
        ("KPI page 1 y by unit, monthly", "supervisor", "/kpi/?by=unit&every=month&from={d365}"),
        ("KPI page 3 y total, monthly", "supervisor", "/kpi/?by=total&every=month&from={d1095}"),
        ("KPI page 1 y one street by unit", "supervisor", "/kpi/?by=unit&every=month&from={d365}&street=310109010"),
        ("KPI page unit leader 1 y", "leader", "/kpi/?by=street&every=month&from={d365}"),
        ("KPI JSON 84 d by unit", "supervisor", "/kpi/data.json"),
        ("KPI xlsx 1 y by unit", "supervisor", "/kpi/export.xlsx?by=unit&every=month&from={d365}"),
        ("dashboard page", "supervisor", "/dashboard/"),
    ]
    return panels + pages


def time_all(args) -> None:
    import datetime as dt

    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from yiwang.accounts.roles import Role
    from yiwang.demo import factories
    from yiwang.org.models import Unit

    office = Unit.objects.filter(kind="street", street__code="310109010").first()
    users = {"supervisor": factories.make_user("bench-supervisor", Role.SUPERVISOR),
             "leader": factories.make_user("bench-leader", Role.UNIT_LEADER, unit=office)}
    clients = {}
    for name, user in users.items():
        clients[name] = Client()
        clients[name].force_login(user)
    today = timezone.localdate()
    days = {f"d{n}": (today - dt.timedelta(days=n - 1)).isoformat() for n in (30, 365, 1095)}
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n{args.runs} runs each after one warm-up; whole request in process; load before {load}")
    head = f"{'request':<40} {'who':<10} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'SQL':>4}"
    print(head)
    print("-" * len(head))
    for label, who, url in cases(office.code):
        url = url.format(**days)
        client = clients[who]
        response = client.get(url)
        if response.status_code != 200:
            print(f"{label:<40} {who:<10} HTTP {response.status_code}")
            continue
        samples = []
        for _ in range(args.runs):
            reset_queries()
            with CaptureQueriesContext(connection) as ctx:
                t = time.perf_counter()
                client.get(url)
                samples.append((time.perf_counter() - t) * 1000)
        samples.sort()
        p95 = samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]
        print(f"{label:<40} {who:<10} {statistics.median(samples):>7.1f} {p95:>7.1f} {samples[-1]:>7.1f} "
              f"{len(ctx.captured_queries):>4}", flush=True)
        if args.explain and statistics.median(samples) > args.explain:
            slowest = max(ctx.captured_queries, key=lambda q: float(q["time"]))
            print("    slowest SQL:", slowest["time"], slowest["sql"][:600])
    print(f"load after {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server (no database)")
    p.add_argument("--orders", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--refill", action="store_true", help="drop the bench database and fill it again")
    p.add_argument("--rebuild", action="store_true", help="rebuild the KPI facts even if the fill is reused")
    p.add_argument("--drop", action="store_true", help="drop the bench database at the end")
    p.add_argument("--explain", type=float, default=0, metavar="MS",
                   help="print the slowest SQL of requests whose median is above MS")
    args = p.parse_args()
    filled = False
    if args.refill or not exists(args):
        fill_orders(args)
        fill_history(args)
        filled = True
    # Migrations added since the fill (or during it) apply to the filled database.
    migrate(args)
    setup_django(args)
    try:
        if filled or args.rebuild:
            rebuild_facts()
        time_all(args)
    finally:
        if args.drop:
            from django.db import connections

            connections.close_all()
            with admin_conn(args) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
