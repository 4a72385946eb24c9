"""Run the case-cluster job once now: ``yiwang manage cluster_orders [--chunks N] [--sweep]``."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from yiwang.clusters import engine, services


class Command(BaseCommand):
    help = "把新工单归入类案（增量），并可顺带检查治理任务超期"

    def add_arguments(self, parser):
        parser.add_argument("--chunks", type=int, default=None, help="at most this many chunks of new orders")
        parser.add_argument("--sweep", action="store_true", help="also flip overdue governance tasks")

    def handle(self, *args, chunks=None, sweep=False, **options):
        stats = engine.run(max_chunks=chunks)
        if sweep:
            stats["overdue_flipped"] = services.sweep_overdue()
        self.stdout.write(json.dumps(stats, ensure_ascii=False))
