"""Default self-inspection intervals by risk grade and the daily overdue sweep."""

from django.db import migrations

# risk grade → (months between self-inspections, working days to fix, working days to fix a critical item)
DEFAULTS = {"high": (1, 5, 2), "medium": (3, 10, 3), "low": (6, 15, 5)}


def load(apps, schema_editor):
    Interval = apps.get_model("inspections", "InspectionInterval")
    for grade, (months, days, critical_days) in DEFAULTS.items():
        Interval.objects.get_or_create(
            risk_grade=grade, defaults={"months": months, "rectify_days": days, "critical_rectify_days": critical_days}
        )
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.get_or_create(
        name="inspections-sweep",
        defaults={"func": "yiwang.inspections.jobs.run_sweep", "schedule_type": "I", "minutes": 60, "repeats": -1},
    )


def unload(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="inspections-sweep").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("inspections", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(load, unload)]
