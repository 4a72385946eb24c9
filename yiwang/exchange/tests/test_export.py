"""Export of filtered lists to xlsx: scope, filters, masking, audit, and the REST twin."""

import io

import pytest
from django.test import Client
from openpyxl import load_workbook
from rest_framework.authtoken.models import Token

from yiwang.core.models import AuditEntry
from yiwang.demo import factories
from yiwang.exchange.export import COLUMNS
from yiwang.workorders import services

pytestmark = pytest.mark.django_db

HEADERS = [title for title, _, _ in COLUMNS]


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def sheet_rows(response) -> list[dict]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS
    return [dict(zip(HEADERS, row)) for row in rows[1:]]


@pytest.fixture
def orders(world, make_order):
    """Two orders in 曲阳路 (one dispatched to the street office), one in 嘉兴路."""
    quyang = make_order(title="曲阳路路灯不亮")
    dispatched = make_order(title="曲阳路垃圾满溢", appellant_name="王五", appellant_phone="13700001234")
    services.dispatch(dispatched, actor=world.dispatcher, lead_unit=world.street_office, co_units=[world.jgw],
                      reason="属地")
    jiaxing = make_order(title="嘉兴路噪音扰民", street=factories.street("嘉兴路"), address="嘉兴路100号")
    return quyang, dispatched, jiaxing


def test_dispatcher_exports_the_filtered_list_in_clear_and_is_audited(world, orders):
    quyang, dispatched, jiaxing = orders
    street = factories.street("曲阳路").code

    rows = sheet_rows(client_for(world.dispatcher).get(f"/orders/export.xlsx?street={street}"))

    assert sorted(r["标题"] for r in rows) == ["曲阳路垃圾满溢", "曲阳路路灯不亮"]
    row = next(r for r in rows if r["工单编号"] == dispatched.number)
    assert (row["诉求人"], row["联系电话"], row["街道"]) == ("王五", "13700001234", "曲阳路")
    assert (row["主办单位"], row["协办单位"], row["状态"]) == (world.street_office.name, world.jgw.name, "待签收")
    assert row["登记时间"].tzinfo is None and row["登记时间"].year >= 2024
    shown = AuditEntry.objects.filter(actor=world.dispatcher, action=AuditEntry.Action.VIEW_PERSONAL_DATA,
                                      summary="导出 Excel")
    assert sorted(shown.values_list("object_id", flat=True)) == sorted([str(quyang.pk), str(dispatched.pk)])
    export = AuditEntry.objects.get(actor=world.dispatcher, action=AuditEntry.Action.EXPORT)
    assert export.changes["rows"] == 2 and export.changes["unmasked"] == 2
    assert f"street={street}" in export.summary


def test_supervisor_gets_masked_personal_data_and_no_view_audit(world, orders):
    rows = sheet_rows(client_for(world.supervisor).get("/orders/export.xlsx?q=垃圾"))

    assert len(rows) == 1
    assert (rows[0]["诉求人"], rows[0]["联系电话"]) == ("王*", "137****1234")
    assert "*" in rows[0]["地址"]
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.VIEW_PERSONAL_DATA).exists()
    assert AuditEntry.objects.get(actor=world.supervisor, action=AuditEntry.Action.EXPORT).changes["unmasked"] == 0


def test_unit_staff_export_only_their_units_orders(world, orders):
    _, dispatched, _ = orders

    assert [r["工单编号"] for r in sheet_rows(client_for(world.handler).get("/orders/export.xlsx"))] == [
        dispatched.number]
    assert sheet_rows(client_for(world.outsider).get("/orders/export.xlsx")) == []


def test_bad_filter_is_refused_with_a_message(world, orders):
    response = client_for(world.dispatcher).get("/orders/export.xlsx?status=nonsense")

    assert response.status_code == 400
    assert "筛选条件有误" in response.content.decode()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT).exists()


def test_anonymous_users_are_sent_to_login(orders):
    response = Client().get("/orders/export.xlsx")

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_text_that_looks_like_a_formula_stays_text(world, make_order):
    make_order(title="=HYPERLINK(\"http://example.com\",\"点我\")")

    response = client_for(world.operator).get("/orders/export.xlsx")
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    cell = book.worksheets[0]["B2"]

    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def test_rest_export_uses_the_same_filters_and_token_auth(world, orders):
    client = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=world.supervisor).key}")

    rows = sheet_rows(client.get("/api/v1/workorders/export.xlsx?status=dispatched"))
    bad = client.get("/api/v1/workorders/export.xlsx?status=nonsense")

    assert [r["标题"] for r in rows] == ["曲阳路垃圾满溢"]
    assert rows[0]["联系电话"] == "137****1234"
    assert bad.status_code == 400 and "status" in bad.json()["errors"]
    assert Client().get("/api/v1/workorders/export.xlsx").status_code in (401, 403)


def test_the_list_page_links_to_the_export_with_its_filters(world, orders):
    street = factories.street("曲阳路").code

    page = client_for(world.supervisor).get(f"/orders/?street={street}&page=1").content.decode()
    operator_page = client_for(world.operator).get("/orders/").content.decode()

    assert f'href="/orders/export.xlsx?street={street}"' in page
    assert 'href="/imports/"' not in page and 'href="/imports/"' in operator_page
