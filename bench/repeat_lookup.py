"""Intake-time repeat-call lookup latency on 1,000,000 work orders (PostgreSQL).

Run from the repository root, after ``bench/list_latency.py`` has filled the
database ``yiwang_bench_list``:

    .venv/bin/python bench/repeat_lookup.py                # 50 titles, p50 / p95 / max in ms
    .venv/bin/python bench/repeat_lookup.py --titles 200 --explain

It times ``yiwang.insight.lookup.similar_open_orders`` in process (SQL and Python,
as the intake page's JSON endpoint calls it) for real titles drawn (seeded) from
``../shared/data/appeals_public_2019.csv``, each with the phone and street of an
existing order, as an operator (district-wide) would ask. One warm-up call first.

Measured (``.venv/bin/python bench/repeat_lookup.py``, load 0.6, two runs): p50
29.0 / 21.2 ms, p95 38.8 / 27.2 ms, max 71.4 / 43.6 ms. The title query is a bitmap
scan of ``wo_title_trgm`` (``--explain``: 389 index hits, 119 after recheck, 6.6 ms).
The bench orders' texts are drawn from the same appeals, so every title has matches.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB = "yiwang_bench_list"
CSV = ROOT.parent / "shared" / "data" / "appeals_public_2019.csv"


def setup_django(pg: str) -> None:
    var_dir = tempfile.mkdtemp(prefix="yiwang-repeat-bench-")
    os.makedirs(os.path.join(var_dir, "static"))
    os.environ.update(DATABASE_URL=f"{pg}/{DB}", YIWANG_VAR_DIR=var_dir, YIWANG_LOG_LEVEL="WARNING",
                      DJANGO_SETTINGS_MODULE="yiwang.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server (no database)")
    p.add_argument("--titles", type=int, default=50)
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--explain", action="store_true", help="print the plan of the title query for the first title")
    args = p.parse_args()
    setup_django(args.pg)

    from django.contrib.postgres.lookups import TrigramSimilar
    from django.db import connection
    from django.db.models import TextField, Value

    from yiwang.accounts.models import User
    from yiwang.accounts.roles import Role
    from yiwang.insight.lookup import _upper_title, similar_open_orders
    from yiwang.workorders.models import WorkOrder

    rng = random.Random(args.seed)
    with CSV.open(encoding="utf-8") as f:
        titles = [row["title"] for row in csv.DictReader(f) if row["title"].strip()]
    titles = rng.sample(titles, args.titles)
    callers = list(WorkOrder.objects.order_by("?").values_list("appellant_phone", "street_id")[:args.titles])
    operator = User(username="bench-operator", role=Role.OPERATOR)  # district-wide; never saved

    if args.explain:
        qs = WorkOrder.objects.filter(TrigramSimilar(_upper_title(), Value(titles[0].upper(),
                                                                           output_field=TextField())))
        print(qs.order_by().explain(analyze=True))

    similar_open_orders(operator, titles[0], "", callers[0][0], callers[0][1])  # warm-up
    times, found = [], []
    for title, (phone, street) in zip(titles, callers):
        t0 = time.perf_counter()
        result = similar_open_orders(operator, title, "", phone, street)
        times.append((time.perf_counter() - t0) * 1000)
        found.append(len(result))
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)]
    print(f"database {connection.settings_dict['NAME']}: {WorkOrder.objects.count():,} orders")
    print(f"similar_open_orders, {len(times)} titles: p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, "
          f"max {times[-1]:.1f} ms; candidates per call {statistics.mean(found):.1f}; "
          f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
