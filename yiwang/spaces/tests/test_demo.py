"""The demo register and the sample import file."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from yiwang.accounts.roles import Role
from yiwang.demo import factories
from yiwang.spaces import access, demo
from yiwang.spaces.models import Space


def test_demo_register_covers_every_street_once(db):
    unit_user = factories.make_user("space-unit", Role.ENTERPRISE)
    assert demo.seed_spaces(unit_account=unit_user) == 40
    assert demo.seed_spaces(unit_account=unit_user) == 0
    per_street = {s: Space.objects.filter(street__name=s).count() for s in Space.objects.values_list("street__name", flat=True)}
    assert len(per_street) == 8 and set(per_street.values()) == {5}
    assert access.visible_spaces(unit_user).count() >= 3
    assert Space.objects.first().history.count() == 1


def test_sample_file_imports_with_three_reported_rows(client, sw):
    client.force_login(sw.gdb)
    sample = client.get(reverse("spaces:import_sample"))
    assert sample.status_code == 200
    response = client.post(reverse("spaces:import"), {"file": SimpleUploadedFile("s.xlsx", sample.content)})
    result = response.context["result"]
    assert (result.created, result.updated, result.failed) == (20, 0, 3)
