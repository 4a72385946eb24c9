"""The lifecycle through the services, with every edge's event row."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from yiwang.core.calendar import SHANGHAI
from yiwang.core.errors import Forbidden, IllegalTransition, Invalid
from yiwang.workorders import services
from yiwang.workorders.models import (
    Assignment, Channel, Event, ExtensionRequest, ReturnRequest, WorkOrder,
)
from yiwang.workorders.states import Status

pytestmark = pytest.mark.django_db


def at(d, h, mi=0):
    return dt.datetime(2026, 11, d, h, mi, tzinfo=SHANGHAI)


def actions(order):
    return list(Event.objects.filter(order=order).values_list("action", "from_status", "to_status"))


def test_an_intake_writes_the_order_row_once(make_order):
    """On PostgreSQL the number is made from the id in the INSERT itself (intake_sql): no
    UPDATE rewrites the row and all its index entries. SQLite, with no sequence to draw
    the id from, still updates."""
    with CaptureQueriesContext(connection) as queries:
        order = make_order(now=at(23, 9, 30))
    writes = [q["sql"].split()[0] for q in queries if '"workorders_workorder"' in q["sql"]
              and q["sql"].split()[0] in ("WITH", "INSERT", "UPDATE")]
    assert writes == (["WITH"] if connection.vendor == "postgresql" else ["INSERT", "UPDATE"])
    order.refresh_from_db()
    assert order.number == f"HK20261123{order.pk:06d}"


def test_full_lifecycle_from_phone_call_to_archive(world, make_order):
    order = make_order(now=at(23, 9, 30))
    assert order.status == Status.REGISTERED
    assert order.number == f"HK20261123{order.pk:06d}"

    services.dispatch(order, actor=world.dispatcher, now=at(23, 10))
    order.refresh_from_db()
    assert order.lead_unit == world.street_office  # routing rule: street office leads 市政
    assert list(Assignment.objects.filter(order=order, role="co").values_list("unit__code", flat=True)) == ["JGW"]
    # request/normal: sign in 4 working hours, handle in 80 (10 working days) -> Mon 7 Dec 10:00
    assert order.sign_deadline == at(23, 14)
    assert order.handle_deadline == dt.datetime(2026, 12, 7, 10, tzinfo=SHANGHAI)

    services.sign(order, actor=world.handler, now=at(23, 11))
    services.sign(order, actor=world.co_handler, now=at(23, 11, 5))
    services.record_progress(order, actor=world.co_handler, note="已安排养护单位排查线路", now=at(23, 12))
    services.reply(order, actor=world.handler, text="已更换灯具，恢复照明。", now=at(24, 15))
    services.review_reply(order, actor=world.supervisor, approve=True, now=at(24, 16))
    services.follow_up(order, actor=world.operator, satisfaction="satisfied", resolved=True, now=at(25, 10))

    order.refresh_from_db()
    assert order.status == Status.ARCHIVED
    assert order.closed_at == at(25, 10)
    assert [a for a, _, _ in actions(order)] == [
        "register", "dispatch", "sign", "sign", "record_progress", "reply", "approve_reply", "follow_up"
    ]
    assert actions(order)[1][1:] == ("registered", "dispatched")
    assert Assignment.objects.get(order=order, role="co").opinion == "已安排养护单位排查线路"


def test_illegal_transition_is_refused_and_writes_nothing(world, make_order):
    order = make_order()
    with pytest.raises(IllegalTransition) as err:
        services.review_reply(order, actor=world.dispatcher, approve=True)
    assert err.value.message == "工单当前状态为「待派单」，不能执行「审核通过」"
    with pytest.raises(IllegalTransition):
        services.follow_up(order, actor=world.operator, satisfaction="satisfied", resolved=True)
    order.refresh_from_db()
    assert order.status == Status.REGISTERED
    assert [a for a, _, _ in actions(order)] == ["register"]


def test_only_the_lead_unit_may_sign_and_the_side_effect_does_not_happen(world, make_order):
    order = make_order()
    services.dispatch(order, actor=world.dispatcher)
    with pytest.raises(Forbidden):
        services.sign(order, actor=world.outsider)
    with pytest.raises(Forbidden):
        services.dispatch(order, actor=world.operator)
    order.refresh_from_db()
    assert order.status == Status.DISPATCHED and order.signed_at is None


def test_direct_answer_closes_a_consultation_at_intake(world):
    order, created = services.register(
        services.Intake(title="咨询居住证办理", content="请问居住证办理需要哪些材料？", appeal_type="consultation"),
        actor=world.operator, channel=Channel.PHONE, direct_answer="携带身份证、租赁合同到社区事务受理中心办理。",
    )
    assert created and order.status == Status.ARCHIVED and order.direct_answer
    with pytest.raises(Invalid) as err:
        services.register(services.Intake(title="投诉噪音", content="夜间施工", appeal_type="complaint"),
                          actor=world.operator, channel=Channel.PHONE, direct_answer="已解释")
    assert err.value.field == "appeal_type"
    assert not WorkOrder.objects.filter(title="投诉噪音").exists()  # nothing half-written


@pytest.mark.parametrize("urgency", ["soon", ["urgent"], {"level": 1}])
def test_an_unknown_choice_names_the_field_and_the_choices(world, urgency):
    """A value that is no choice, also one no enum could hold (a list or an object from a
    JSON body), is refused with the field and what may be chosen, and nothing is written."""
    with pytest.raises(Invalid) as err:
        services.register(services.Intake(title="路灯不亮", content="路灯坏了三天", urgency=urgency),
                          actor=world.operator, channel=Channel.PHONE)
    assert err.value.field == "urgency" and "可选" in str(err.value)
    assert not WorkOrder.objects.filter(title="路灯不亮").exists()


def test_return_is_arbitrated_approved_back_to_dispatch(world, make_order):
    order = make_order()
    services.dispatch(order, actor=world.dispatcher)
    services.request_return(order, actor=world.handler, reason_code="not_our_duty", reason="属市场监管职责",
                            suggested_unit=world.other_unit)
    order.refresh_from_db()
    assert order.status == Status.RETURN_REQUESTED
    services.decide_return(order, actor=world.dispatcher, approve=True, note="同意，改派市场监管局")
    order.refresh_from_db()
    assert order.status == Status.REGISTERED and order.lead_unit is None and order.handle_deadline is None
    assert not Assignment.objects.filter(order=order, active=True).exists()
    services.dispatch(order, actor=world.dispatcher, lead_unit=world.other_unit)
    order.refresh_from_db()
    assert order.lead_unit == world.other_unit


def test_rejected_return_goes_back_to_where_it_was(world, make_order):
    order = make_order()
    services.dispatch(order, actor=world.dispatcher)
    services.sign(order, actor=world.handler)
    services.request_return(order, actor=world.handler, reason_code="other", reason="不清楚")
    with pytest.raises(Invalid):
        services.decide_return(order, actor=world.dispatcher, approve=False, note="")
    services.decide_return(order, actor=world.dispatcher, approve=False, note="属街道职责，请继续办理")
    order.refresh_from_db()
    assert order.status == Status.HANDLING
    assert ReturnRequest.objects.get(order=order).decision == "rejected"


def test_bad_return_reason_names_the_field(world, make_order):
    order = make_order()
    services.dispatch(order, actor=world.dispatcher)
    with pytest.raises(Invalid) as err:
        services.request_return(order, actor=world.handler, reason_code="bored", reason="x")
    assert err.value.field == "reason_code"


def test_approved_extension_moves_the_deadline_by_working_hours(world, make_order):
    order = make_order()
    services.dispatch(order, actor=world.dispatcher, now=at(23, 10))
    services.sign(order, actor=world.handler, now=at(23, 11))
    services.request_extension(order, actor=world.handler, hours=16, reason="需协调管线单位", now=at(24, 10))
    with pytest.raises(IllegalTransition):
        services.request_extension(order, actor=world.handler, hours=8, reason="again")
    services.decide_extension(order, actor=world.dispatcher, approve=True, now=at(24, 11))
    order.refresh_from_db()
    assert order.extension_hours == Decimal(16)
    assert order.handle_deadline == dt.datetime(2026, 12, 9, 10, tzinfo=SHANGHAI)  # two working days later
    assert ExtensionRequest.objects.get(order=order).decision == "approved"


def test_refused_extension_keeps_the_deadline(world, make_order):
    order = make_order()
    services.dispatch(order, actor=world.dispatcher, now=at(23, 10))
    services.sign(order, actor=world.handler)
    before = WorkOrder.objects.get(pk=order.pk).handle_deadline
    services.request_extension(order, actor=world.handler, hours=8, reason="x")
    services.decide_extension(order, actor=world.dispatcher, approve=False, note="理由不充分")
    assert WorkOrder.objects.get(pk=order.pk).handle_deadline == before


def test_dissatisfied_follow_up_then_reopen_goes_back_to_the_same_units(world, make_order):
    order = make_order()
    services.dispatch(order, actor=world.dispatcher)
    services.sign(order, actor=world.handler)
    services.reply(order, actor=world.handler, text="已处理")
    services.review_reply(order, actor=world.dispatcher, approve=True)
    services.follow_up(order, actor=world.operator, satisfaction="dissatisfied", resolved=False, note="路灯仍不亮")
    order.refresh_from_db()
    assert order.status == Status.FOLLOW_UP
    services.reopen(order, actor=world.supervisor, reason="回访不满意，重办")
    order.refresh_from_db()
    assert order.status == Status.DISPATCHED and order.reopen_count == 1
    assert order.lead_unit == world.street_office and order.reply == ""
    assert Assignment.objects.filter(order=order, active=True).count() == 2


def test_reopen_needs_dissatisfaction(world, make_order):
    order = make_order()
    services.dispatch(order, actor=world.dispatcher)
    services.sign(order, actor=world.handler)
    services.reply(order, actor=world.handler, text="已处理")
    services.review_reply(order, actor=world.dispatcher, approve=True)
    services.follow_up(order, actor=world.operator, satisfaction="basically", resolved=True)
    with pytest.raises(IllegalTransition):
        services.reopen(order, actor=world.supervisor, reason="x")


def test_review_can_send_the_reply_back(world, make_order):
    order = make_order()
    services.dispatch(order, actor=world.dispatcher)
    services.sign(order, actor=world.handler)
    services.reply(order, actor=world.handler, text="已处理")
    services.review_reply(order, actor=world.supervisor, approve=False, note="答复未说明处理结果")
    order.refresh_from_db()
    assert order.status == Status.HANDLING and order.replied_at is None


def test_escalation_counts_and_is_evented(world, make_order):
    order = make_order()
    services.dispatch(order, actor=world.dispatcher)
    services.escalate(order, actor=world.supervisor, note="群众反映强烈，请加快")
    services.escalate(order, actor=world.supervisor, note="二次督办")
    order.refresh_from_db()
    assert order.escalation_count == 2
    with pytest.raises(Forbidden):
        services.escalate(order, actor=world.handler, note="x")


def test_merge_duplicate_into_master(world, make_order):
    master = make_order()
    dup = make_order(title="路灯不亮（重复来电）")
    services.merge(dup, actor=world.operator, master=master, reason="同一路灯")
    dup.refresh_from_db()
    assert dup.status == Status.MERGED and dup.master == master
    # A merged duplicate stands for its master: a third call merged "into" it joins the master.
    third = services.merge(make_order(), actor=world.operator, master=dup)
    assert third.master == master
    with pytest.raises(Invalid):
        services.merge(master, actor=world.operator, master=master)


def test_city_transfer_keeps_the_city_number_and_deadline(world):
    city_deadline = at(25, 17)
    order, created = services.register(
        services.Intake(title="市级转派：噪音扰民", content="夜间施工噪音", appeal_type="complaint"),
        actor=world.system, channel=Channel.CITY, city_number="SH2026112300001", city_deadline=city_deadline,
    )
    assert created and order.city_number == "SH2026112300001"
    again, created_again = services.register(
        services.Intake(title="市级转派：噪音扰民", content="夜间施工噪音", appeal_type="complaint"),
        actor=world.system, channel=Channel.CITY, city_number="SH2026112300001", city_deadline=city_deadline,
    )
    assert again.pk == order.pk and not created_again
    services.dispatch(order, actor=world.dispatcher, lead_unit=world.other_unit, now=at(23, 10))
    order.refresh_from_db()
    assert order.handle_deadline == city_deadline  # the city's deadline is tighter than 10 working days
    with pytest.raises(Invalid) as err:
        services.register(services.Intake(title="a", content="b"), actor=world.system, channel=Channel.CITY,
                          city_number="X1")
    assert err.value.field == "city_deadline"


def test_idempotency_key_returns_the_first_order(world):
    first, c1 = services.register(services.Intake(title="t", content="c"), actor=world.system, channel=Channel.API,
                                  idempotency_key="abc-1")
    second, c2 = services.register(services.Intake(title="t", content="c"), actor=world.system, channel=Channel.API,
                                   idempotency_key="abc-1")
    assert (c1, c2) == (True, False) and first.pk == second.pk
    with pytest.raises(Invalid) as err:
        services.register(services.Intake(title="other", content="c"), actor=world.system, channel=Channel.API,
                          idempotency_key="abc-1")
    assert err.value.code == "idempotency_conflict"
    assert WorkOrder.objects.count() == 1


def test_intake_validation_names_the_field(world):
    cases = [
        (dict(title=" ", content="c"), "title"),
        (dict(title="t", content="c", appeal_type="rant"), "appeal_type"),
        (dict(title="t", content="c", urgency="asap"), "urgency"),
        (dict(title="t", content="c", appellant_phone="call me"), "appellant_phone"),
        (dict(title="t", content="c", latitude="91"), "latitude"),
    ]
    for kwargs, field in cases:
        with pytest.raises(Invalid) as err:
            services.register(services.Intake(**kwargs), actor=world.operator, channel=Channel.PHONE)
        assert err.value.field == field
    assert WorkOrder.objects.count() == 0


def test_citizen_registration_fills_their_own_contact(world):
    order, _ = services.register(services.Intake(title="t", content="c"), actor=world.citizen, channel=Channel.WEB)
    assert order.appellant_user == world.citizen and order.appellant_name == "李四"
    with pytest.raises(Forbidden):
        services.register(services.Intake(title="t", content="c"), actor=world.handler, channel=Channel.WEB)


def test_dispatch_without_route_asks_for_a_unit(world):
    order, _ = services.register(services.Intake(title="t", content="c"), actor=world.operator, channel=Channel.PHONE)
    with pytest.raises(Invalid) as err:
        services.dispatch(order, actor=world.dispatcher)
    assert err.value.code == "no_route"
