"""The working pages: dispatcher queue, unit inbox, filters in the URL, keyboard intake."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from yiwang.demo import factories
from yiwang.org.routing import route_for
from yiwang.workorders import selectors, services
from yiwang.workorders.models import Assignment, Event, WorkOrder
from yiwang.workorders.states import Status

pytestmark = pytest.mark.django_db

ROADS = "城乡建设/城市建设和市政管理"  # routed to the street office of the appeal's street
POLLUTION = "环境保护/环境污染"  # the environment bureau, with the street office as co-unit
TAXI = "交通运输/出租车管理"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def status_of(order) -> str:
    return WorkOrder.objects.values_list("status", flat=True).get(pk=order.pk)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- suggestions ------------------------------------------------------------------

def test_suggested_routes_match_route_for_in_constant_queries(world, make_order, django_assert_max_num_queries):
    orders = [
        make_order(category=factories.category(ROADS), street=factories.street("曲阳路")),
        make_order(category=factories.category(ROADS), street=factories.street("北外滩")),
        make_order(category=factories.category(POLLUTION), street=factories.street("嘉兴路")),
        make_order(category=factories.category(POLLUTION), street=None),
        make_order(category=factories.category(TAXI), street=factories.street("江湾镇")),
        make_order(category=factories.category("民政/基层选举和社区建设"), street=factories.street("广中路")),
        make_order(category=None, street=factories.street("欧阳路")),
    ]
    page = list(selectors.dispatch_queue(world.dispatcher))
    with django_assert_max_num_queries(4):
        routes = selectors.suggested_routes(page)
    for order in orders:
        expected = route_for(order.category, order.street)
        got = routes[order.pk]
        assert (got.lead_unit, got.co_units, got.rule) == (expected.lead_unit, expected.co_units, expected.rule)
    assert routes[orders[0].pk].lead_unit == world.street_office
    assert routes[orders[-1].pk].lead_unit is None


# --- the dispatcher's queue ----------------------------------------------------------

def test_queue_lists_orders_awaiting_dispatch_with_the_suggested_unit(world, make_order):
    waiting = make_order(title="曲阳路路灯不亮")
    sent = make_order(title="已派出的工单")
    services.dispatch(sent, actor=world.dispatcher, lead_unit=world.other_unit)
    response = client_for(world.dispatcher).get("/queue/")
    assert response.status_code == 200
    assert [(o.pk, r.lead_unit) for o, r in response.context["rows"]] == [(waiting.pk, world.street_office)]
    html = response.content.decode()
    assert "曲阳路路灯不亮" in html and "已派出的工单" not in html
    assert f'按建议（{world.street_office.name}）' in html
    assert "workorders/_queue_suggestion.html" in [t.name for t in response.templates]


def test_queue_is_for_dispatchers_only(world):
    for user in (world.operator, world.handler, world.supervisor, world.citizen):
        assert client_for(user).get("/queue/").status_code == 403
        assert client_for(user).post("/queue/", {"orders": ["1"]}).status_code == 403


def test_bulk_dispatch_follows_suggestions_or_the_picked_unit_and_reports_each_failure(world, make_order):
    suggested = make_order(category=factories.category(POLLUTION))  # 生态环境局 + street office as co-unit
    picked = make_order()
    unroutable = make_order(category=None)
    client = client_for(world.dispatcher)
    response = client.post("/queue/", {
        "orders": [suggested.pk, picked.pk, unroutable.pk], f"unit-{picked.pk}": world.other_unit.pk,
        "query": "street=310109010",
    })
    assert response.status_code == 302 and response["Location"] == "/queue/?street=310109010"

    suggested.refresh_from_db(), picked.refresh_from_db()
    expected = route_for(suggested.category, suggested.street)
    assert suggested.status == Status.DISPATCHED and suggested.lead_unit == expected.lead_unit
    assert set(Assignment.objects.filter(order=suggested, role="co").values_list("unit", flat=True)) == {
        u.pk for u in expected.co_units}
    assert picked.status == Status.DISPATCHED and picked.lead_unit == world.other_unit
    assert not Assignment.objects.filter(order=picked, role="co").exists()
    # The order without a route is untouched: no assignment, no event beyond its registration.
    assert status_of(unroutable) == Status.REGISTERED
    assert not Assignment.objects.filter(order=unroutable).exists()
    assert list(Event.objects.filter(order=unroutable).values_list("action", flat=True)) == ["register"]

    page = client.get("/queue/?street=310109010")
    notes = messages_of(page)
    assert any(n.startswith("已派单 2 件") for n in notes)
    assert f"{unroutable.number}：没有适用的派单规则，请指定主办单位" in notes
    assert [o.pk for o, _ in page.context["rows"]] == [unroutable.pk]


def test_bulk_dispatch_with_nothing_done_is_400_with_the_reasons(world, make_order):
    client = client_for(world.dispatcher)
    empty = client.post("/queue/", {})
    assert empty.status_code == 400 and "请至少勾选一件工单" in messages_of(empty)

    order = make_order()
    bad_unit = client.post("/queue/", {"orders": [order.pk], f"unit-{order.pk}": "999999"})
    assert bad_unit.status_code == 400
    assert f"{order.number}：所选主办单位不存在或已停用，未派单" in messages_of(bad_unit)
    services.dispatch(order, actor=world.dispatcher)
    again = client.post("/queue/", {"orders": [order.pk]})
    assert again.status_code == 400 and f"工单（ID {order.pk}）已不在待派单队列，未派单" in messages_of(again)
    junk = client.post("/queue/", {"orders": ["abc"]})
    assert junk.status_code == 400 and "勾选的工单编号无效" in messages_of(junk)


def test_queue_query_count_does_not_grow_with_rows(world, make_order, django_assert_max_num_queries):
    client = client_for(world.dispatcher)
    make_order(category=factories.category(ROADS))
    with django_assert_max_num_queries(16) as few:
        client.get("/queue/")
    for i in range(10):
        make_order(category=factories.category(POLLUTION if i % 2 else TAXI),
                   street=factories.street("北外滩" if i % 3 else "江湾镇"))
    with django_assert_max_num_queries(16) as many:
        assert len(client.get("/queue/").context["rows"]) == 11
    assert len(many.captured_queries) == len(few.captured_queries)


# --- the unit's inbox --------------------------------------------------------------

def _due(order, when):
    # The deadline is computed from the calendar at dispatch; the test places it where it needs it.
    WorkOrder.objects.filter(pk=order.pk).update(handle_deadline=when)


def test_inbox_shows_overdue_then_due_today_then_the_rest_by_deadline(world, make_order):
    now = timezone.now()
    orders = {}
    for name in ("later", "soon", "overdue", "today", "other_unit"):
        orders[name] = make_order(title=name)
        lead = world.other_unit if name == "other_unit" else world.street_office
        services.dispatch(orders[name], actor=world.dispatcher, lead_unit=lead)
    local_midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    _due(orders["overdue"], now - dt.timedelta(hours=2))
    _due(orders["today"], max(now + dt.timedelta(minutes=1), local_midnight + dt.timedelta(hours=23, minutes=59)))
    _due(orders["soon"], local_midnight + dt.timedelta(days=2))
    _due(orders["later"], local_midnight + dt.timedelta(days=9))
    services.sign(orders["soon"], actor=world.handler)

    response = client_for(world.handler).get("/inbox/")
    rows = list(response.context["orders"])
    assert [o.title for o in rows] == ["overdue", "today", "soon", "later"]
    assert [o.due_rank for o in rows] == [0, 1, 2, 2]
    assert [o.to_sign for o in rows] == [True, True, False, True]
    html = response.content.decode()
    assert "已超期" in html and "今日到期" in html
    # The co-unit sees the order too, marked as co-handling.
    services.dispatch(factories.make_order(world.operator), actor=world.dispatcher, lead_unit=world.street_office,
                      co_units=[world.jgw])
    co_rows = client_for(world.co_handler).get("/inbox/").context["orders"]
    assert len(co_rows) == 1 and "协办" in client_for(world.co_handler).get("/inbox/").content.decode()


def test_inbox_bulk_sign_for(world, make_order):
    mine = [make_order() for _ in range(2)]
    theirs = make_order()
    for order in mine:
        services.dispatch(order, actor=world.dispatcher, lead_unit=world.street_office)
    services.dispatch(theirs, actor=world.dispatcher, lead_unit=world.other_unit)
    client = client_for(world.handler)
    response = client.post("/inbox/", {"orders": [o.pk for o in mine] + [theirs.pk]})
    assert response.status_code == 302
    assert [status_of(o) for o in mine] == [Status.HANDLING, Status.HANDLING]
    assert status_of(theirs) == Status.DISPATCHED
    notes = messages_of(client.get("/inbox/"))
    assert any(n.startswith("已签收 2 件") for n in notes)
    assert f"工单（ID {theirs.pk}）不在本单位待办中，未签收" in notes
    # Signing again is refused by the service and reported, nothing changes.
    again = client.post("/inbox/", {"orders": [mine[0].pk]})
    assert again.status_code == 400 and any(n.startswith(mine[0].number) for n in messages_of(again))


def test_inbox_is_for_unit_staff_and_deputies_cannot_sign(world, make_order):
    for user in (world.dispatcher, world.operator, world.citizen):
        assert client_for(user).get("/inbox/").status_code == 403
    order = make_order()
    services.dispatch(order, actor=world.dispatcher, lead_unit=factories.unit("RDLLZ"))
    response = client_for(world.deputy).get("/inbox/")
    assert response.status_code == 200 and not response.context["can_sign"]
    assert client_for(world.deputy).post("/inbox/", {"orders": [order.pk]}).status_code == 400
    assert status_of(order) == Status.DISPATCHED


def test_inbox_query_count_does_not_grow_with_rows(world, make_order, django_assert_max_num_queries):
    client = client_for(world.handler)

    def dispatched_order():
        services.dispatch(make_order(), actor=world.dispatcher, lead_unit=world.street_office, co_units=[world.jgw])

    dispatched_order()
    with django_assert_max_num_queries(16) as few:
        client.get("/inbox/")
    for _ in range(15):
        dispatched_order()
    with django_assert_max_num_queries(16) as many:
        assert len(client.get("/inbox/").context["orders"]) == 16
    assert len(many.captured_queries) == len(few.captured_queries)


# --- filters in the URL -----------------------------------------------------------

def test_due_filters_category_and_phone_search(world, make_order):
    now = timezone.now()
    overdue, today, later = (make_order(title=t, appellant_phone=p) for t, p in
                             [("超期", "13800000001"), ("今日", "13800000002"), ("以后", "13800000003")])
    for order in (overdue, today, later):
        services.dispatch(order, actor=world.dispatcher, lead_unit=world.street_office)
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    _due(overdue, now - dt.timedelta(minutes=5))
    _due(today, max(now + dt.timedelta(minutes=1), midnight + dt.timedelta(hours=23, minutes=59)))
    _due(later, midnight + dt.timedelta(days=5))
    taxi = make_order(title="出租车拒载", category=factories.category(TAXI), appellant_phone="13800000009")
    client = client_for(world.dispatcher)

    def titles(query, user=world.dispatcher):
        return sorted(o.title for o, _ in client_for(user).get(f"/orders/?{query}").context["rows"])

    assert titles("due=overdue") == ["超期"]
    assert titles("due=today") == ["今日"]
    by = (timezone.localtime(now) + dt.timedelta(days=1)).date().isoformat()
    assert titles(f"due_by={by}") == sorted(["超期", "今日"])
    assert titles(f"category={taxi.category.parent.code}") == ["出租车拒载"]
    assert titles(f"category={taxi.category.parent.parent.code}&channel=phone") == ["出租车拒载"]
    assert titles("q=13800000009") == ["出租车拒载"]
    # A supervisor sees masked phones, so the keyword does not search them.
    assert titles("q=13800000009", user=world.supervisor) == []
    bad = client.get("/orders/?due_by=2026-13-40")
    assert "field-error" in bad.content.decode() and len(bad.context["rows"]) == 4


def test_queue_and_inbox_take_the_same_filters(world, make_order):
    make_order(title="北外滩噪声", street=factories.street("北外滩"))
    make_order(title="曲阳路路灯")
    rows = client_for(world.dispatcher).get("/queue/?q=噪声").context["rows"]
    assert [o.title for o, _ in rows] == ["北外滩噪声"]
    street = factories.street("曲阳路")
    rows = client_for(world.dispatcher).get(f"/queue/?street={street.code}").context["rows"]
    assert [o.title for o, _ in rows] == ["曲阳路路灯"]


# --- keyboard intake ----------------------------------------------------------------

def test_intake_starts_at_the_phone_and_offers_keyboard_submit(world):
    response = client_for(world.operator).get("/orders/new/")
    form = response.context["form"]
    assert [f.name for f in form.visible_fields()][:3] == ["appellant_phone", "appellant_name", "title"]
    html = response.content.decode()
    assert 'autofocus' in html and 'data-direct-answer' in html and "workorders/intake.js" in html
    assert "Ctrl+Enter" in html


def test_caller_history_json(world, make_order):
    earlier = make_order(appellant_phone="13812345678", title="上次来电：噪声扰民")
    make_order(appellant_phone="13999999999")
    data = client_for(world.operator).get("/orders/caller-history/?phone=13812345678").json()
    assert data["phone"] == "13812345678"
    assert [(o["number"], o["title"], o["status"], o["status_label"]) for o in data["orders"]] == [
        (earlier.number, "上次来电：噪声扰民", "registered", "待派单")]
    assert data["orders"][0]["url"] == f"/orders/{earlier.pk}/"
    assert client_for(world.operator).get("/orders/caller-history/?phone=138").json()["orders"] == []
    too_long = client_for(world.operator).get("/orders/caller-history/?phone=" + "1" * 40)
    assert too_long.status_code == 400 and "过长" in too_long.json()["error"]
    for user in (world.citizen, world.handler):
        assert client_for(user).get("/orders/caller-history/?phone=13812345678").status_code == 403
