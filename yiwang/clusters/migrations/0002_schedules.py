from django.db import migrations

# The clustering job and the governance-task overdue sweep, every 10 minutes.
# Admins change the interval in the admin (django-q2 "Scheduled tasks").
SCHEDULES = {
    "clusters-assign": "yiwang.clusters.jobs.assign",
    "clusters-task-sweep": "yiwang.clusters.jobs.sweep_tasks",
}


def add(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func in SCHEDULES.items():
        Schedule.objects.get_or_create(name=name, defaults={"func": func, "schedule_type": "I", "minutes": 10,
                                                            "repeats": -1})


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name__in=SCHEDULES).delete()


class Migration(migrations.Migration):
    dependencies = [("clusters", "0001_initial"),
                    ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")]
    operations = [migrations.RunPython(add, remove)]
