"""The public pages end to end with the test client: file, receipt, follow, rate; and every way to get it wrong."""

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from yiwang.citizen import services as citizen
from yiwang.citizen.models import Receipt
from yiwang.core.models import AuditEntry
from yiwang.workorders import services
from yiwang.workorders.models import Attachment, Channel, Event, FollowUp, WorkOrder
from yiwang.workorders.states import Status

from .conftest import image_bytes

pytestmark = pytest.mark.django_db


def photo(name="scene.jpg", fmt="JPEG", content_type="image/jpeg", **kw):
    return SimpleUploadedFile(name, image_bytes(fmt, **kw), content_type=content_type)


def appeal_data(client: Client, **overrides) -> dict:
    token = client.get("/public/appeal/").context["form"].initial["form_token"]
    data = {"title": "多伦路路面坑洼", "content": "多伦路 100 号门前路面坑洼积水，行人容易摔倒，请尽快修复。",
            "appeal_type": "request", "category": "", "street": "", "address": "多伦路100号",
            "appellant_name": "王小明", "appellant_phone": "13912345678", "form_token": token}
    data.update(overrides)
    return data


def file_appeal(client: Client | None = None, **overrides):
    """File an appeal through the page; returns (client, order, code)."""
    client = client or Client()
    response = client.post("/public/appeal/", appeal_data(client, **overrides))
    assert response.status_code == 302, response.content.decode()[:2000]
    page = client.get(response["Location"])
    number, code = page.context["number"], page.context["code"]
    return client, WorkOrder.objects.get(number=number), code


def to_follow_up(order, world):
    services.dispatch(order, actor=world.dispatcher, lead_unit=world.street_office)
    services.sign(order, actor=world.handler)
    services.record_progress(order, actor=world.handler, note="已联系养护公司，承办人张工电话 13800000000")
    services.reply(order, actor=world.handler, text="经现场核实，路面已于本周修补完毕。")
    services.review_reply(order, actor=world.dispatcher, approve=True)


# --- filing -----------------------------------------------------------------------------

def test_form_is_public_and_in_chinese(world):
    response = Client().get("/public/appeal/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "我要反映" in body and "联系电话" in body and 'name="form_token"' in body
    assert 'enctype="multipart/form-data"' in body


def test_filing_registers_a_web_order_with_receipt_and_private_photos(world, private_media):
    client = Client()
    data = appeal_data(client, street=str(world.street_office.street.pk) if getattr(world.street_office, "street", None) else "")
    data["photos"] = [photo(exif=True), photo("p.png", "PNG", "image/png")]
    response = client.post("/public/appeal/", data)
    assert response.status_code == 302 and response["Location"] == "/public/receipt/"

    order = WorkOrder.objects.get()
    assert order.channel == Channel.WEB and order.status == Status.REGISTERED
    assert order.registered_by.username == citizen.PORTAL_USERNAME
    assert (order.appellant_name, order.appellant_phone, order.address) == ("王小明", "13912345678", "多伦路100号")
    assert list(Event.objects.filter(order=order).values_list("action", flat=True)) == ["register"]

    page = client.get("/public/receipt/")
    assert page.status_code == 200
    code = page.context["code"]
    assert re.fullmatch(f"[{citizen.CODE_ALPHABET}]{{{citizen.CODE_LENGTH}}}", code)
    assert order.number in page.content.decode() and code in page.content.decode()
    receipt = Receipt.objects.get(order=order)
    assert code not in receipt.code_hash and receipt.code_hash == citizen.hash_code(order, code)

    attachments = list(Attachment.objects.filter(order=order))
    assert [a.content_type for a in attachments] == ["image/jpeg", "image/png"]
    for a in attachments:
        path = private_media / a.file.name
        assert path.is_file() and path.stat().st_size == a.size
        assert "scene" not in a.file.name and re.search(r"/[0-9a-f]{32}\.(jpg|png)$", a.file.name)
        with Image.open(path) as stored:
            assert (stored.width, stored.height) == (64, 48)
            assert dict(stored.getexif()) == {}  # EXIF (maker, GPS) dropped by re-encoding
        with pytest.raises(ValueError):
            a.file.url  # no public URL exists


def test_receipt_code_is_shown_once(world):
    client = Client()
    client.post("/public/appeal/", appeal_data(client))
    assert client.get("/public/receipt/").status_code == 200
    again = client.get("/public/receipt/")
    assert again.status_code == 302 and again["Location"] == "/public/follow/"


def test_double_submit_creates_one_order_and_keeps_the_code(world):
    client = Client()
    data = appeal_data(client)
    first = client.post("/public/appeal/", data)
    second = client.post("/public/appeal/", data)
    assert first.status_code == second.status_code == 302
    assert WorkOrder.objects.count() == 1 and Receipt.objects.count() == 1
    page = client.get("/public/receipt/")
    order = WorkOrder.objects.get()
    assert page.context["code"] and citizen.hash_code(order, page.context["code"]) == order.citizen_receipt.code_hash


def test_same_token_from_another_browser_gets_no_code(world):
    first = Client()
    data = appeal_data(first)
    first.post("/public/appeal/", data)
    other = Client()
    response = other.post("/public/appeal/", data)
    assert response.status_code == 302
    page = other.get("/public/receipt/")
    assert page.context["code"] is None and "此前已经提交过" in page.content.decode()
    assert WorkOrder.objects.count() == 1


def test_reused_token_with_other_content_is_refused(world):
    client = Client()
    data = appeal_data(client)
    client.post("/public/appeal/", data)
    response = client.post("/public/appeal/", {**data, "title": "另一件事", "content": "完全不同的另一件事情的内容描述"})
    assert response.status_code == 400
    assert "已提交过一条不同的诉求" in response.content.decode()
    assert WorkOrder.objects.count() == 1


@pytest.mark.parametrize("field, value, message", [
    ("appellant_phone", "", "请填写此项"),
    ("appellant_phone", "12345", "请输入正确的手机号"),
    ("appellant_phone", "1391234567a", "请输入正确的手机号"),
    ("title", "", "请填写此项"),
    ("content", "太短", "至少"),
    ("address", "", "请填写此项"),
    ("appellant_name", "", "请填写此项"),
    ("category", "999999", "选择一个有效的选项"),
    ("street", "999999", "选择一个有效的选项"),
    ("form_token", "not-a-token", "表单已失效"),
])
def test_bad_fields_get_chinese_messages_and_write_nothing(world, field, value, message, private_media):
    client = Client()
    response = client.post("/public/appeal/", appeal_data(client, **{field: value}))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field])
    assert WorkOrder.objects.count() == 0 and Receipt.objects.count() == 0


def test_phone_formats_accepted(world):
    for phone in ("13912345678", "021-65001234", "02165001234", "65001234", "139 1234 5678"):
        client = Client()
        response = client.post("/public/appeal/", appeal_data(client, appellant_phone=phone))
        assert response.status_code == 302, phone
    assert WorkOrder.objects.filter(appellant_phone="13912345678").count() == 2  # spaces dropped


@pytest.mark.parametrize("upload, message", [
    (SimpleUploadedFile("fake.jpg", b"<?php echo 'hi'; ?>" * 10, content_type="image/jpeg"), "不是有效的"),
    (SimpleUploadedFile("doc.pdf", b"%PDF-1.4\n" + b"0" * 100, content_type="application/pdf"), "不是有效的"),
    (SimpleUploadedFile("anim.gif", image_bytes("GIF"), content_type="image/gif"), "格式不支持"),
    (SimpleUploadedFile("cut.jpg", image_bytes("JPEG", size=(400, 400))[:300], content_type="image/jpeg"), "不是有效的"),
    (SimpleUploadedFile("big.jpg", b"\xff\xd8\xff" + b"\0" * (5 * 1024 * 1024), content_type="image/jpeg"), "超过 5 MB"),
])
def test_bad_photos_are_refused_and_nothing_is_written(world, upload, message, private_media):
    client = Client()
    data = appeal_data(client)
    data["photos"] = [photo(), upload]
    response = client.post("/public/appeal/", data)
    assert response.status_code == 400
    text = " ".join(response.context["form"].errors["photos"])
    assert message in text and upload.name in text
    assert WorkOrder.objects.count() == 0 and Attachment.objects.count() == 0
    assert not private_media.exists() or not any(p.is_file() for p in private_media.rglob("*"))


def test_more_than_six_photos_refused(world):
    client = Client()
    data = appeal_data(client)
    data["photos"] = [photo(f"p{i}.jpg") for i in range(7)]
    response = client.post("/public/appeal/", data)
    assert response.status_code == 400
    assert "最多上传 6 张照片" in " ".join(response.context["form"].errors["photos"])
    assert WorkOrder.objects.count() == 0


def test_decompression_bomb_refused(world, monkeypatch):
    from yiwang.citizen import photos as photo_module

    monkeypatch.setattr(photo_module, "MAX_PIXELS", 100)  # a 64×48 image stands in for a 50,000² one
    client = Client()
    data = appeal_data(client)
    data["photos"] = [photo()]
    response = client.post("/public/appeal/", data)
    assert response.status_code == 400 and "像素过大" in " ".join(response.context["form"].errors["photos"])


def test_oversized_request_refused_before_parsing(world):
    client = Client()
    response = client.post("/public/appeal/", appeal_data(client), CONTENT_LENGTH=str(64 * 1024 * 1024))
    assert response.status_code == 413
    assert WorkOrder.objects.count() == 0


def test_order_and_photos_are_all_or_nothing(world, settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the photo folder should be")
    settings.PRIVATE_MEDIA_ROOT = blocker  # saving the photo fails after the order row was written
    client = Client()
    data = appeal_data(client)
    data["photos"] = [photo()]
    with pytest.raises(OSError):
        client.post("/public/appeal/", data)
    assert WorkOrder.objects.count() == 0 and Receipt.objects.count() == 0 and Event.objects.count() == 0


# --- following --------------------------------------------------------------------------

def test_follow_with_number_and_code_shows_plain_progress(world):
    _, order, code = file_appeal()
    to_follow_up(order, world)
    stranger = Client()
    response = stranger.post("/public/follow/", {"number": order.number, "code": code.lower()})
    assert response.status_code == 302 and response["Location"] == f"/public/follow/{order.number}/"
    page = stranger.get(response["Location"])
    body = page.content.decode()
    assert page.status_code == 200
    assert [s.text for s in page.context["steps"]] == [
        "诉求已受理", f"已转交{world.street_office.name}办理", "承办单位已签收，正在办理",
        "承办单位已答复，热线正在审核答复", "答复已通过审核，请查看答复并评价",
    ]
    assert "经现场核实，路面已于本周修补完毕。" in body
    # No staff names, no internal notes, no clear phone number.
    for secret in ("张工", "13800000000", world.handler.display_name, world.dispatcher.display_name,
                   "13912345678", "web-portal", "市民网上诉求"):
        assert secret not in body
    assert "王**" in body and "139****5678" in body


def test_reply_is_hidden_until_reviewed(world):
    client, order, code = file_appeal()
    services.dispatch(order, actor=world.dispatcher, lead_unit=world.street_office)
    services.sign(order, actor=world.handler)
    services.reply(order, actor=world.handler, text="草稿答复，尚未审核")
    page = client.get(f"/public/follow/{order.number}/")
    assert page.context["status"] == "承办单位已答复，答复审核中"
    assert "草稿答复" not in page.content.decode() and not page.context["can_rate"]


def test_wrong_code_and_unknown_number(world):
    _, order, code = file_appeal()
    client = Client()
    wrong = client.post("/public/follow/", {"number": order.number, "code": "AAAAAAAA"})
    assert wrong.status_code == 400
    assert "查询码不正确，还可尝试 4 次" in " ".join(wrong.context["form"].errors["code"])
    unknown = client.post("/public/follow/", {"number": "HK20990101999999", "code": code})
    assert unknown.status_code == 400
    assert "未找到该受理编号" in " ".join(unknown.context["form"].errors["number"])
    empty = client.post("/public/follow/", {"number": "", "code": ""})
    assert empty.status_code == 400 and "请填写此项" in empty.context["form"].errors["number"]
    # Without the code the progress page is not shown, whatever the URL.
    peek = client.get(f"/public/follow/{order.number}/")
    assert peek.status_code == 302 and peek["Location"].startswith("/public/follow/?number=")


def test_five_wrong_codes_lock_the_number_even_for_the_right_code(world):
    _, order, code = file_appeal()
    attacker = Client()
    for _ in range(citizen.MAX_FAILURES - 1):
        assert attacker.post("/public/follow/", {"number": order.number, "code": "WRONG234"}).status_code == 400
    fifth = attacker.post("/public/follow/", {"number": order.number, "code": "WRONG234"})
    assert fifth.status_code == 429
    owner = Client(REMOTE_ADDR="10.0.0.9")
    locked = owner.post("/public/follow/", {"number": order.number, "code": code})
    assert locked.status_code == 429 and "错误次数过多" in locked.content.decode()
    # After the window the right code works again and the counter is reset.
    Receipt.objects.filter(order=order).update(first_failed_at=order.created_at - citizen.FAILURE_WINDOW)
    assert owner.post("/public/follow/", {"number": order.number, "code": code}).status_code == 302
    assert Receipt.objects.get(order=order).failed_attempts == 0


def test_walking_numbers_from_one_address_is_locked(world):
    _, order, code = file_appeal()
    walker = Client(REMOTE_ADDR="10.1.1.1")
    for i in range(citizen.MAX_FAILURES_PER_CLIENT):
        walker.post("/public/follow/", {"number": f"HK20260101{i:06d}", "code": "ABCDEFGH"})
    blocked = walker.post("/public/follow/", {"number": order.number, "code": code})
    assert blocked.status_code == 429
    assert Client(REMOTE_ADDR="10.2.2.2").post("/public/follow/", {"number": order.number, "code": code}).status_code == 302


def test_access_to_one_order_does_not_open_another(world):
    client, mine, _ = file_appeal()
    _, theirs, _ = file_appeal(appellant_name="赵六", appellant_phone="13700001111")
    assert client.get(f"/public/follow/{mine.number}/").status_code == 200
    assert client.get(f"/public/follow/{theirs.number}/").status_code == 302
    assert client.post(f"/public/follow/{theirs.number}/rate/", {"satisfaction": "satisfied", "resolved": "yes"}).status_code == 302
    assert not FollowUp.objects.filter(order=theirs).exists()


# --- rating ----------------------------------------------------------------------------

def test_satisfied_rating_is_the_follow_up_and_closes_the_order(world):
    client, order, _ = file_appeal()
    to_follow_up(order, world)
    page = client.get(f"/public/follow/{order.number}/")
    assert page.context["can_rate"] and 'id="rating-form"' in page.content.decode()
    response = client.post(f"/public/follow/{order.number}/rate/",
                           {"satisfaction": "satisfied", "resolved": "yes", "note": "修得很快，谢谢"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.satisfaction, order.resolved) == (Status.ARCHIVED, "satisfied", True)
    assert order.closed_at is not None
    record = FollowUp.objects.get(order=order)
    assert (record.round, record.note, record.by.username) == (1, "修得很快，谢谢", citizen.PORTAL_USERNAME)
    event = Event.objects.filter(order=order).last()
    assert (event.action, event.to_status, event.data["source"]) == ("follow_up", Status.ARCHIVED, "appellant")
    page = client.get(f"/public/follow/{order.number}/")
    assert page.context["status"] == "已办结" and not page.context["can_rate"]
    assert "您的评价：满意，已办结" in [s.text for s in page.context["steps"]]
    # Once only.
    again = client.post(f"/public/follow/{order.number}/rate/", {"satisfaction": "dissatisfied", "resolved": "no"})
    assert again.status_code == 302 and FollowUp.objects.filter(order=order).count() == 1
    order.refresh_from_db()
    assert order.satisfaction == "satisfied"


def test_dissatisfied_keeps_it_open_for_reopen_and_a_new_round_can_be_rated(world):
    client, order, _ = file_appeal()
    to_follow_up(order, world)
    client.post(f"/public/follow/{order.number}/rate/", {"satisfaction": "dissatisfied", "resolved": "no", "note": "没修好"})
    order.refresh_from_db()
    assert (order.status, order.satisfaction, order.resolved) == (Status.FOLLOW_UP, "dissatisfied", False)
    page = client.get(f"/public/follow/{order.number}/")
    assert page.context["status"] == "已评价，等待热线处理" and not page.context["can_rate"]
    # The supervisor's queue sees it, and reopening works as after a dissatisfied call.
    services.reopen(order, actor=world.supervisor, reason="市民评价不满意")
    services.sign(order, actor=world.handler)
    services.reply(order, actor=world.handler, text="已重新修补并拍照存档。")
    services.review_reply(order, actor=world.dispatcher, approve=True)
    assert client.get(f"/public/follow/{order.number}/").context["can_rate"]
    client.post(f"/public/follow/{order.number}/rate/", {"satisfaction": "basically", "resolved": "yes"})
    order.refresh_from_db()
    assert (order.status, order.satisfaction) == (Status.ARCHIVED, "basically")
    assert list(FollowUp.objects.filter(order=order).values_list("round", "satisfaction")) == [
        (1, "dissatisfied"), (2, "basically")]


def test_rating_before_the_reply_is_refused(world):
    client, order, _ = file_appeal()
    page = client.get(f"/public/follow/{order.number}/")
    assert not page.context["can_rate"] and 'id="rating-form"' not in page.content.decode()
    response = client.post(f"/public/follow/{order.number}/rate/", {"satisfaction": "satisfied", "resolved": "yes"})
    assert response.status_code == 302
    messages = [str(m) for m in client.get(response["Location"]).context["messages"]]
    assert any("不能评价" in m for m in messages)
    assert not FollowUp.objects.exists()


def test_rating_form_errors(world):
    client, order, _ = file_appeal()
    to_follow_up(order, world)
    response = client.post(f"/public/follow/{order.number}/rate/", {"satisfaction": "great", "note": "x" * 501})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "satisfaction" in errors and errors["resolved"] == ["请选择问题是否已解决"] and "note" in errors
    assert not FollowUp.objects.exists()


def test_call_follow_up_after_rating_is_seen_by_the_citizen(world):
    client, order, _ = file_appeal()
    to_follow_up(order, world)
    services.follow_up(order, actor=world.operator, satisfaction="satisfied", resolved=True, note="电话回访")
    page = client.get(f"/public/follow/{order.number}/")
    assert not page.context["can_rate"] and "回访结果：满意，已办结" in [s.text for s in page.context["steps"]]


# --- staff see the photos -----------------------------------------------------------------

def _order_with_photo(world):
    client = Client()
    data = appeal_data(client)
    data["photos"] = [photo()]
    client.post("/public/appeal/", data)
    order = WorkOrder.objects.get()
    return order, order.attachments.get()


def staff(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_staff_with_access_see_photos_and_it_is_audited(world):
    order, item = _order_with_photo(world)
    response = staff(world.dispatcher).get(f"/attachments/{item.pk}/")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff" and "no-store" in response["Cache-Control"]
    with Image.open(io.BytesIO(b"".join(response.streaming_content))) as shown:
        assert shown.format == "JPEG"
    entry = AuditEntry.objects.get(action=AuditEntry.Action.VIEW_PERSONAL_DATA, object_type="workorders.attachment")
    assert (entry.actor, entry.object_id) == (world.dispatcher, str(item.pk))


def test_photos_follow_order_visibility(world):
    order, item = _order_with_photo(world)
    assert staff(world.handler).get(f"/attachments/{item.pk}/").status_code == 404  # not dispatched to them yet
    services.dispatch(order, actor=world.dispatcher, lead_unit=world.street_office)
    assert staff(world.handler).get(f"/attachments/{item.pk}/").status_code == 200
    assert staff(world.outsider).get(f"/attachments/{item.pk}/").status_code == 404
    assert staff(world.citizen).get(f"/attachments/{item.pk}/").status_code == 404
    anonymous = Client().get(f"/attachments/{item.pk}/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert staff(world.dispatcher).get("/attachments/999999/").status_code == 404


def test_photos_are_not_under_static_or_any_public_url(world, settings):
    order, item = _order_with_photo(world)
    assert not str(item.file.path).startswith(str(settings.STATIC_ROOT))
    assert Client().get(f"/static/{item.file.name}").status_code == 404
    assert Client().get(f"/public/{item.file.name}").status_code == 404


# --- the rating service's own checks -------------------------------------------------------

def test_only_the_appellants_channel_may_rate(world, make_order):
    from yiwang.core.errors import Forbidden

    order = make_order()
    to_follow_up(order, world)
    with pytest.raises(Forbidden):
        services.rate_by_appellant(order, actor=world.operator, satisfaction="satisfied", resolved=True)
    with pytest.raises(Forbidden):  # a system account that did not file it
        services.rate_by_appellant(order, actor=world.system, satisfaction="satisfied", resolved=True)
    assert not FollowUp.objects.filter(order=order).exists()


def test_order_page_shows_the_gallery_to_staff(world):
    order, item = _order_with_photo(world)
    body = staff(world.dispatcher).get(f"/orders/{order.pk}/").content.decode()
    assert "现场照片（1）" in body and f'src="/attachments/{item.pk}/"' in body
    _, other, _ = file_appeal(appellant_phone="13700002222")
    assert "现场照片" not in staff(world.dispatcher).get(f"/orders/{other.pk}/").content.decode()
