"""The citizen's journey in a real browser: file an appeal with a photo on a phone, follow it, rate the answer."""

from __future__ import annotations

import io

from PIL import Image

from yiwang.workorders import services
from yiwang.workorders.models import FollowUp, WorkOrder
from yiwang.workorders.states import Status

from .conftest import Session

PHONE = {"width": 390, "height": 844}  # a common phone screen: the public pages are used on phones


def visitor(ui, who: str) -> Session:
    """A browser that is not signed in (a citizen), with its own cookies."""
    context = ui.browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai", is_mobile=True)
    session = Session(context, ui.base_url, ui.shots, who)
    ui.sessions.append(session)
    return session


def photo_file(folder) -> str:
    path = folder / "pothole.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (90, 90, 90)).save(buffer, format="JPEG")
    path.write_bytes(buffer.getvalue())
    return str(path)


def test_citizen_files_follows_and_rates(ui, world, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"

    # On the phone: file the appeal with a photo, no account.
    phone = visitor(ui, "citizen")
    phone.goto("/public/", "public-home")
    with phone.navigation("appeal-form"):
        phone.page.click("text=我要反映")
    page = phone.page
    page.fill("#id_title", "多伦路人行道地砖松动")
    page.fill("#id_content", "多伦路 120 号门前人行道地砖松动翘起，老人孩子容易绊倒，请尽快修复。")
    page.fill("#id_address", "多伦路120号")
    page.fill("#id_appellant_name", "陈女士")
    page.fill("#id_appellant_phone", "1391234")  # one digit short: the page says so, in Chinese
    page.set_input_files("#id_photos", photo_file(tmp_path))
    with phone.navigation("appeal-phone-error"):
        page.click("button[type=submit]")
    assert "请输入正确的手机号" in phone.text("#appellant_phone-errors")
    assert WorkOrder.objects.count() == 0
    page.fill("#id_appellant_phone", "13912345678")
    page.set_input_files("#id_photos", photo_file(tmp_path))  # a file input is empty again after a failed post
    with phone.navigation("receipt"):
        page.click("button[type=submit]")
    number, code = phone.text("#receipt-number").strip(), phone.text("#receipt-code").strip()
    order = WorkOrder.objects.get(number=number)
    assert order.channel == "web" and order.attachments.count() == 1

    # Later, on another device: follow it with the receipt number and the code.
    home = visitor(ui, "citizen-later")
    home.goto("/public/follow/", "follow")
    home.page.fill("#id_number", number)
    home.page.fill("#id_code", "WRONG234")
    with home.navigation("follow-wrong-code"):
        home.page.click("button[type=submit]")
    assert "查询码不正确" in home.text()
    home.page.fill("#id_code", code)
    with home.navigation("progress-registered"):
        home.page.click("button[type=submit]")
    assert home.text("#public-status") == "已受理，正在分派"

    # The hotline handles it (the staff pages are covered by the staff journey).
    services.dispatch(order, actor=world.dispatcher, lead_unit=world.street_office)
    services.sign(order, actor=world.handler)
    services.reply(order, actor=world.handler, text="已安排养护单位重新铺设地砖，现已修复。")
    services.review_reply(order, actor=world.dispatcher, approve=True)

    # The citizen sees the reply in plain words and rates it.
    home.goto(f"/public/follow/{number}/", "progress-replied")
    assert "已安排养护单位重新铺设地砖" in home.text("#reply")
    assert world.handler.display_name not in home.text()
    home.page.check("input[name=satisfaction][value=satisfied]")
    home.page.check("input[name=resolved][value=yes]")
    home.page.fill("#id_note", "修得很快，谢谢！")
    with home.navigation("rated"):
        home.page.click("#rating-form button[type=submit]")
    assert "感谢您的评价" in home.text() and home.text("#public-status") == "已办结"
    order.refresh_from_db()
    assert (order.status, order.satisfaction, order.resolved) == (Status.ARCHIVED, "satisfied", True)
    assert FollowUp.objects.get(order=order).note == "修得很快，谢谢！"

    # Staff see the photo on the order page (it has no public address).
    staff = ui.login(world.dispatcher)
    staff.goto(f"/orders/{order.pk}/", "staff-order-with-photo")
    width = staff.page.evaluate("() => document.querySelector('.attachments img').naturalWidth")
    assert width == 320
