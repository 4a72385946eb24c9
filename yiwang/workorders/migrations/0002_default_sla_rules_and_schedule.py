from decimal import Decimal

from django.db import migrations

# Working hours (8 a day). Normal handling limits follow common 12345 practice:
# consultations in 3 working days, requests and complaints in 10, reports and
# suggestions in 15; urgent matters in 2 days, critical ones the same half-day.
# Admins edit these in the admin ("时限规则").
DEFAULTS = {
    # appeal type: {urgency: (sign hours, handle hours)}
    "consultation": {"normal": (2, 24), "urgent": (1, 8), "critical": (0.5, 4)},
    "request": {"normal": (4, 80), "urgent": (1, 16), "critical": (0.5, 4)},
    "complaint": {"normal": (4, 80), "urgent": (1, 16), "critical": (0.5, 4)},
    "report": {"normal": (4, 120), "urgent": (1, 16), "critical": (0.5, 4)},
    "suggestion": {"normal": (8, 120), "urgent": (2, 40), "critical": (1, 16)},
    "praise": {"normal": (8, 40), "urgent": (8, 40), "critical": (8, 40)},
}


def load(apps, schema_editor):
    SlaRule = apps.get_model("workorders", "SlaRule")
    for appeal_type, by_urgency in DEFAULTS.items():
        for urgency, (sign, handle) in by_urgency.items():
            SlaRule.objects.get_or_create(
                appeal_type=appeal_type, urgency=urgency,
                defaults={"sign_hours": Decimal(str(sign)), "handle_hours": Decimal(str(handle))},
            )
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.get_or_create(
        name="sla-sweep",
        defaults={"func": "yiwang.workorders.jobs.run_sla_sweep", "schedule_type": "I", "minutes": 1, "repeats": -1},
    )


class Migration(migrations.Migration):
    dependencies = [("workorders", "0001_initial"), ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
