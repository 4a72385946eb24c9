"""The staff journey of a phone appeal, in a real browser, from the call to the archive."""

from __future__ import annotations

import time

from yiwang.demo import factories
from yiwang.workorders.models import WorkOrder
from yiwang.workorders.states import Status

ROADS = "城乡建设/城市建设和市政管理"  # routed to the street office of the appeal's street


def order_from(session) -> WorkOrder:
    """The order whose detail page the session is on."""
    pk = int(session.page.url.rstrip("/").split("/")[-1])
    return WorkOrder.objects.get(pk=pk)


def choose(page, select_id: str, value: str) -> None:
    """Pick an option of the focused <select> with the arrow keys, as a keyboard user does."""
    steps = page.evaluate(
        "([id, value]) => { const s = document.getElementById(id);"
        " return [...s.options].findIndex(o => o.value === value) - s.selectedIndex; }",
        [select_id, value])
    assert page.evaluate("() => document.activeElement.id") == select_id
    for _ in range(abs(steps)):
        page.keyboard.press("ArrowDown" if steps > 0 else "ArrowUp")
    assert page.input_value(f"#{select_id}") == value


def test_phone_appeal_from_call_to_archive(ui, world):
    earlier = factories.make_order(world.operator, appellant_phone="13700001234", title="上次来电：楼道堆物")
    category, street = factories.category(ROADS), factories.street("曲阳路")

    # The operator registers the call with the keyboard alone.
    op = ui.login(world.operator)
    op.goto("/orders/new/", "intake")
    page, keys = op.page, op.page.keyboard
    started = time.monotonic()
    assert page.evaluate("() => document.activeElement.id") == "id_appellant_phone"  # autofocus
    keys.type("13700001234")
    page.wait_for_selector(f"#caller-history .history a:text('{earlier.number}')")  # history while typing
    keys.press("Tab"), keys.type("王五")
    keys.press("Tab"), keys.type("多伦路路面坑洼积水")
    keys.press("Tab"), keys.type("多伦路 100 号门前路面坑洼积水，行人易摔倒，请尽快修补。")
    keys.press("Tab"), keys.press("Tab")  # 诉求类型 (求助) and 紧急程度 (一般) keep their defaults
    keys.press("Tab"), choose(page, "id_category", str(category.pk))
    keys.press("Tab"), choose(page, "id_street", str(street.pk))
    keys.press("Tab"), keys.press("Tab"), keys.type("多伦路100号")  # past 居委 to the address
    op.shoot("intake-filled")
    with op.navigation("registered"):
        keys.press("Control+Enter")
    seconds = time.monotonic() - started
    order = order_from(op)
    assert order.status == Status.REGISTERED and seconds < 60
    assert (order.appellant_phone, order.appellant_name, order.category, order.street, order.address) == (
        "13700001234", "王五", category, street, "多伦路100号")

    # The dispatcher clears the queue without opening the order: the rules propose the street office.
    disp = ui.login(world.dispatcher)
    disp.goto("/queue/", "queue")
    row = disp.page.locator("tr", has=disp.page.locator(f"a:text('{order.number}')"))
    assert world.street_office.name in row.locator("td.suggestion").inner_text()
    row.locator("input[name=orders]").check()
    with disp.navigation("queue-dispatched"):
        disp.page.click("#dispatch-checked")
    assert "已派单 1 件" in disp.text(".messages") and order.number not in disp.text("table.queue")
    order.refresh_from_db()
    assert order.status == Status.DISPATCHED and order.lead_unit == world.street_office

    # The street office signs for it from its inbox, then replies on the order's page.
    unit = ui.login(world.handler)
    unit.goto("/inbox/", "inbox")
    unit.page.locator("tr", has=unit.page.locator(f"a:text('{order.number}')")).locator("input[name=orders]").check()
    with unit.navigation("inbox-signed"):
        unit.page.click("#sign-checked")
    assert "已签收 1 件" in unit.text(".messages")
    with unit.navigation("order"):
        unit.page.click(f"a:text('{order.number}')")
    unit.page.fill("#action-reply textarea[name=text]", "已安排养护单位于当日修补路面并清理积水。")
    with unit.navigation("replied"):
        unit.page.click("#action-reply button[type=submit]")
    order.refresh_from_db()
    assert order.status == Status.REPLIED

    # The dispatcher approves the reply; the operator calls back; the order is archived.
    disp.goto(f"/orders/{order.pk}/", "order-replied")
    with disp.navigation("reviewed"):
        disp.page.click("#action-review button[value=approve]")
    op.goto(f"/orders/{order.pk}/", "order-follow-up")
    op.page.check("#action-follow-up input[name=satisfaction][value=satisfied]")
    op.page.check("#action-follow-up input[name=resolved][value='1']")
    with op.navigation("archived"):
        op.page.click("#action-follow-up button[type=submit]")
    order.refresh_from_db()
    assert order.status == Status.ARCHIVED and order.satisfaction == "satisfied"
    assert "已归档" in op.text("h1")


def test_consultation_answered_directly_by_keyboard(ui, world):
    op = ui.login(world.operator)
    op.goto("/orders/new/", "intake")
    page, keys = op.page, op.page.keyboard
    keys.type("13900002222")
    keys.press("Tab"), keys.type("赵六")
    keys.press("Tab"), keys.type("咨询居住证办理地点")
    keys.press("Tab"), keys.type("想了解虹口区居住证在哪里办理。")
    keys.press("Tab"), choose(page, "id_appeal_type", "consultation")
    keys.press("Alt+z")  # straight to 直办答复
    assert page.evaluate("() => document.activeElement.id") == "id_direct_answer"
    keys.type("可到所在街道社区事务受理服务中心办理，工作日 9:00-17:00。")
    with op.navigation("answered"):
        keys.press("Control+Enter")
    order = order_from(op)
    assert order.status == Status.ARCHIVED and order.direct_answer
    assert "已归档" in op.text("h1")


def test_repeat_call_linked_from_the_intake_panel_by_keyboard(ui, world):
    earlier = factories.make_order(world.operator, appellant_phone="13700005678", title="四平路地铁站出口路灯不亮")
    op = ui.login(world.operator)
    op.goto("/orders/new/", "intake")
    page, keys = op.page, op.page.keyboard
    keys.type("13700005678")
    keys.press("Tab"), keys.type("钱七")
    keys.press("Tab"), keys.type("四平路地铁站出口路灯还是不亮")
    keys.press("Tab"), keys.type("上周反映过，四平路地铁站出口的路灯仍然不亮。")
    # The 疑似重复 panel lists the earlier order; Alt+R reaches its 关联 button, Enter registers and links.
    page.wait_for_selector(f"#similar-orders button[value='link:{earlier.number}']")
    op.shoot("intake-similar")
    keys.press("Alt+r")
    assert page.evaluate("() => document.activeElement.value") == f"link:{earlier.number}"
    with op.navigation("linked"):
        keys.press("Enter")
    order = order_from(op)
    earlier.refresh_from_db()
    assert (order.master, order.status, earlier.repeat_count) == (earlier, Status.REGISTERED, 1)
    assert earlier.number in op.text("#repeat-of")
