"""The staff journey of a phone appeal, in a real browser, from the call to the archive."""

from __future__ import annotations

from yiwang.workorders.models import WorkOrder
from yiwang.workorders.states import Status


def order_from(session) -> WorkOrder:
    """The order whose detail page the session is on."""
    pk = int(session.page.url.rstrip("/").split("/")[-1])
    return WorkOrder.objects.get(pk=pk)


def test_phone_appeal_from_call_to_archive(ui, world):
    # The operator registers the call.
    op = ui.login(world.operator)
    op.goto("/orders/new/", "intake")
    page = op.page
    page.fill("#id_title", "多伦路路面坑洼积水")
    page.fill("#id_content", "多伦路 100 号门前路面坑洼积水，行人易摔倒，请尽快修补。")
    page.select_option("#id_street", str(world.street_office.street_id))
    page.fill("#id_appellant_name", "王五")
    page.fill("#id_appellant_phone", "13700001234")
    with op.navigation("registered"):
        page.click("form.main-col button[type=submit]")
    order = order_from(op)
    assert order.status == Status.REGISTERED
    assert order.number in op.text("h1")

    # The dispatcher sends it to the street office.
    disp = ui.login(world.dispatcher)
    disp.goto(f"/orders/{order.pk}/", "order")
    disp.page.select_option("#action-dispatch select[name=lead_unit]", str(world.street_office.pk))
    with disp.navigation("dispatched"):
        disp.page.click("#action-dispatch button[type=submit]")
    order.refresh_from_db()
    assert order.status == Status.DISPATCHED and order.lead_unit == world.street_office

    # The street office signs for it and replies.
    unit = ui.login(world.handler)
    unit.goto(f"/orders/{order.pk}/", "order")
    with unit.navigation("signed"):
        unit.page.click("#action-sign button[type=submit]")
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
