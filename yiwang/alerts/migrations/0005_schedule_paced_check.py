"""The minute schedule calls ``scheduled_check``, which skips a check the follower has just run."""

from django.db import migrations

OLD, NEW = "yiwang.alerts.jobs.run_check", "yiwang.alerts.jobs.scheduled_check"


def paced(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="alerts-check", func=OLD).update(func=NEW)


def unpaced(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="alerts-check", func=NEW).update(func=OLD)


class Migration(migrations.Migration):
    dependencies = [("alerts", "0004_detector_check_lease")]
    operations = [migrations.RunPython(paced, unpaced)]
