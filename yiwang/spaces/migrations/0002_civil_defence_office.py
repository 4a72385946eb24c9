"""The district civil-defence office (区国动办) as a unit: its staff supervise every space."""

from django.db import migrations

CODE = "GDB"  # yiwang.spaces.access.CIVIL_DEFENCE_OFFICE_CODE; a migration must not import app code


def add_office(apps, schema_editor):
    Unit = apps.get_model("org", "Unit")
    Unit.objects.get_or_create(code=CODE, defaults={"name": "区国动办", "kind": "department", "active": True})


def remove_office(apps, schema_editor):
    Unit = apps.get_model("org", "Unit")
    Unit.objects.filter(code=CODE, staff__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("spaces", "0001_initial"), ("org", "0002_reference_data")]
    operations = [migrations.RunPython(add_office, remove_office)]
