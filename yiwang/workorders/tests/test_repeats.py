"""Repeat calls (重复来电): link, merge, counts, the intake panel, the detail page and the statistics page."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from yiwang.core.calendar import SHANGHAI
from yiwang.core.errors import Forbidden, IllegalTransition, Invalid
from yiwang.core.models import AuditEntry
from yiwang.demo import factories
from yiwang.workorders import repeats, services
from yiwang.workorders.models import Event, WorkOrder
from yiwang.workorders.states import Action, Status

pytestmark = pytest.mark.django_db


def count_of(order) -> int:
    return WorkOrder.objects.values_list("repeat_count", flat=True).get(pk=order.pk)


def fresh(order) -> WorkOrder:
    return WorkOrder.objects.get(pk=order.pk)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- services ----------------------------------------------------------------------

def test_link_keeps_the_call_open_and_counts_it_once(world, make_order):
    master, call = make_order(), make_order(title="路灯还是不亮")
    services.link(call, actor=world.operator, master=master, reason="同一路灯")
    call = fresh(call)
    assert (call.status, call.master_id, count_of(master)) == (Status.REGISTERED, master.pk, 1)
    event = Event.objects.get(order=call, action=Action.LINK)
    assert (event.from_status, event.to_status, event.actor, event.data["master"]) == (
        Status.REGISTERED, Status.REGISTERED, world.operator, master.pk)
    assert AuditEntry.objects.filter(action=AuditEntry.Action.TRANSITION, object_id=str(call.pk),
                                     changes__action="link").count() == 1

    # Linking again is a no-op: no second event, no second count.
    services.link(call, actor=world.operator, master=master)
    assert Event.objects.filter(order=call, action=Action.LINK).count() == 1 and count_of(master) == 1
    # The linked call is handled on as any other order.
    services.dispatch(call, actor=world.dispatcher, lead_unit=world.street_office)
    assert fresh(call).status == Status.DISPATCHED


def test_link_refuses_itself_and_its_own_repeat_calls(world, make_order):
    master, call = make_order(), make_order()
    with pytest.raises(Invalid) as itself:
        services.link(master, actor=world.operator, master=master)
    assert itself.value.field == "master" and "自身" in itself.value.message
    services.link(call, actor=world.operator, master=master)
    with pytest.raises(Invalid) as backwards:
        services.link(master, actor=world.operator, master=call)
    assert "是本工单的重复来电" in backwards.value.message
    assert fresh(master).master_id is None and count_of(master) == 1


def test_linking_to_a_repeat_call_links_to_its_root(world, make_order):
    master, first, second = make_order(), make_order(), make_order()
    services.link(first, actor=world.operator, master=master)
    services.link(second, actor=world.operator, master=first)
    assert fresh(second).master_id == master.pk
    assert (count_of(master), count_of(first)) == (2, 0)


def test_an_attached_master_brings_its_repeat_calls_along(world, make_order):
    old, newer, call = make_order(), make_order(), make_order()
    services.link(call, actor=world.operator, master=newer)
    services.link(newer, actor=world.dispatcher, master=old)  # the same case was known earlier
    assert fresh(call).master_id == old.pk and fresh(newer).master_id == old.pk
    assert (count_of(old), count_of(newer)) == (2, 0)
    assert Event.objects.get(order=newer, action=Action.LINK).data["moved"] == [call.pk]


def test_relink_moves_the_count_and_unlink_removes_it(world, make_order):
    a, b, call = make_order(), make_order(), make_order()
    services.link(call, actor=world.operator, master=a)
    services.link(call, actor=world.operator, master=b)
    assert (count_of(a), count_of(b)) == (0, 1)
    with pytest.raises(Invalid):
        services.unlink(call, actor=world.operator, reason="  ")
    services.unlink(call, actor=world.operator, reason="不是同一地点")
    services.unlink(call, actor=world.operator, reason="再点一次")  # nothing to undo: no-op
    assert fresh(call).master_id is None and count_of(b) == 0
    assert Event.objects.filter(order=call, action=Action.UNLINK).count() == 1


def test_merge_counts_resolves_and_is_idempotent(world, make_order):
    master, call = make_order(), make_order()
    services.link(call, actor=world.operator, master=master)
    services.merge(call, actor=world.operator, master=master)  # a linked call merged later: still one
    assert (fresh(call).status, count_of(master)) == (Status.MERGED, 1)
    services.merge(call, actor=world.operator, master=master)  # again: no-op
    assert Event.objects.filter(order=call, action=Action.MERGE).count() == 1
    with pytest.raises(IllegalTransition):
        services.merge(call, actor=world.operator, master=make_order())  # merged is final
    with pytest.raises(IllegalTransition):
        services.link(call, actor=world.operator, master=make_order())


def test_merge_needs_an_open_root_but_link_does_not(world, make_order):
    closed = make_order(appeal_type="consultation")
    services.answer_directly(closed, actor=world.operator, answer="已告知办理流程")
    with pytest.raises(Invalid) as refused:
        services.merge(make_order(), actor=world.operator, master=closed)
    assert refused.value.field == "master"
    services.link(make_order(), actor=world.operator, master=closed)  # calling again about a closed case
    assert count_of(closed) == 1


@pytest.mark.parametrize("who", ["handler", "supervisor", "citizen", "deputy"])
def test_only_operators_and_dispatchers_link_or_merge(world, make_order, who):
    master, call = make_order(), make_order()
    for attach in (services.link, services.merge):
        with pytest.raises(Forbidden):
            attach(call, actor=getattr(world, who), master=master)
    with pytest.raises(Forbidden):
        services.unlink(call, actor=getattr(world, who), reason="x")
    assert fresh(call).master_id is None and count_of(master) == 0


def test_register_repeat_call_is_all_or_nothing(world, make_order):
    master = make_order()
    order, created = services.register_repeat_call(
        factories.intake(title="又来电：路灯不亮"), actor=world.operator, master=master, merge_it=False,
        channel="phone", idempotency_key="k1")
    assert created and order.master_id == master.pk and count_of(master) == 1
    again, created = services.register_repeat_call(
        factories.intake(title="又来电：路灯不亮"), actor=world.operator, master=master, merge_it=False,
        channel="phone", idempotency_key="k1")
    assert (again.pk, created, count_of(master)) == (order.pk, False, 1)

    closed = make_order(appeal_type="consultation")
    services.answer_directly(closed, actor=world.operator, answer="已答复")
    before = WorkOrder.objects.count()
    with pytest.raises(Invalid):
        services.register_repeat_call(factories.intake(), actor=world.operator, master=closed, merge_it=True,
                                      channel="phone")
    assert WorkOrder.objects.count() == before  # the refused merge took the registration with it


def test_counts_are_recomputable_from_the_event_log(world, make_order):
    a, b, c = make_order(), make_order(), make_order()
    calls = [make_order() for _ in range(4)]
    services.link(calls[0], actor=world.operator, master=a)
    services.link(calls[1], actor=world.operator, master=b)
    services.merge(calls[2], actor=world.operator, master=b)
    services.link(b, actor=world.dispatcher, master=a)  # b's two move along
    services.link(calls[3], actor=world.operator, master=c)
    services.unlink(calls[3], actor=world.operator, reason="误关联")
    assert (count_of(a), count_of(b), count_of(c)) == (4, 0, 0)

    clean = repeats.recount_from_events()
    assert (clean["count_mismatches"], clean["master_mismatches"], clean["repeat_calls"]) == ([], [], 4)
    WorkOrder.objects.filter(pk=a.pk).update(repeat_count=9)
    WorkOrder.objects.filter(pk=c.pk).update(repeat_count=1)
    with pytest.raises(Exception, match="differ"):
        call_command("recount_repeat_calls", "--check")
    call_command("recount_repeat_calls")
    assert (count_of(a), count_of(c)) == (4, 0)


# --- period counts -----------------------------------------------------------------------

def test_period_counts_per_master_unit_and_street(world, make_order, django_assert_num_queries):
    day = dt.datetime(2026, 11, 10, 10, tzinfo=SHANGHAI)
    lamp = make_order(now=day)
    services.dispatch(lamp, actor=world.dispatcher, lead_unit=world.street_office, now=day)
    noise = make_order(now=day, street=factories.street("欧阳路"), title="夜间施工噪音")
    for i in range(3):
        services.link(make_order(now=day + dt.timedelta(days=i)), actor=world.operator, master=lamp)
    services.merge(make_order(now=day), actor=world.operator, master=noise)
    old = make_order(now=day - dt.timedelta(days=60))
    services.link(old, actor=world.operator, master=noise)  # registered before the period: not counted

    period = repeats.Period(start=day - dt.timedelta(days=1), end=day + dt.timedelta(days=5))
    with django_assert_num_queries(1):
        units = repeats.by_unit(period)
    assert units == [{"pk": world.street_office.pk, "name": world.street_office.name, "count": 3},
                     {"pk": None, "name": "（未派单）", "count": 1}]
    with django_assert_num_queries(1):
        streets = repeats.by_street(period)
    assert [(s["name"], s["count"]) for s in streets] == [("曲阳路", 3), ("欧阳路", 1)]
    with django_assert_num_queries(1):
        top = repeats.top_masters(period)
    assert [(m["number"], m["count"], m["total"]) for m in top] == [(lamp.number, 3, 3), (noise.number, 1, 2)]
    # Calls: the two masters, three linked and one merged call; ``old`` came in before the period.
    assert repeats.summary(period) == {"repeats": 4, "calls": 6, "rate": round(100 * 4 / 6, 2)}
    narrowed = repeats.Period(period.start, period.end, street_id=noise.street_id)
    assert [m["number"] for m in repeats.top_masters(narrowed)] == [noise.number]


# --- pages -------------------------------------------------------------------------

def intake_post(client, **fields):
    key = client.get("/orders/new/").context["form"].initial["idempotency_key"]
    data = {"idempotency_key": key, "title": "曲阳路路灯又不亮了", "content": "上周反映的路灯仍然不亮。",
            "appeal_type": "request", "urgency": "normal", "appellant_phone": "13812345678", **fields}
    return client.post("/orders/new/", data)


def test_intake_panel_links_or_merges_in_one_submit(world, make_order):
    master = make_order()
    client = client_for(world.operator)
    page = client.get("/orders/new/").content.decode()
    assert 'data-can-link="1"' in page and "Alt+R" in page and 'name="repeat"' not in page

    linked = intake_post(client, repeat=f"link:{master.number}")
    assert linked.status_code == 302
    order = WorkOrder.objects.latest("pk")
    assert (order.master_id, order.status, count_of(master)) == (master.pk, Status.REGISTERED, 1)
    merged = intake_post(client, repeat=f"merge:{master.number}")
    assert merged.status_code == 302
    assert (WorkOrder.objects.latest("pk").status, count_of(master)) == (Status.MERGED, 2)

    similar = client.get("/orders/similar/", {"title": "曲阳路某小区门口路灯不亮"}).json()["orders"]
    assert {"number": master.number, "repeat_count": 2, "master_number": ""}.items() <= similar[0].items()


def test_intake_panel_choice_errors_are_400_with_field_messages(world, make_order):
    client = client_for(world.operator)
    before = WorkOrder.objects.count()
    bad = intake_post(client, repeat="copy:HK1")
    assert bad.status_code == 400 and "重复来电操作无效" in bad.context["form"].errors["repeat"][0]
    unknown = intake_post(client, repeat="link:HK00000000000000")
    assert unknown.status_code == 400
    assert unknown.context["form"].errors["repeat"] == ["主工单「HK00000000000000」不存在或不在可见范围内"]
    closed = make_order(appeal_type="consultation")
    services.answer_directly(closed, actor=world.operator, answer="已答复")
    refused = intake_post(client, repeat=f"merge:{closed.number}")
    assert refused.status_code == 400 and "不能作为合并目标" in refused.context["form"].errors["repeat"][0]
    assert WorkOrder.objects.count() == before + 1  # only the consultation above


def test_detail_links_by_number_and_shows_both_sides(world, make_order):
    master, call = make_order(), make_order(title="路灯还是不亮")
    unknown = client_for(world.operator).post(f"/orders/{call.pk}/link/", {"master": "HK404"})
    assert unknown.status_code == 400
    form = next(f for f in unknown.context["action_forms"] if f.slug == "link")
    assert form.errors["master"] == ["未找到工单「HK404」"]

    done = client_for(world.operator).post(f"/orders/{call.pk}/link/", {"master": master.number, "reason": "同一路灯"})
    assert done.status_code == 302 and fresh(call).master_id == master.pk
    page = client_for(world.operator).get(f"/orders/{call.pk}/")
    assert "的重复来电，已关联，照常办理" in page.content.decode()
    assert [f.slug for f in page.context["action_forms"]][-1] == "unlink"
    master_page = client_for(world.supervisor).get(f"/orders/{master.pk}/").content.decode()
    assert "重复来电（1 次）" in master_page and call.number in master_page and "重复 1" in master_page
    listing = client_for(world.dispatcher).get("/orders/").content.decode()
    assert 'class="badge repeat"' in listing and 'class="badge repeat-of"' in listing

    assert client_for(world.supervisor).post(f"/orders/{call.pk}/unlink/", {"reason": "x"}).status_code == 403
    assert client_for(world.operator).post(f"/orders/{call.pk}/unlink/", {"reason": ""}).status_code == 400
    assert client_for(world.operator).post(f"/orders/{call.pk}/unlink/", {"reason": "误关联"}).status_code == 302
    assert count_of(master) == 0


def test_repeat_page_for_supervisors_with_filters_in_the_url(world, make_order):
    master = make_order()
    services.link(make_order(), actor=world.operator, master=master)
    assert client_for(world.operator).get("/repeats/").status_code == 403
    assert client_for(world.handler).get("/repeats/").status_code == 403
    page = client_for(world.supervisor).get("/repeats/")
    assert page.status_code == 200
    assert page.context["summary"]["repeats"] == 1 and page.context["masters"][0]["number"] == master.number
    assert master.number in page.content.decode()

    today = dt.datetime.now(SHANGHAI).date()
    empty = client_for(world.dispatcher).get("/repeats/", {"start": "2020-01-01", "end": "2020-01-31"})
    assert empty.status_code == 200 and empty.context["summary"]["repeats"] == 0
    reversed_ = client_for(world.dispatcher).get("/repeats/", {"start": today.isoformat(), "end": "2020-01-01"})
    assert reversed_.status_code == 400
    assert reversed_.context["form"].errors["start"] == ["起始日期不能晚于截止日期"]
    garbage = client_for(world.dispatcher).get("/repeats/", {"start": "yesterday", "street": "x"})
    assert garbage.status_code == 400 and set(garbage.context["form"].errors) == {"start", "street"}


def test_api_link_and_unlink(world, make_order):
    master, call = make_order(), make_order()
    api = APIClient()
    api.force_authenticate(world.dispatcher)
    linked = api.post(f"/api/v1/workorders/{call.pk}/link/", {"master": master.number}, format="json")
    assert linked.status_code == 200 and linked.json()["master"] == master.number
    assert api.get(f"/api/v1/workorders/{master.pk}/").json()["repeat_count"] == 1
    missing = api.post(f"/api/v1/workorders/{call.pk}/unlink/", {}, format="json")
    assert missing.status_code == 400 and "reason" in missing.json()["errors"]
    unlinked = api.post(f"/api/v1/workorders/{call.pk}/unlink/", {"reason": "误关联"}, format="json")
    assert unlinked.status_code == 200 and unlinked.json()["master"] is None
