"""The pages: each party sees its own spaces, fills a checklist on the phone page, moves
rectifications; bad input gets 4xx with messages; the district view and its export."""

from __future__ import annotations

import io

import openpyxl
from django.urls import reverse

from yiwang.core.models import AuditEntry
from yiwang.inspections import services
from yiwang.inspections.models import ChecklistVersion, Inspection, Rectification
from yiwang.inspections.xlsform import scored_items

from .conftest import png_upload, xlsform


def form_data(version: ChecklistVersion, *, fail=(), **extra) -> dict:
    data = {"version": version.pk, "extra-inspector": "王检查"}
    for item in scored_items(version.definition):
        data[f"item-{item['name']}"] = "fail" if item["name"] in fail else "pass"
        if item["name"] in fail:
            data[f"note-{item['name']}"] = "现场发现问题"
    data.update(extra)
    return data


def login(client, user):
    client.force_login(user)
    return client


def test_unit_sees_its_tasks_and_submits_a_self_inspection_with_a_photo(client, iw):
    login(client, iw.ent_a)
    page = client.get(reverse("inspections:tasks"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "HK-DX-0001" in body and "HK-DX-0002" in body and "HK-DX-0003" not in body
    form = client.get(reverse("inspections:inspect", args=["HK-DX-0001"]))
    assert form.status_code == 200 and "否决项" in form.content.decode()
    version = services.form_for(iw.s1)
    response = client.post(reverse("inspections:inspect", args=["HK-DX-0001"]),
                           form_data(version, fail=["lighting"], **{"photos-lighting": png_upload()}))
    inspection = Inspection.objects.get()
    assert response.status_code == 302 and response.url == reverse("inspections:record", args=[inspection.pk])
    assert (inspection.kind, inspection.inspector, inspection.failed_count) == ("self", iw.ent_a, 1)
    photo = inspection.photos.get()
    shown = client.get(reverse("inspections:evidence", args=[photo.pk]))
    assert shown.status_code == 200 and shown["Content-Type"] == "image/png"
    assert AuditEntry.objects.filter(object_type="inspections.evidence", action="view_pii").count() == 1
    login(client, iw.ent_b)
    assert client.get(reverse("inspections:evidence", args=[photo.pk])).status_code == 404


def test_a_client_side_score_is_ignored_and_bad_input_gets_400_with_messages(client, iw):
    login(client, iw.ent_a)
    version = services.form_for(iw.s1)
    data = form_data(version, fail=["exits"], score="100", colour="green")
    data.pop("note-exits")
    data.pop("item-lighting")
    response = client.post(reverse("inspections:inspect", args=["HK-DX-0001"]), data)
    assert response.status_code == 400
    body = response.content.decode()
    assert "不合格项请说明存在的问题" in body and "请选择检查结果" in body
    assert not Inspection.objects.exists()
    data["note-exits"], data["item-lighting"] = "通道堆放纸箱", "pass"
    client.post(reverse("inspections:inspect", args=["HK-DX-0001"]), data)
    assert Inspection.objects.get().colour == "red"  # the veto, whatever the page sent


def test_other_parties_cannot_open_the_form(client, iw):
    for user, status in ((iw.ent_b, 404), (iw.jiaxing_officer, 404), (iw.citizen, 404), (iw.supervisor, 403)):
        login(client, user)
        assert client.get(reverse("inspections:inspect", args=["HK-DX-0001"])).status_code == status
    login(client, iw.citizen)
    assert client.get(reverse("inspections:tasks")).status_code == 403


def test_street_spot_check_overrules_through_the_pages(client, iw):
    version = services.form_for(iw.s1)
    own = services.submit_inspection(iw.s1, version, services.Submission(
        answers={i["name"]: "pass" for i in scored_items(version.definition)}, extra={"inspector": "甲"}),
        actor=iw.ent_a, kind="self")
    login(client, iw.quyang_officer)
    record = client.get(reverse("inspections:record", args=[own.pk]))
    assert "抽查并推翻此自查" in record.content.decode()
    url = reverse("inspections:inspect", args=["HK-DX-0001"]) + f"?overrules={own.pk}"
    missing_reason = client.post(url, form_data(version, fail=["ebike"], overrules=own.pk))
    assert missing_reason.status_code == 400 and "推翻自查须写明理由" in missing_reason.content.decode()
    response = client.post(url, form_data(version, fail=["ebike"], overrules=own.pk, reason="现场有电动自行车充电"))
    assert response.status_code == 302
    spot = Inspection.objects.get(kind="spot")
    assert spot.overrules == own
    login(client, iw.ent_a)  # the unit may not overrule, even by crafting the request
    assert client.get(reverse("inspections:inspect", args=["HK-DX-0001"]) + f"?overrules={own.pk}").status_code == 403


def test_rectification_pages_submit_and_verify(client, iw):
    version = services.form_for(iw.s1)
    answers = {i["name"]: "pass" for i in scored_items(version.definition)}
    answers["lighting"] = "fail"
    inspection = services.submit_inspection(iw.s1, version, services.Submission(
        answers=answers, notes={"lighting": "B1 层灯不亮"}, extra={"inspector": "甲"}), actor=iw.ent_a, kind="self")
    rect = inspection.rectifications.get()
    login(client, iw.ent_a)
    assert "提交整改" in client.get(reverse("inspections:rectification", args=[rect.pk])).content.decode()
    no_photo = client.post(reverse("inspections:rectification-submit", args=[rect.pk]), {"note": "已修"})
    assert no_photo.status_code == 400 and "请上传至少一张整改后的照片" in no_photo.content.decode()
    done = client.post(reverse("inspections:rectification-submit", args=[rect.pk]),
                       {"note": "已更换灯管", "photos": png_upload()})
    assert done.status_code == 302
    login(client, iw.jiaxing_officer)
    assert client.get(reverse("inspections:rectification", args=[rect.pk])).status_code == 404
    login(client, iw.quyang_officer)
    assert client.post(reverse("inspections:rectification-verify", args=[rect.pk]), {}).status_code == 400
    again = client.post(reverse("inspections:rectification-verify", args=[rect.pk]), {"decision": "accept"})
    assert again.status_code == 302
    assert Rectification.objects.get().status == "closed"
    late = client.post(reverse("inspections:rectification-verify", args=[rect.pk]), {"decision": "accept"})
    assert late.status_code == 409
    listing = client.get(reverse("inspections:rectifications") + "?status=closed")
    # The inspector's note stays on the rectification page; the list shows the item and status.
    assert "B1 层灯不亮" not in listing.content.decode() and "已销项" in listing.content.decode()


def test_checklist_upload_page_reports_rows_and_stores_versions(client, iw):
    login(client, iw.gdb)
    bad = xlsform([["select_one pfn", "a", "甲", "heavy", None, None]])
    response = client.post(reverse("inspections:checklists"),
                           {"file": _file(bad), "space_types": ["garage"]})
    assert response.status_code == 400
    assert "「survey」表第 2 行：weight（权重）「heavy」不是数字" in response.content.decode()
    good = xlsform([["select_one pfn", "a", "甲", "2", "yes", "消防法第二十八条"]],
                   settings=[["form_title", "form_id"], ["商场检查表", "mall_check"]])
    response = client.post(reverse("inspections:checklists"), {"file": _file(good), "space_types": ["mall"]})
    assert response.status_code == 302
    version = ChecklistVersion.objects.get(form__form_id="mall_check")
    assert version.form.space_types == ["mall"]
    assert client.get(reverse("inspections:checklist", args=[version.pk])).status_code == 200
    login(client, iw.quyang_officer)  # streets read the checklists but do not upload
    assert client.get(reverse("inspections:checklists")).status_code == 200
    assert client.post(reverse("inspections:checklists"), {"file": _file(good)}).status_code == 403


def _file(content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("form.xlsx", content)


def test_district_view_and_export(client, iw):
    version = services.form_for(iw.s3)
    answers = {i["name"]: "pass" for i in scored_items(version.definition)}
    answers["drainage"] = "fail"
    services.submit_inspection(iw.s3, version, services.Submission(
        answers=answers, notes={"drainage": "集水井堵塞"}, extra={"inspector": "乙"}), actor=iw.ent_b, kind="self")
    login(client, iw.gdb)
    page = client.get(reverse("inspections:district"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "结构与设备" in body and "嘉兴路" in body and "echarts.min.js" in body
    export = client.get(reverse("inspections:district-export"))
    assert export.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(export.content))
    assert book["隐患按街道"]["A2"].value == "嘉兴路" and book["隐患按街道"]["B2"].value == 1
    assert AuditEntry.objects.filter(action="export", object_type="inspections.district").exists()
    login(client, iw.quyang_officer)  # a street sees its own street only
    assert "集水井" not in client.get(reverse("inspections:district")).content.decode()
    login(client, iw.ent_a)
    assert client.get(reverse("inspections:district")).status_code == 403


def test_public_site_page_shows_the_latest_result(client, iw):
    version = services.form_for(iw.s1)
    services.submit_inspection(iw.s1, version, services.Submission(
        answers={i["name"]: "pass" for i in scored_items(version.definition)}, extra={"inspector": "甲"}),
        actor=iw.ent_a, kind="self")
    body = client.get(reverse("spaces_public:space", args=["HK-DX-0001"])).content.decode()
    assert "100.0 分" in body and "合格" in body
