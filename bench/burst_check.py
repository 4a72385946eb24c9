"""CPU of the burst detector's check under a flood of orders, on PostgreSQL.

Run from the repository root (the database must exist and be empty):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/yiwang_bench_burst .venv/bin/python bench/burst_check.py
    DATABASE_URL=... .venv/bin/python bench/burst_check.py --orders 3000 --checks 4
    DATABASE_URL=... .venv/bin/python bench/burst_check.py --orders 3000 --checks 3 --new-orders 3000

It migrates the database and registers ``--orders`` orders within 40 minutes through
the engine (``services.register``), with the 400 real appeals bench/intake_load.py
posts, each text repeated, a random street and a caller each. Repeated texts name the
same places, so the detector sees hundreds of bursts at once: the worst case of a
sudden mass event. Then it runs the detector's check ``--checks`` times, 15 s apart,
with ``--new-orders`` orders registered in the 15 s before each (none by default, as
when a burst stops growing; 3,000, as under bench/intake_load.py, where every check
finds every burst grown), and prints the process CPU of each part of the check
(``jobs.run_check``'s steps, timed one by one): the new orders' topics, ``detector.find``
and ``services.record``. (The figures before the ``--new-orders`` ones below timed
``run_check`` whole, and ``record`` run again on the same findings.)

Measured with 3,000 orders (1,916 findings a check, 304 alerts raised by the first):

    record of a repeated check, s CPU     before: 9.9-11.4   only new orders linked: 6.4-7.3
                                          and findings that add nothing skipped: 0.03
    whole repeated check, s CPU           before: 10.2-14.1  after both: 0.64-1.12

The first check, which raises the alerts, took 9.6-10.2 s; with the alert that
already holds a finding's orders found in the check's own index instead of by one
grouped query per finding (alerts.services._KnownBursts.covering), 8.0-8.5 s, and
the same alerts, links and other views (compared row by row, 2,000 orders). Under
bench/intake_load.py the worker's share did not move (0.54-0.62 ms per intake): there
each of the 400 texts comes back every second, so every finding has new orders.

That case, ``--orders 3000 --checks 3 --new-orders 3000``: before (37b5ef2), every
finding's alert grown in a transaction of its own, against the links, changed rows and
timeline entries written together at the end of the check, then one transaction for
the check (alerts.services._Growth; now 50 alerts to a transaction), ``find``
computing each window's hour weights once rather than per key, and the Poisson tail
from scipy.special.pdtrc. Alternating, two runs each, s CPU:

                      topics      find        record      whole check
    first check       1.56, 1.92  0.68, 0.95  5.74, 8.39  7.98, 11.26
      after           2.03, 2.04  0.51, 0.58  1.69, 1.69  4.23,  4.30
    later checks      0.90-1.05   0.99-1.78   1.24-1.52   3.21-4.29
      after           0.70-1.01   0.52-1.23   0.26-0.52   1.48-2.77

The alerts, their links, evidence and timelines are the same (compared row by row,
2,000 orders a check, three checks).

Then the topics written as one INSERT of four arrays on PostgreSQL instead of
bulk_create (alerts.detector._write_topics), same command, alternating (56d0c7a
before), topics s CPU: first check 1.37, 1.50 -> 1.09, 1.18; later checks 0.63-0.91
-> 0.31-0.59.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--orders", type=int, default=3000)
    p.add_argument("--checks", type=int, default=4)
    p.add_argument("--new-orders", type=int, default=0,
                   help="orders registered in the 15 s before each check (as under bench/intake_load.py)")
    args = p.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("error: set DATABASE_URL to an empty PostgreSQL database")
    os.environ.update(DJANGO_SETTINGS_MODULE="yiwang.settings", YIWANG_LOG_LEVEL="WARNING")
    os.environ.setdefault("YIWANG_VAR_DIR", str(ROOT / "var" / "bench"))
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone
    from intake_load import appeals

    from yiwang.accounts.roles import Role
    from yiwang.alerts import detector, services
    from yiwang.demo import factories
    from yiwang.org.models import Street

    call_command("migrate", verbosity=0)
    operator = factories.make_user("bench-burst", Role.OPERATOR)
    streets, rnd, bodies = list(Street.objects.all()), random.Random(7), appeals()
    start = timezone.now() - dt.timedelta(minutes=50)
    serial = iter(range(10**9))

    def register(n: int, first: dt.datetime, span: dt.timedelta) -> None:
        for j in range(n):
            k = next(serial)
            body = bodies[k % len(bodies)]
            factories.make_order(operator, now=first + span * j / n, title=f"{body['title']} {k}",
                                 content=body["detail"], street=rnd.choice(streets), appellant_phone=f"13{k:09d}")

    began = time.perf_counter()
    register(args.orders, start, dt.timedelta(minutes=40))
    print(f"{args.orders} orders registered in {time.perf_counter() - began:.1f} s")
    print("check  new orders  raised  findings  topics s  find s  record s  whole s   (process CPU)")
    for i in range(args.checks):
        now = start + dt.timedelta(minutes=41, seconds=15 * i)
        register(args.new_orders, now - dt.timedelta(seconds=15), dt.timedelta(seconds=15))
        # The parts of jobs.run_check, timed one by one.
        cpu = time.process_time()
        detector.index_new_topics()
        services.end_quiet(now)
        topics_s, cpu = time.process_time() - cpu, time.process_time()
        findings = detector.find(now)
        find_s, cpu = time.process_time() - cpu, time.process_time()
        raised = services.record(findings, now=now)
        record_s = time.process_time() - cpu
        print(f"{i + 1:5d}  {args.new_orders:10d}  {len(raised):6d}  {len(findings):8d}  {topics_s:8.2f}  "
              f"{find_s:6.2f}  {record_s:8.2f}  {topics_s + find_s + record_s:7.2f}")


if __name__ == "__main__":
    main()
