from django.core.management.base import BaseCommand

from yiwang.inspections import services


class Command(BaseCommand):
    help = "Flag overdue self-inspections and rectifications now (the job worker runs this hourly)."

    def handle(self, *args, **options):
        result = services.sweep()
        self.stdout.write(f"{result}\n")
