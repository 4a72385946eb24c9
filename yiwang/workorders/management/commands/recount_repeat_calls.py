from django.core.management.base import BaseCommand, CommandError

from yiwang.workorders.repeats import recount_from_events


class Command(BaseCommand):
    help = ("Recompute every order's repeat-call count (重复来电数) from the link / merge / unlink events "
            "and report orders whose master disagrees with them.")

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="report only; exit 1 when anything differs")

    def handle(self, *args, check=False, **options):
        result = recount_from_events(apply=not check)
        counts, masters = result["count_mismatches"], result["master_mismatches"]
        self.stdout.write(f"{result['repeat_calls']} repeat calls of {result['masters']} masters in the event log; "
                          f"{len(counts)} counts {'differ' if check else 'rewritten'}; "
                          f"{len(masters)} masters differ from their events")
        for pk, stored, replayed in masters[:20]:
            self.stdout.write(f"  order {pk}: master {stored} stored, {replayed} by the events")
        if check and (counts or masters):
            raise CommandError("repeat-call counts or masters differ from the event log")
