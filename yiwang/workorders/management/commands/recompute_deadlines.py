from django.core.management.base import BaseCommand

from yiwang.workorders.sla import recompute_open_deadlines


class Command(BaseCommand):
    help = "Recompute stored deadlines of open work orders (after editing the calendar or the SLA rules)."

    def handle(self, *args, **options):
        changed = recompute_open_deadlines()
        self.stdout.write(f"recomputed deadlines: {changed} work orders changed")
