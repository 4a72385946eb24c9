from django.core.management.base import BaseCommand

from yiwang.inspections import services


class Command(BaseCommand):
    help = "Load the checklists shipped with the inspections app (skips those already stored unchanged)."

    def handle(self, *args, **options):
        installed = services.install_bundled()
        for version in installed:
            self.stdout.write(f"{version.form.form_id} v{version.number}: {version.item_count} items\n")
        if not installed:
            self.stdout.write("All shipped checklists are loaded.\n")
