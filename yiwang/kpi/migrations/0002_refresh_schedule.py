"""Schedule the minute job that folds new events into the KPI facts."""

from django.db import migrations

FUNC = "yiwang.kpi.jobs.refresh_recent"


def schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.get_or_create(
        name="kpi-facts-refresh",
        defaults={"func": FUNC, "schedule_type": "I", "minutes": 1, "repeats": -1},
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="kpi-facts-refresh").delete()


class Migration(migrations.Migration):
    dependencies = [("kpi", "0001_initial"),
                    ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")]
    operations = [migrations.RunPython(schedule, unschedule)]
