"""Time the 随申查 inspection paths at district scale: parsing a checklist, submitting a
self-inspection through the service, the hourly sweep, the 国动办's district view and its
xlsx export, and a street's task list.

Run from the repository root:

    # SQLite in a folder of its own, filled on first use
    .venv/bin/python bench/inspections_district.py --var /tmp/yiwang-bench-insp
    # PostgreSQL (a database of its own, created by migrate on first use)
    .venv/bin/python bench/inspections_district.py --pg postgres://postgres@127.0.0.1:5432/yiwang_bench_insp

Options: ``--spaces N`` (default 1,000 spaces across the 8 streets, filled once), ``--runs N``
samples per step after one warm-up.

The filler writes a year of self-inspections (by risk grade: monthly, quarterly,
half-yearly; about 85% of cycles done) and a rectification per failed item with
bulk inserts, so the numbers are those of a year-old district, then the timed steps run
through the same services and selectors as the pages. Prints p50 / max in ms and the
number of SQL queries per step.

Measured 2026-11-21 on 2 shared cores (load average 9-11 from other work), SQLite,
1,000 spaces, 5,620 inspections, 5,521 rectifications, ``--runs 10``:

    parse_checklist (garage, 25 items)               p50  238.0 ms   max  268.8 ms     0 queries
    submit_inspection (1 failure → 1 rectification)  p50   35.5 ms   max   64.4 ms    15 queries
    sweep (all spaces)                               p50  212.3 ms   max  695.0 ms     9 queries
    district_view 国动办 2026-Q4                      p50  337.4 ms   max  767.9 ms    18 queries
    district_view 国动办 2026                         p50  509.1 ms   max  901.0 ms    18 queries
    district export xlsx (quarter)                   p50  673.3 ms   max 1051.6 ms    18 queries
    due_rows street officer (曲阳路)                  p50   32.1 ms   max   48.9 ms     4 queries

(parse_checklist took 36-60 ms on the same machine when it was less loaded.) Before the
period bounds became Shanghai-time moments, the quarter's district view took 3.5 s: a
``__date`` lookup made SQLite convert every rectification's timestamp in Python.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup(args) -> None:
    if args.pg:
        os.environ["DATABASE_URL"] = args.pg
    else:
        os.environ["YIWANG_VAR_DIR"] = str(Path(args.var).resolve())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiwang.settings")
    os.environ.setdefault("YIWANG_DEBUG", "0")
    import django

    django.setup()


def fill(n_spaces: int, today: dt.date) -> None:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import transaction

    from yiwang.accounts.roles import Role
    from yiwang.demo import factories
    from yiwang.inspections import schedule, scoring, services
    from yiwang.inspections.models import Inspection, Rectification
    from yiwang.inspections.xlsform import scored_items
    from yiwang.org.models import Street
    from yiwang.spaces.models import RiskGrade, Space, SpaceType, UsingUnit

    Path(settings.VAR_DIR).mkdir(parents=True, exist_ok=True)
    call_command("migrate", "--no-input", "-v", "0")
    services.install_bundled()
    if Space.objects.filter(code__startswith="BX-").exists():
        return
    rng = random.Random(5)
    started = time.monotonic()
    streets = list(Street.objects.order_by("code"))
    with transaction.atomic():
        units = [UsingUnit.objects.create(name=f"压测使用单位{i:03d}") for i in range(100)]
        user = factories.make_user("bench-unit", Role.ENTERPRISE)
        for unit in units:
            unit.users.add(user)
        grades = [RiskGrade.HIGH, RiskGrade.MEDIUM, RiskGrade.MEDIUM, RiskGrade.LOW]
        Space.objects.bulk_create([Space(
            code=f"BX-{i:05d}", name=f"压测地下空间{i}", address=f"压测路{i}号", street=streets[i % len(streets)],
            latitude=Decimal(f"{31.25 + rng.random() * 0.06:.6f}"),
            longitude=Decimal(f"{121.46 + rng.random() * 0.04:.6f}"),
            space_type=rng.choice(list(SpaceType.values)), using_unit=units[i % len(units)],
            risk_grade=rng.choice(grades)) for i in range(n_spaces)])
        spaces = list(Space.objects.filter(code__startswith="BX-"))
        forms = {s.space_type: services.form_for(s) for s in spaces}
        months = services.months_by_grade()
        inspections, failed_of = [], []
        for space in spaces:
            version = forms[space.space_type]
            items = scored_items(version.definition)
            first, _ = schedule.cycle_of(today - dt.timedelta(days=365), months[space.risk_grade])
            while first <= today:
                _, last = schedule.cycle_of(first, months[space.risk_grade])
                if rng.random() < 0.85:
                    day = first + dt.timedelta(days=rng.randint(0, min(25, (last - first).days)))
                    if day <= today:
                        answers = {i["name"]: ("fail" if rng.random() < 0.04 else "pass") for i in items}
                        result = scoring.compute(items, answers)
                        at = dt.datetime.combine(day, dt.time(10), tzinfo=dt.timezone(dt.timedelta(hours=8)))
                        inspections.append(Inspection(
                            space=space, kind="self", version=version, inspector=user, inspected_on=day,
                            submitted_at=at, answers={k: {"answer": v, "note": "压测" if v == "fail" else ""}
                                                      for k, v in answers.items()},
                            score=result.score, colour=result.colour, passed=result.passed, vetoed=result.vetoed,
                            failed_count=len(result.failed)))
                        failed_of.append([(i, at) for i in items if i["name"] in result.failed])
                first = last + dt.timedelta(days=1)
        Inspection.objects.bulk_create(inspections, batch_size=500)
        rects = []
        for inspection, failed in zip(inspections, failed_of):
            for item, at in failed:
                closed = at.date() < today - dt.timedelta(days=30) or rng.random() < 0.5
                rects.append(Rectification(
                    inspection=inspection, space=inspection.space, item=item["name"], item_label=item["label"],
                    section="压测", critical=item["critical"], status="closed" if closed else "open",
                    deadline=at + dt.timedelta(days=14), created_at=at))
        Rectification.objects.bulk_create(rects, batch_size=500)
    print(f"filled {len(spaces)} spaces, {len(inspections)} inspections, {len(rects)} rectifications "
          f"in {time.monotonic() - started:.0f} s")


def timed(label: str, fn, runs: int) -> None:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    fn()  # warm-up
    samples, queries = [], 0
    for _ in range(runs):
        reset_queries()
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - start) * 1000)
        queries = len(ctx.captured_queries)
    print(f"{label:<44} p50 {statistics.median(samples):8.1f} ms   max {max(samples):8.1f} ms   {queries:4d} queries")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--var", default="/tmp/yiwang-bench-insp")
    parser.add_argument("--pg")
    parser.add_argument("--spaces", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    setup(args)

    from django.db import connection, transaction
    from django.utils import timezone

    from yiwang.accounts.roles import Role
    from yiwang.demo import factories
    from yiwang.inspections import export, selectors, services
    from yiwang.inspections.xlsform import parse_checklist, scored_items
    from yiwang.spaces.access import CIVIL_DEFENCE_OFFICE_CODE
    from yiwang.spaces.models import Space

    today = timezone.localdate()
    fill(args.spaces, today)
    print(f"database: {connection.vendor}; spaces {Space.objects.count()}")
    office = factories.make_user("bench-gdb", Role.UNIT_HANDLER, unit=factories.unit(CIVIL_DEFENCE_OFFICE_CODE))
    street_officer = factories.make_user("bench-street", Role.UNIT_HANDLER, unit=factories.unit("ST-310109010"))
    unit_user = factories.make_user("bench-unit", Role.ENTERPRISE)
    content = (ROOT / "yiwang/inspections/checklists/garage_self_check.xlsx").read_bytes()
    timed("parse_checklist (garage, 25 items)", lambda: parse_checklist(content), args.runs)

    space = Space.objects.filter(code__startswith="BX-", space_type="garage").first()
    version = services.form_for(space)
    answers = {i["name"]: "pass" for i in scored_items(version.definition)}
    answers["lighting"] = "fail"

    def submit():
        # Rolled back each time so the sample stays the same size.
        with transaction.atomic():
            services.submit_inspection(space, version, services.Submission(
                answers=answers, notes={"lighting": "灯不亮"}, extra={"inspector": "压测"}), actor=unit_user,
                kind="self")
            transaction.set_rollback(True)

    timed("submit_inspection (1 failure → 1 rectification)", submit, args.runs)
    timed("sweep (all spaces)", services.sweep, max(3, args.runs // 3))
    quarter = selectors.parse_period("", today)
    year = selectors.parse_period(str(today.year), today)
    timed(f"district_view 国动办 {quarter.key}", lambda: selectors.district_view(office, quarter, today=today), args.runs)
    timed(f"district_view 国动办 {year.key}", lambda: selectors.district_view(office, year, today=today), args.runs)
    timed("district export xlsx (quarter)", lambda: export.district_workbook(
        selectors.district_view(office, quarter, today=today), user=office).save(io.BytesIO()), args.runs)
    timed("due_rows street officer (曲阳路)", lambda: selectors.due_rows(street_officer, today=today), args.runs)


if __name__ == "__main__":
    main()
