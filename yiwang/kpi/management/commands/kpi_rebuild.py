"""``kpi_rebuild``: recompute every order's KPI facts from the event log."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from yiwang.kpi import facts


class Command(BaseCommand):
    help = "从工单流转记录与回访记录重算全部工单的绩效事实表（kpi_orderfact）"

    def add_arguments(self, parser):
        parser.add_argument("--recent", action="store_true",
                            help="only fold in events written since the last run (what the minute job does)")

    def handle(self, *args, **options):
        started = time.perf_counter()
        if options["recent"]:
            n = facts.refresh_recent(max_rounds=10_000)
        else:
            n = facts.rebuild(stdout=self.stdout)
        self.stdout.write(f"{n:,} orders in {time.perf_counter() - started:.1f} s")
