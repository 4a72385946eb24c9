"""Time and peak memory of exporting 100,000 work orders to xlsx (导出 Excel).

Run from the repository root:

    .venv/bin/python bench/export_xlsx.py [--orders 100000]

It migrates a throwaway SQLite database in a temporary directory (YIWANG_VAR_DIR),
fills it with ``--orders`` work orders (titles and contents from the public appeals
in YIWANG_DATA_DIR when present; every tenth order with a lead and a co-unit), then,
in a fresh process so that the fill's memory does not count, requests
GET /orders/export.xlsx through the whole page stack as a dispatcher (personal data
in clear: one audit row per order) and as a supervisor (masked), and prints for
each the rows, the file size, the wall time and the peak resident memory the
export added to the process (ru_maxrss after minus before).
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup(var_dir: str) -> None:
    os.environ["YIWANG_VAR_DIR"] = var_dir
    os.makedirs(os.path.join(var_dir, "static"), exist_ok=True)
    os.environ["YIWANG_LOG_LEVEL"] = "WARNING"
    os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "yiwang.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def texts(data_dir: Path) -> list[tuple[str, str]]:
    path = data_dir / "appeals_public_2019.csv"
    if not path.exists():
        return [(f"路灯不亮 {i}", "门口路灯一周不亮，夜间行人不便，请尽快修复。" * 3) for i in range(100)]
    with open(path, encoding="utf-8") as f:
        return [(r["title"].strip()[:200], r["detail"].strip()[:800]) for r in csv.DictReader(f) if r["title"].strip()]


def fill(n: int) -> None:
    import datetime as dt

    from django.conf import settings
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from yiwang.accounts.roles import Role
    from yiwang.demo import factories
    from yiwang.org.models import Category, Street, Unit
    from yiwang.workorders.models import Assignment, WorkOrder

    call_command("migrate", verbosity=0)
    factories.make_user("bench-dispatcher", Role.DISPATCHER)
    factories.make_user("bench-supervisor", Role.SUPERVISOR)
    pool = texts(settings.DATA_DIR)
    streets = list(Street.objects.all())
    categories = list(Category.objects.filter(level=3))
    units = list(Unit.objects.all()[:20])
    now = timezone.now()
    started = time.perf_counter()
    batch = 5000
    for start in range(0, n, batch):
        with transaction.atomic():
            orders = []
            for i in range(start, min(n, start + batch)):
                title, content = pool[i % len(pool)]
                created = now - dt.timedelta(minutes=7 * i)
                orders.append(WorkOrder(
                    number=f"HK{created:%Y%m%d}{i:07d}", channel="phone", appeal_type="request", title=title,
                    content=content, category=categories[i % len(categories)], street=streets[i % len(streets)],
                    address=f"曲阳路{i % 999}弄{i % 30}号", appellant_name="张三丰", appellant_phone=f"138{i:08d}",
                    status="handling" if i % 10 == 0 else "archived", created_at=created,
                    lead_unit=units[i % len(units)] if i % 10 == 0 else None,
                    handle_deadline=created + dt.timedelta(days=5), closed_at=None if i % 10 == 0 else created,
                ))
            WorkOrder.objects.bulk_create(orders)
            Assignment.objects.bulk_create([
                Assignment(order=o, unit=unit, role=role, dispatched_at=o.created_at)
                for o in orders if o.lead_unit_id
                for unit, role in ((o.lead_unit, "lead"), (units[(units.index(o.lead_unit) + 1) % len(units)], "co"))
            ])
    print(f"filled {n:,} orders in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)


def measure() -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from yiwang.core.models import AuditEntry

    for username in ("bench-dispatcher", "bench-supervisor"):
        client = Client()
        client.force_login(get_user_model().objects.get(username=username))
        audit_before = AuditEntry.objects.count()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        response = client.get("/orders/export.xlsx")
        size = sum(len(chunk) for chunk in response.streaming_content)
        elapsed = time.perf_counter() - started
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        export = AuditEntry.objects.filter(action="export").latest("id").changes
        print(f"{username}: {export['rows']:,} rows ({export['unmasked']:,} unmasked), {size / 1e6:.1f} MB xlsx, "
              f"{elapsed:.1f} s, {export['rows'] / elapsed:,.0f} rows/s, peak RSS +{(rss_after - rss_before) / 1024:.0f} MB "
              f"(process peak {rss_after / 1024:.0f} MB), audit rows +{AuditEntry.objects.count() - audit_before:,}",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--measure", metavar="VAR_DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        setup(args.measure)
        measure()
        return
    var_dir = tempfile.mkdtemp(prefix="yiwang-export-bench-")
    setup(var_dir)
    fill(args.orders)
    subprocess.run([sys.executable, __file__, "--measure", var_dir], check=True)
    import shutil

    shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
