"""Time to build the weekly analysis report (热线分析周报): its numbers, its PDF and its xlsx.

Run from the repository root:

    # the demo data (about 7k historical orders) in a SQLite file of its own, seeded on first use
    .venv/bin/python bench/weekly_report.py --demo /tmp/yiwang-bench-demo
    # an existing PostgreSQL database of 1,000,000 orders, e.g. a copy of a list/KPI bench fill
    createdb -h 127.0.0.1 -U postgres -T yiwang_bench_repeat yiwang_bench_h5
    .venv/bin/python bench/weekly_report.py --pg postgres://postgres@127.0.0.1:5432/yiwang_bench_h5

Options: ``--runs N`` samples per step (after one warm-up), ``--week 2026-W47``
(default: the busiest week of the data and the last complete week).

For each week it times, in process: ``selectors.weekly_report`` (every query of
the report: volumes of the week and the week before, the KPIs four times, clusters,
alerts), ``services.render_pdf`` and ``services.render_xlsx`` on those numbers, and
prints p50 / max in ms, the number of SQL queries, the week's orders and the file
sizes. Nothing is written to the database (the stored-report path adds one row
and two files to the same work). The KPI facts must be current: the script
rebuilds them when the fact table is smaller than the order table, and the
script migrates the database first (it adds the tables of newer apps; use a copy
of another script's database, not the database itself).

Measured on 2 shared cores with other work running (load averages as given):
see the RESULTS lines at the end of this docstring.

RESULTS:
- demo data, SQLite (``--demo /tmp/yiwang-bench-demo``, 7,292 orders, load average 10), 5 runs:
  2019-W16 (busiest week, 143 orders): data p50 285 ms (13 queries), PDF 384 ms (13 KiB),
  xlsx 408 ms (19 KiB), all three p50 1.1 s, max 2.2 s; 2026-W46 (45 orders): all three p50 0.75 s.
- 1,000,000 orders, PostgreSQL (``--pg …/yiwang_bench_h5``, a copy of bench/list_latency.py's fill,
  KPI facts and daily rollup rebuilt, no clusters or alerts; load average 12), 5 runs:
  2026-W47 (busiest week, 15,591 orders): data p50 196 ms (11 queries), PDF 130 ms, xlsx 172 ms,
  all three p50 497 ms, max 523 ms; 2026-W46 (13,418 orders): all three p50 573 ms.
  The stored report (the Monday job) is the same work plus one row and two files.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup(args) -> None:
    if args.pg:
        os.environ["DATABASE_URL"] = args.pg
        os.environ["YIWANG_VAR_DIR"] = "/tmp/yiwang-bench-weekly-report"
    else:
        os.environ["YIWANG_VAR_DIR"] = str(Path(args.demo).resolve())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiwang.settings")
    os.environ.setdefault("YIWANG_DEBUG", "0")
    import django

    django.setup()


def migrate() -> None:
    """Tables of apps newer than the database's fill (clusters, alerts, reports) must exist."""
    from django.conf import settings
    from django.core.management import call_command

    Path(settings.VAR_DIR).mkdir(parents=True, exist_ok=True)
    call_command("migrate", "--no-input", "-v", "0")


def seed_demo_if_empty(args) -> None:
    from yiwang.workorders.models import WorkOrder

    if not WorkOrder.objects.exists():
        from yiwang.demo.seed import seed_demo

        started = time.perf_counter()
        seed_demo(stdout=sys.stdout)
        print(f"seeded the demo data in {time.perf_counter() - started:.0f} s")


def facts_current() -> None:
    from yiwang.kpi import facts
    from yiwang.kpi.models import OrderFact
    from yiwang.workorders.models import WorkOrder

    orders, known = WorkOrder.objects.count(), OrderFact.objects.count()
    if known < orders:
        started = time.perf_counter()
        facts.rebuild()
        print(f"rebuilt KPI facts for {orders:,} orders in {time.perf_counter() - started:.1f} s")
    try:  # the KPI app's daily rollup of the facts, where it has one
        from yiwang.kpi import rollup
    except ImportError:
        return
    if known < orders or not rollup.DailyRollup.objects.exists():
        started = time.perf_counter()
        rollup.rebuild_all()
        print(f"rebuilt the KPI daily rollup in {time.perf_counter() - started:.1f} s")


def weeks_to_time(args) -> list:
    from django.db.models import Count
    from django.db.models.functions import TruncWeek

    from yiwang.core.calendar import SHANGHAI
    from yiwang.reports.weeks import Week
    from yiwang.workorders.models import WorkOrder

    if args.week:
        return [Week.parse(args.week)]
    busiest = (WorkOrder.objects.order_by().annotate(w=TruncWeek("created_at", tzinfo=SHANGHAI)).values("w")
               .annotate(n=Count("pk")).order_by("-n").first())
    weeks = [Week.last_complete()]
    if busiest:
        weeks.insert(0, Week.of(busiest["w"].date() if hasattr(busiest["w"], "date") else busiest["w"]))
    return list(dict.fromkeys(weeks))


def sample(fn, runs: int) -> tuple[list[float], object, int]:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    fn()  # warm-up
    times, result, queries = [], None, 0
    for _ in range(runs):
        reset_queries()
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            result = fn()
            times.append((time.perf_counter() - started) * 1000)
        queries = len(ctx.captured_queries)
    return times, result, queries


def line(name: str, times: list[float], extra: str = "") -> str:
    return f"  {name:<14} p50 {statistics.median(times):8.1f} ms   max {max(times):8.1f} ms  {extra}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--demo", metavar="DIR", help="var folder of a demo SQLite database (seeded if empty)")
    where.add_argument("--pg", metavar="URL", help="an existing PostgreSQL database")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--week", help="ISO week, e.g. 2026-W47")
    args = p.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # progress shows when the output goes to a file
    setup(args)
    migrate()
    if args.demo:
        seed_demo_if_empty(args)
    facts_current()

    from django.db import connection

    from yiwang.reports import selectors, services
    from yiwang.workorders.models import WorkOrder

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}, {WorkOrder.objects.count():,} orders, "
          f"load average {os.getloadavg()[0]:.1f}")
    for week in weeks_to_time(args):
        times, data, queries = sample(lambda: selectors.weekly_report(week), args.runs)
        print(f"{week.code} ({week.title}): {data['volumes']['total']:,} orders, "
              f"{data['kpis']['orders']:,} with facts, {len(data['clusters']['items'])} clusters, "
              f"{len(data['alerts']['items'])} alerts")
        print(line("data", times, f"{queries} queries"))
        pdf_times, pdf, _ = sample(lambda: services.render_pdf(data), args.runs)
        print(line("pdf", pdf_times, f"{len(pdf) / 1024:.0f} KiB"))
        xlsx_times, xlsx, _ = sample(lambda: services.render_xlsx(data), args.runs)
        print(line("xlsx", xlsx_times, f"{len(xlsx) / 1024:.0f} KiB"))
        total = [a + b + c for a, b, c in zip(times, pdf_times, xlsx_times)]
        print(line("all three", total))
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
