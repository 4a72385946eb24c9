"""The gazetteer's first contents: data/places.csv plus every neighbourhood committee.

Committees come from org (National Bureau of Statistics codes), each under its
full name ("欧二居委会") and the short form people write ("欧二居委").
"""

import csv
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data" / "places.csv"


def load(apps, schema_editor):
    Place = apps.get_model("smartdispatch", "Place")
    Street = apps.get_model("org", "Street")
    Committee = apps.get_model("org", "Committee")
    # org stores "欧阳路" for 欧阳路街道; the CSV says the full name, which is unambiguous.
    streets = {s.name + "街道": s for s in Street.objects.all()}
    rows = {}
    with open(DATA, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            street = streets.get(row["street"]) if row["street"] else None
            if row["street"] and street is None:
                continue  # a database without the district's streets (should not happen after org 0002)
            rows[row["name"]] = Place(name=row["name"], kind=row["kind"], street=street, note=row["note"])
    for committee in Committee.objects.select_related("street"):
        names = {committee.name}
        if committee.name.endswith("居委会"):
            names.add(committee.name[:-1])
        for name in names:
            rows.setdefault(name, Place(name=name, kind="committee", street=committee.street,
                                        note=f"居委（{committee.code}）"))
    Place.objects.bulk_create(rows.values(), ignore_conflicts=True)


def unload(apps, schema_editor):
    apps.get_model("smartdispatch", "Place").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("smartdispatch", "0001_initial"), ("org", "0002_reference_data")]
    operations = [migrations.RunPython(load, unload)]
