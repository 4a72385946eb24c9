"""The public site-code page: what a scan shows, and a hazard report becoming a routed work order."""

from __future__ import annotations

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from yiwang.citizen import services as citizen
from yiwang.citizen.tests.conftest import image_bytes
from yiwang.spaces.models import SpaceReport
from yiwang.workorders.models import Assignment, Channel, WorkOrder
from yiwang.workorders.states import Status


def url(code="HK-DX-0001"):
    return reverse("spaces_public:space", args=[code])


def report(client, code="HK-DX-0001", token=None, **fields):
    data = {"content": "B2 层消防通道堆满纸箱，应急灯不亮", "form_token": token or uuid.uuid4().hex,
            "reporter_phone": "", "reporter_name": ""}
    data.update(fields)
    return client.post(url(code), data)


def test_page_shows_the_space_without_sign_in(client, sw):
    page = client.get(url())
    text = page.content.decode()
    assert page.status_code == 200
    for expected in (sw.s1.name, "地下车库", "甲物业管理有限公司", "最近检查", "反映安全隐患"):
        assert expected in text
    assert "13911112222" not in text and "王安全" not in text  # the safety contact is not public


def test_lower_case_code_from_a_hand_typed_url_works(client, sw):
    assert client.get(url("hk-dx-0001")).status_code == 200


@pytest.mark.parametrize("code", ["HK-DX-9999", "not-a-code"])
def test_unknown_code_gives_a_chinese_404(client, sw, code):
    page = client.get(url(code))
    assert page.status_code == 404
    assert "未找到该地下空间" in page.content.decode()


def test_inactive_space_is_not_public(client, sw):
    sw.s2.active = False
    sw.s2.save()
    assert client.get(url("HK-DX-0002")).status_code == 404


def test_report_becomes_a_work_order_routed_to_the_street_with_a_receipt(client, sw):
    photo = SimpleUploadedFile("p.jpg", image_bytes(), content_type="image/jpeg")
    response = report(client, photos=[photo], reporter_phone="139 1234 5678", reporter_name="刘先生")
    assert response.status_code == 302 and response["Location"] == reverse("citizen:receipt")
    order = WorkOrder.objects.get()
    assert (order.channel, order.street, order.address) == (Channel.QR, sw.quyang, sw.s1.address)
    assert order.title == f"{sw.s1.name}隐患反映"
    assert (order.appellant_phone, order.appellant_name) == ("13912345678", "刘先生")
    assert order.category.path == "城乡建设/安全生产/安全隐患"
    assert order.status == Status.DISPATCHED
    assert order.lead_unit.code == "ST-310109010"
    assert list(Assignment.objects.filter(order=order, role=Assignment.Role.CO).values_list("unit__code", flat=True)) == ["GDB"]
    assert SpaceReport.objects.get().order == order and order.attachments.count() == 1

    receipt = client.get(response["Location"]).content.decode()
    assert order.number in receipt
    code = receipt.split('id="receipt-code">')[1].split("<")[0]
    assert citizen.open_receipt(order.number, code) == order  # the citizen follow page accepts it


def test_double_submit_makes_one_order(client, sw):
    token = uuid.uuid4().hex
    assert report(client, token=token).status_code == 302
    assert report(client, token=token).status_code == 302
    assert WorkOrder.objects.count() == 1 and SpaceReport.objects.count() == 1


def test_same_token_with_other_text_is_refused(client, sw):
    token = uuid.uuid4().hex
    report(client, token=token)
    response = report(client, token=token, content="另一件完全不同的事情")
    assert response.status_code == 400
    assert "已提交过" in response.content.decode()
    assert WorkOrder.objects.count() == 1


def test_missing_description_and_bad_upload_are_form_errors(client, sw):
    empty = report(client, content="")
    assert empty.status_code == 400
    assert "请描述您发现的隐患" in empty.content.decode()
    fake = SimpleUploadedFile("p.jpg", b"MZ\x90\x00 not an image", content_type="image/jpeg")
    bad = report(client, photos=[fake])
    assert bad.status_code == 400
    assert "不是有效的 JPEG、PNG 或 WebP 图片" in bad.content.decode()
    phone = report(client, reporter_phone="12")
    assert phone.status_code == 400
    assert not WorkOrder.objects.exists()


def test_oversized_request_is_refused_before_parsing(client, sw):
    response = client.post(url(), {"content": "x" * 10}, CONTENT_LENGTH=str(40 * 1024 * 1024))
    assert response.status_code == 413
    assert "上传内容过大" in response.content.decode()
    assert not WorkOrder.objects.exists()


def test_reports_are_rate_limited_per_address(client, sw, settings):
    settings.SPACES_REPORTS_PER_CLIENT = 2
    assert report(client).status_code == 302
    assert report(client).status_code == 302
    third = report(client)
    assert third.status_code == 429
    assert "提交过于频繁" in third.content.decode()
    assert WorkOrder.objects.count() == 2


def test_staff_see_the_reports_and_their_status_on_the_space(client, sw):
    report(client)
    order = WorkOrder.objects.get()
    client.force_login(sw.quyang_officer)
    page = client.get(reverse("spaces:detail", args=["HK-DX-0001"]))
    rows = page.context["reports"]
    assert [(r.report.order, r.visible) for r in rows] == [(order, True)]
    assert "已派单" in page.content.decode() or order.get_status_display() in page.content.decode()
    client.force_login(sw.ent_a)  # the using unit sees that a report exists, not the citizen's order
    rows = client.get(reverse("spaces:detail", args=["HK-DX-0001"])).context["reports"]
    assert [(r.report.order, r.visible) for r in rows] == [(order, False)]
