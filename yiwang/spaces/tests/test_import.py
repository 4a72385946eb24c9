"""Bulk import from xlsx: idempotent by code, per-row errors, a template and an error report."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from yiwang.spaces import importer
from yiwang.spaces.models import Space, UsingUnit


def xlsx(rows: list[list], headers=None) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(headers or importer.HEADERS)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def row(code, name="虹口足球场地下车库", street="嘉兴路街道", lat=31.27, lon=121.48, kind="地下车库", unit="丙停车管理公司",
        phone="13800001234", risk="高风险"):
    return [code, name, "东江湾路444号", street, lat, lon, kind, 5000, 2, unit, "钱七", phone, "非人防", risk]


def upload(client, content: bytes, name="spaces.xlsx"):
    return client.post(reverse("spaces:import"), {"file": SimpleUploadedFile(name, content)})


def test_import_creates_updates_and_reports_each_bad_row(client, sw):
    client.force_login(sw.gdb)
    content = xlsx([
        row("HK-DX-0201"),
        row("HK-DX-0001", name="更名后的车库", street="曲阳路街道", unit="甲物业管理有限公司", risk="低风险"),
        row("BAD"),
        row("HK-DX-0202", street="静安寺街道"),
        row("HK-DX-0203", lat=39.9, lon=116.4, unit="丁公司"),
        row("HK-DX-0201"),
    ])
    response = upload(client, content)
    assert response.status_code == 200
    result = response.context["result"]
    assert (result.created, result.updated, result.failed) == (1, 1, 4)
    problems = {(e.row, e.column): e.message for e in result.errors}
    assert "格式不正确" in problems[(4, "编码")]
    assert "未知街道「静安寺街道」" in problems[(5, "街道")]
    assert "不在上海市范围内" in problems[(6, "纬度")]
    assert "与第 2 行编码重复" in problems[(7, "编码")]
    sw.s1.refresh_from_db()
    assert (sw.s1.name, sw.s1.risk_grade) == ("更名后的车库", "low")
    created = Space.objects.get(code="HK-DX-0201")
    assert (created.street, created.using_unit.name, created.risk_grade) == (sw.jiaxing, "丙停车管理公司", "high")
    assert not UsingUnit.objects.filter(name="丁公司").exists()  # created with a failed row, rolled back with it
    assert created.history.get().history_user == sw.gdb

    report = client.get(reverse("spaces:import_errors"))
    sheet = load_workbook(io.BytesIO(report.content)).active
    assert [c.value for c in sheet[1]] == ["行号", "编码", "列", "问题"]
    assert len(result.errors) == 5  # row 6 has two: latitude and longitude
    assert sheet.max_row == 1 + 5


def test_reimport_is_idempotent(client, sw):
    client.force_login(sw.gdb)
    content = xlsx([row("HK-DX-0201"), row("HK-DX-0202")])
    first = upload(client, content).context["result"]
    second = upload(client, content).context["result"]
    assert (first.created, first.updated) == (2, 0)
    assert (second.created, second.updated, second.failed) == (0, 2, 0)
    assert Space.objects.filter(code__in=["HK-DX-0201", "HK-DX-0202"]).count() == 2


def test_street_officer_imports_only_their_street(client, sw):
    client.force_login(sw.quyang_officer)
    result = upload(client, xlsx([row("HK-DX-0301", street="曲阳路街道"), row("HK-DX-0302"),
                                  row("HK-DX-0003", street="曲阳路街道")])).context["result"]
    assert (result.created, result.failed) == (1, 2)
    messages = " ".join(e.message for e in result.errors)
    assert "本街道" in messages
    assert Space.objects.get(code="HK-DX-0003").street == sw.jiaxing


def test_unreadable_and_incomplete_files_are_refused(client, sw):
    client.force_login(sw.gdb)
    response = upload(client, b"not a spreadsheet", name="x.xlsx")
    assert response.status_code == 400
    assert "无法读取" in str(response.context["form"].errors["file"])
    response = upload(client, xlsx([["HK-DX-0401"]], headers=["编码"]))
    assert response.status_code == 400
    assert "缺少必需的列" in str(response.context["form"].errors["file"])


def test_template_round_trips(client, sw):
    client.force_login(sw.gdb)
    template = client.get(reverse("spaces:import_template"))
    assert template.status_code == 200
    result = upload(client, template.content).context["result"]
    assert (result.created, result.failed) == (1, 0)  # the example row is a valid row


def test_others_cannot_import(client, sw):
    client.force_login(sw.ent_a)
    assert upload(client, xlsx([row("HK-DX-0201")])).status_code == 403
    assert client.get(reverse("spaces:import_template")).status_code == 403
    assert not Space.objects.filter(code="HK-DX-0201").exists()
