"""The register's staff pages: who sees what, filters in the URL, validation, history, masking, audit."""

from __future__ import annotations

import pytest
from django.urls import reverse

from yiwang.core.models import AuditEntry
from yiwang.spaces.models import Space


def form_data(sw, **overrides) -> dict:
    data = {"code": "hk-dx-0100", "name": "曲阳新村地下车库", "address": "曲阳路 500 号", "street": sw.quyang.pk,
            "latitude": "31.281", "longitude": "121.492", "space_type": "garage", "area_m2": "1200", "floors": "2",
            "using_unit": sw.unit_a.pk, "safety_contact": "赵六", "safety_phone": "139 0000 1234",
            "civil_defence_grade": "none", "risk_grade": "low", "active": "on"}
    data.update(overrides)
    return data


def test_list_is_scoped_and_filtered_by_url(client, sw):
    client.force_login(sw.quyang_officer)
    page = client.get(reverse("spaces:list"))
    assert page.status_code == 200
    assert b"HK-DX-0001" in page.content and b"HK-DX-0003" not in page.content
    client.force_login(sw.gdb)
    filtered = client.get(reverse("spaces:list"), {"street": sw.jiaxing.pk})
    assert b"HK-DX-0003" in filtered.content and b"HK-DX-0001" not in filtered.content
    by_type = client.get(reverse("spaces:list"), {"space_type": "civil_defence"})
    assert b"HK-DX-0002" in by_type.content and b"HK-DX-0001" not in by_type.content
    by_word = client.get(reverse("spaces:list"), {"q": "甲物业"})
    assert b"HK-DX-0001" in by_word.content and b"HK-DX-0002" not in by_word.content
    by_unit = client.get(reverse("spaces:list"), {"using_unit": sw.unit_b.pk, "risk_grade": "medium"})
    assert b"HK-DX-0003" in by_unit.content and b"HK-DX-0001" not in by_unit.content


def test_outsiders_are_refused(client, sw):
    for user in (sw.other_dept, sw.dispatcher, sw.citizen):
        client.force_login(user)
        assert client.get(reverse("spaces:list")).status_code == 403
        assert client.get(reverse("spaces:detail", args=["HK-DX-0001"])).status_code == 404


def test_using_unit_sees_its_space_but_cannot_edit(client, sw):
    client.force_login(sw.ent_a)
    assert client.get(reverse("spaces:detail", args=["HK-DX-0001"])).status_code == 200
    assert client.get(reverse("spaces:detail", args=["HK-DX-0003"])).status_code == 404
    assert client.get(reverse("spaces:edit", args=["HK-DX-0001"])).status_code == 403
    assert client.post(reverse("spaces:new"), form_data(sw)).status_code == 403
    assert not Space.objects.filter(code="HK-DX-0100").exists()


def test_phone_masked_for_supervisor_and_shown_to_office_with_audit(client, sw):
    client.force_login(sw.supervisor)
    page = client.get(reverse("spaces:detail", args=["HK-DX-0001"]))
    assert "139****2222" in page.content.decode() and "13911112222" not in page.content.decode()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.VIEW_PERSONAL_DATA).exists()
    client.force_login(sw.gdb)
    page = client.get(reverse("spaces:detail", args=["HK-DX-0001"]))
    assert "13911112222" in page.content.decode()
    entry = AuditEntry.objects.get(action=AuditEntry.Action.VIEW_PERSONAL_DATA)
    assert (entry.actor, entry.object_type, entry.object_id) == (sw.gdb, "spaces.space", str(sw.s1.pk))


def test_create_normalises_and_audits(client, sw):
    client.force_login(sw.quyang_officer)
    response = client.post(reverse("spaces:new"), form_data(sw))
    assert response.status_code == 302
    space = Space.objects.get(code="HK-DX-0100")
    assert space.safety_phone == "13900001234"
    assert space.history.get().history_user == sw.quyang_officer
    assert AuditEntry.objects.filter(action=AuditEntry.Action.CREATE, object_id=str(space.pk),
                                     actor=sw.quyang_officer).exists()


@pytest.mark.parametrize("field,value,message", [
    ("code", "DX0001", "格式不正确"),
    ("latitude", "39.9", "不在上海市范围内"),
    ("longitude", "31.28", "不在上海市范围内"),
    ("safety_phone", "12345", "请输入正确的手机号"),
    ("area_m2", "0", "面积必须大于 0"),
    ("name", "", "请填写此项"),
    ("space_type", "cave", "请选择有效的选项"),
])
def test_bad_input_is_refused_with_the_field_message(client, sw, field, value, message):
    client.force_login(sw.gdb)
    response = client.post(reverse("spaces:new"), form_data(sw, **{field: value}))
    assert response.status_code == 400
    assert message in str(response.context["form"].errors[field])
    assert not Space.objects.filter(code="HK-DX-0100").exists()


def test_one_coordinate_alone_is_refused(client, sw):
    client.force_login(sw.gdb)
    response = client.post(reverse("spaces:new"), form_data(sw, longitude=""))
    assert response.status_code == 400
    assert "同时填写" in str(response.context["form"].errors["longitude"])


def test_duplicate_code_is_refused(client, sw):
    client.force_login(sw.gdb)
    response = client.post(reverse("spaces:new"), form_data(sw, code="HK-DX-0001"))
    assert response.status_code == 400
    assert "code" in response.context["form"].errors


def test_street_officer_cannot_register_or_edit_another_street(client, sw):
    client.force_login(sw.quyang_officer)
    response = client.post(reverse("spaces:new"), form_data(sw, street=sw.jiaxing.pk))
    assert response.status_code == 400
    assert not Space.objects.filter(code="HK-DX-0100").exists()
    assert client.get(reverse("spaces:edit", args=["HK-DX-0003"])).status_code == 404


def test_edit_keeps_the_code_and_shows_the_diff_in_history(client, sw):
    client.force_login(sw.quyang_officer)
    data = form_data(sw, code="HK-DX-9999", name=sw.s1.name, risk_grade="low", street=sw.quyang.pk)
    response = client.post(reverse("spaces:edit", args=["HK-DX-0001"]), data)
    assert response.status_code == 302
    sw.s1.refresh_from_db()
    assert (sw.s1.code, sw.s1.risk_grade) == ("HK-DX-0001", "low")
    client.force_login(sw.gdb)
    page = client.get(reverse("spaces:detail", args=["HK-DX-0001"]))
    newest = page.context["history"][0]
    assert newest.who == str(sw.quyang_officer) and newest.kind == "修改"
    assert ("风险等级", "高风险", "低风险") in [(c.field, c.old, c.new) for c in newest.changes]
    audit = AuditEntry.objects.get(action=AuditEntry.Action.UPDATE, object_id=str(sw.s1.pk))
    assert audit.changes["risk_grade"] == "low"


def test_history_masks_phone_changes_for_masked_roles(client, sw):
    client.force_login(sw.gdb)
    client.post(reverse("spaces:edit", args=["HK-DX-0001"]), form_data(sw, name=sw.s1.name, safety_phone="13700009999"))
    client.force_login(sw.supervisor)
    page = client.get(reverse("spaces:detail", args=["HK-DX-0001"]))
    changes = {c.field: (c.old, c.new) for c in page.context["history"][0].changes}
    assert changes["安全负责人电话"] == ("139****2222", "137****9999")


def test_admin_history_page_opens(client, sw):
    client.force_login(sw.admin)
    response = client.get(reverse("admin:spaces_space_history", args=[sw.s1.pk]))
    assert response.status_code == 200
