from django.db import migrations


def load(apps, schema_editor):
    apps.get_model("alerts", "DetectorState").objects.get_or_create(pk=1)
    # The safety net: a check every minute, whatever the intake hook queued.
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.get_or_create(
        name="alerts-check",
        defaults={"func": "yiwang.alerts.jobs.run_check", "schedule_type": "I", "minutes": 1, "repeats": -1},
    )


def unload(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="alerts-check").delete()


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial"),
                    ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")]
    operations = [migrations.RunPython(load, unload)]
