"""Schedule the Monday 08:00 (Shanghai) job that stores last week's report.

A weekly schedule (no cron library needed): the first run is the next Monday
08:00 after the migration, and django-q2 adds a week after each run. Admins
change it in the admin (django-q2 "Scheduled tasks").
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import migrations

NAME = "reports-weekly"
FUNC = "yiwang.reports.jobs.weekly"


def next_monday_8(now: dt.datetime) -> dt.datetime:
    local = now.astimezone(ZoneInfo("Asia/Shanghai"))
    monday = local.date() + dt.timedelta(days=(7 - local.weekday()) % 7)
    at = dt.datetime.combine(monday, dt.time(8), tzinfo=local.tzinfo)
    return at if at > local else at + dt.timedelta(weeks=1)


def schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.get_or_create(
        name=NAME,
        defaults={"func": FUNC, "schedule_type": "W", "repeats": -1,
                  "next_run": next_monday_8(dt.datetime.now(dt.timezone.utc))},
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial"),
                    ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")]
    operations = [migrations.RunPython(schedule, unschedule)]
