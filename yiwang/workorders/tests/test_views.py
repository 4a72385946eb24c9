"""The HTML pages: every lifecycle step by hand, errors, scoping, masking and audit."""

import pytest
from django.test import Client

from yiwang.core.models import AuditEntry
from yiwang.workorders import jobs, services
from yiwang.workorders.models import (
    Assignment, Event, ExtensionRequest, FollowUp, Notification, ReturnRequest, WorkOrder,
)
from yiwang.workorders.states import Status

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def act(user, order, slug, **data):
    return client_for(user).post(f"/orders/{order.pk}/{slug}/", data)


def status_of(order) -> str:
    return WorkOrder.objects.values_list("status", flat=True).get(pk=order.pk)


def actions(order) -> list[str]:
    return list(Event.objects.filter(order=order).values_list("action", flat=True))


def form_slugs(response) -> list[str]:
    return [form.slug for form in response.context["action_forms"]]


def register_by_page(user, **fields):
    """GET the form (for its idempotency key), then POST it; returns (response, key)."""
    client = client_for(user)
    key = client.get("/orders/new/").context["form"].initial["idempotency_key"]
    data = {"idempotency_key": key, "title": "多伦路路面坑洼", "content": "多伦路 100 号门前路面坑洼积水，行人易摔倒。",
            "appeal_type": "request", "urgency": "normal", **fields}
    return client.post("/orders/new/", data), key


@pytest.fixture
def dispatched(world, make_order):
    order = make_order()
    services.dispatch(order, actor=world.dispatcher, lead_unit=world.street_office, co_units=[world.jgw])
    return order


@pytest.fixture
def handling(world, dispatched):
    services.sign(dispatched, actor=world.handler)
    return dispatched


# --- login and navigation ---------------------------------------------------------

def test_pages_need_login_and_the_login_page_is_chinese(world, make_order):
    order = make_order()
    anonymous = Client()
    for url in ("/", "/orders/", "/orders/new/", f"/orders/{order.pk}/"):
        response = anonymous.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert "登录" in anonymous.get("/accounts/login/").content.decode()
    assert anonymous.get("/static/yiwang/site.css").status_code == 200
    assert anonymous.post(f"/orders/{order.pk}/escalate/", {"note": "x"}).status_code == 302
    assert actions(order) == ["register"]


def test_top_nav_shows_name_role_unit_and_a_post_logout(world):
    page = client_for(world.handler).get("/").content.decode()
    assert "handler" in page and "承办人员" in page and world.street_office.name in page
    assert '<form method="post" action="/accounts/logout/"' in page


def test_logout_is_a_post(world):
    client = client_for(world.operator)
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302


# --- registration ------------------------------------------------------------------

def test_operator_registers_a_call_and_a_double_submit_creates_one_order(world):
    committee = world.street_office.street.committees.first()
    response, key = register_by_page(
        world.operator, urgency="urgent", street=world.street_office.street_id, committee=committee.pk,
        address="多伦路100号", appellant_name="王五", appellant_phone="13700001234",
    )
    order = WorkOrder.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/orders/{order.pk}/"
    assert (order.channel, order.urgency, order.committee, order.appellant_phone, order.registered_by) == (
        "phone", "urgent", committee, "13700001234", world.operator)
    again = client_for(world.operator).post("/orders/new/", {
        "idempotency_key": key, "title": "多伦路路面坑洼", "content": "多伦路 100 号门前路面坑洼积水，行人易摔倒。",
        "appeal_type": "request", "urgency": "urgent", "appellant_phone": "13700001234",
    })
    assert again["Location"] == f"/orders/{order.pk}/"
    assert WorkOrder.objects.count() == 1


def test_registration_form_groups_categories_by_level_one(world):
    page = client_for(world.operator).get("/orders/new/").content.decode()
    assert '<optgroup label="城乡建设">' in page
    assert 'name="idempotency_key"' in page and 'type="hidden"' in page


def test_each_rendering_of_the_form_gets_its_own_key(world):
    client = client_for(world.operator)
    first = client.get("/orders/new/").context["form"].initial["idempotency_key"]
    second = client.get("/orders/new/").context["form"].initial["idempotency_key"]
    assert first != second and len(first) == 32


def test_registration_error_is_shown_next_to_the_field(world):
    other_street_committee = world.street_office.street.committees.first()
    from yiwang.org.models import Street

    elsewhere = Street.objects.exclude(pk=world.street_office.street_id).first()
    response, _ = register_by_page(world.operator, street=elsewhere.pk, committee=other_street_committee.pk)
    assert response.status_code == 400
    assert response.context["form"].errors["committee"] == [
        f"居委「{other_street_committee.name}」不属于街道「{elsewhere.name}」"]
    assert WorkOrder.objects.count() == 0


def test_operator_sees_the_callers_history(world, make_order):
    earlier = make_order(appellant_phone="13812345678", title="上次来电：噪声扰民")
    make_order(appellant_phone="13999999999", title="别人的来电")
    response = client_for(world.operator).get("/orders/new/?phone=13812345678")
    assert [o.pk for o in response.context["history"]] == [earlier.pk]
    assert "上次来电：噪声扰民" in response.content.decode()
    assert response.context["form"].initial["appellant_phone"] == "13812345678"


def test_consultation_answered_directly_is_archived_at_intake(world):
    response, _ = register_by_page(world.operator, appeal_type="consultation", direct_answer="可在一网通办办理居住证。")
    order = WorkOrder.objects.get()
    assert response.status_code == 302
    assert (order.status, order.direct_answer, order.reply) == (Status.ARCHIVED, True, "可在一网通办办理居住证。")


def test_direct_answer_on_a_request_is_refused_and_nothing_is_created(world):
    response, _ = register_by_page(world.operator, appeal_type="request", direct_answer="答复")
    assert response.status_code == 400
    assert response.context["form"].errors["appeal_type"] == ["只有咨询类诉求可以直办"]
    assert WorkOrder.objects.count() == 0


def test_citizen_self_service_form_takes_contact_from_the_account(world):
    page = client_for(world.citizen).get("/orders/new/")
    assert "appellant_phone" not in page.context["form"].fields
    response, _ = register_by_page(world.citizen)
    order = WorkOrder.objects.get()
    assert response.status_code == 302
    assert (order.channel, order.appellant_name, order.appellant_phone, order.appellant_user) == (
        "web", "李四", "13900001111", world.citizen)
    # The citizen follows their own appeal on its page.
    assert client_for(world.citizen).get(f"/orders/{order.pk}/").status_code == 200


def test_unit_staff_cannot_register(world):
    assert client_for(world.handler).get("/orders/new/").status_code == 403
    assert client_for(world.handler).post("/orders/new/", {"title": "x"}).status_code == 403
    assert WorkOrder.objects.count() == 0


# --- the lifecycle by hand -------------------------------------------------------

def test_full_lifecycle_through_the_pages(world):
    register_by_page(world.operator, street=world.street_office.street_id, appellant_phone="13700001234",
                     category=_streetlight_category().pk)
    order = WorkOrder.objects.get()

    page = client_for(world.dispatcher).get(f"/orders/{order.pk}/")
    dispatch_form = next(f for f in page.context["action_forms"] if f.slug == "dispatch")
    # Routing pre-fills the street office as lead and the construction commission as co-unit.
    assert dispatch_form.initial["lead_unit"] == world.street_office
    assert dispatch_form.initial["co_units"] == [world.jgw]
    response = act(world.dispatcher, order, "dispatch", lead_unit=world.street_office.pk, co_units=[world.jgw.pk])
    assert response.status_code == 302
    assert status_of(order) == Status.DISPATCHED

    assert form_slugs(client_for(world.handler).get(f"/orders/{order.pk}/")) == ["sign", "progress", "return"]
    assert act(world.handler, order, "sign").status_code == 302
    assert act(world.co_handler, order, "sign").status_code == 302
    assert act(world.co_handler, order, "progress", note="已安排养护单位排查").status_code == 302
    assert act(world.handler, order, "reply", text="已修复路灯。").status_code == 302
    assert status_of(order) == Status.REPLIED
    assert act(world.supervisor, order, "review", decision="approve").status_code == 302
    assert status_of(order) == Status.FOLLOW_UP
    response = act(world.operator, order, "follow-up", satisfaction="satisfied", resolved="1", note="已修好")
    assert response.status_code == 302

    order.refresh_from_db()
    assert (order.status, order.satisfaction, order.resolved) == (Status.ARCHIVED, "satisfied", True)
    assert actions(order) == ["register", "dispatch", "sign", "sign", "record_progress", "reply", "approve_reply",
                              "follow_up"]
    assert Assignment.objects.get(order=order, role="co").opinion == "已安排养护单位排查"
    page = client_for(world.operator).get(f"/orders/{order.pk}/")
    text = page.content.decode()
    assert "审核通过" in text and "待审核 → 待回访" in text and "已修复路灯。" in text
    assert form_slugs(page) == []


def _streetlight_category():
    from yiwang.demo import factories

    return factories.category("城乡建设/城市建设和市政管理")


def test_success_message_after_an_action(world, dispatched):
    response = client_for(world.handler).post(f"/orders/{dispatched.pk}/sign/", follow=True)
    assert "已签收" in [str(m) for m in response.context["messages"]]


def test_review_reject_needs_a_note_and_then_sends_the_order_back(world, handling):
    services.reply(handling, actor=world.handler, text="已处理")
    refused = act(world.dispatcher, handling, "review", decision="reject", note="")
    assert refused.status_code == 400
    form = next(f for f in refused.context["action_forms"] if f.slug == "review")
    assert form.errors["note"] == ["退回理由不能为空"]
    assert status_of(handling) == Status.REPLIED
    assert act(world.dispatcher, handling, "review", decision="reject", note="未附照片").status_code == 302
    assert status_of(handling) == Status.HANDLING


def test_return_and_arbitration(world, dispatched):
    response = act(world.handler, dispatched, "return", reason_code="not_our_duty", reason="")
    assert response.status_code == 400 and "退单说明不能为空" in response.content.decode()
    assert not ReturnRequest.objects.exists()

    act(world.handler, dispatched, "return", reason_code="not_our_duty", reason="属物业管理范围",
        suggested_unit=world.jgw.pk)
    assert status_of(dispatched) == Status.RETURN_REQUESTED
    assert form_slugs(client_for(world.dispatcher).get(f"/orders/{dispatched.pk}/")) == [
        "return-decision", "escalate", "merge", "link"]

    refused = act(world.dispatcher, dispatched, "return-decision", decision="reject", note="")
    assert refused.status_code == 400
    form = next(f for f in refused.context["action_forms"] if f.slug == "return-decision")
    assert form.errors["note"] == ["驳回理由不能为空"]
    assert status_of(dispatched) == Status.RETURN_REQUESTED

    act(world.dispatcher, dispatched, "return-decision", decision="reject", note="属街道职责")
    assert status_of(dispatched) == Status.DISPATCHED
    act(world.handler, dispatched, "return", reason_code="wrong_location", reason="不在辖区")
    act(world.dispatcher, dispatched, "return-decision", decision="approve")
    dispatched.refresh_from_db()
    assert (dispatched.status, dispatched.lead_unit) == (Status.REGISTERED, None)
    assert list(ReturnRequest.objects.order_by("pk").values_list("decision", flat=True)) == ["rejected", "approved"]


def test_extension_request_error_then_approval(world, handling):
    before = WorkOrder.objects.get(pk=handling.pk).handle_deadline
    response = act(world.handler, handling, "extension", hours="1000", reason="需协调管线单位")
    assert response.status_code == 400
    form = next(f for f in response.context["action_forms"] if f.slug == "extension")
    assert form.errors["hours"] == ["延期时长应在 0.5 到 480 个工作小时之间"]
    assert not ExtensionRequest.objects.exists()

    assert act(world.handler, handling, "extension", hours="16", reason="需协调管线单位").status_code == 302
    assert "extension" not in form_slugs(client_for(world.handler).get(f"/orders/{handling.pk}/"))
    assert "extension-decision" in form_slugs(client_for(world.dispatcher).get(f"/orders/{handling.pk}/"))
    assert act(world.dispatcher, handling, "extension-decision", decision="approve").status_code == 302
    handling.refresh_from_db()
    assert handling.extension_hours == 16 and handling.handle_deadline > before
    assert ExtensionRequest.objects.get().decision == "approved"


def test_dissatisfied_follow_up_then_reopen(world, handling):
    services.reply(handling, actor=world.handler, text="已处理")
    services.review_reply(handling, actor=world.dispatcher, approve=True)
    act(world.operator, handling, "follow-up", satisfaction="dissatisfied", resolved="0", note="问题仍在")
    assert status_of(handling) == Status.FOLLOW_UP
    assert form_slugs(client_for(world.supervisor).get(f"/orders/{handling.pk}/")) == ["reopen", "archive"]
    assert act(world.supervisor, handling, "reopen", reason="").status_code == 400
    assert act(world.supervisor, handling, "reopen", reason="回访不满意，重新办理").status_code == 302
    handling.refresh_from_db()
    assert (handling.status, handling.reopen_count, handling.lead_unit) == (Status.DISPATCHED, 1, world.street_office)
    assert FollowUp.objects.get().satisfaction == "dissatisfied"


def test_archive_after_dissatisfied_follow_up(world, handling):
    services.reply(handling, actor=world.handler, text="已处理")
    services.review_reply(handling, actor=world.dispatcher, approve=True)
    services.follow_up(handling, actor=world.operator, satisfaction="dissatisfied", resolved=False)
    assert act(world.dispatcher, handling, "archive", reason="诉求人要求不合理").status_code == 302
    assert status_of(handling) == Status.ARCHIVED


def test_merge_by_master_number(world, make_order):
    master, duplicate = make_order(), make_order()
    unknown = act(world.operator, duplicate, "merge", master="HK00000000000000")
    assert unknown.status_code == 400
    form = next(f for f in unknown.context["action_forms"] if f.slug == "merge")
    assert form.errors["master"] == ["未找到工单「HK00000000000000」"]
    itself = act(world.operator, duplicate, "merge", master=duplicate.number)
    assert itself.status_code == 400 and "不能把工单关联或合并到自身" in itself.content.decode()
    assert status_of(duplicate) == Status.REGISTERED

    assert act(world.operator, duplicate, "merge", master=master.number, reason="同一路灯").status_code == 302
    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.master) == (Status.MERGED, master)
    assert duplicate.number in client_for(world.operator).get(f"/orders/{master.pk}/").content.decode()


def test_escalate(world, dispatched):
    assert act(world.supervisor, dispatched, "escalate", note="请加快办理").status_code == 302
    dispatched.refresh_from_db()
    assert dispatched.escalation_count == 1
    assert Event.objects.filter(order=dispatched, action="escalate", reason="请加快办理").exists()


def test_dispatch_without_a_route_names_the_lead_unit_field(world, make_order):
    order = make_order(category=None)
    response = act(world.dispatcher, order, "dispatch", lead_unit="")
    assert response.status_code == 400
    form = next(f for f in response.context["action_forms"] if f.slug == "dispatch")
    assert form.errors["lead_unit"] == ["没有适用的派单规则，请指定主办单位"]
    assert status_of(order) == Status.REGISTERED and not Assignment.objects.exists()


def test_an_action_the_role_may_not_take_is_refused_and_changes_nothing(world, handling):
    response = act(world.co_handler, handling, "reply", text="协办单位越权答复")
    assert response.status_code == 403
    assert "只有主办单位可以执行「答复」" in response.content.decode()
    handling.refresh_from_db()
    assert (handling.status, handling.reply) == (Status.HANDLING, "")


def test_illegal_transition_is_409_and_changes_nothing(world, make_order):
    order = make_order()
    response = act(world.operator, order, "follow-up", satisfaction="satisfied", resolved="1")
    assert response.status_code == 409
    assert "不能执行「回访」" in response.content.decode()
    assert status_of(order) == Status.REGISTERED and not FollowUp.objects.exists()


def test_unknown_action_is_404(world, make_order):
    assert act(world.dispatcher, make_order(), "explode").status_code == 404


# --- scoping, masking, audit ----------------------------------------------------

def test_another_units_order_is_404_for_page_and_actions(world, dispatched):
    outsider = client_for(world.outsider)
    assert outsider.get(f"/orders/{dispatched.pk}/").status_code == 404
    assert outsider.post(f"/orders/{dispatched.pk}/sign/").status_code == 404
    assert outsider.post(f"/orders/{dispatched.pk}/progress/", {"note": "x"}).status_code == 404
    assert status_of(dispatched) == Status.DISPATCHED and actions(dispatched) == ["register", "dispatch"]
    assert dispatched.number not in outsider.get("/orders/").content.decode()


def test_supervisor_sees_masked_data_and_no_audit_row(world, make_order):
    order = make_order()
    page = client_for(world.supervisor).get(f"/orders/{order.pk}/").content.decode()
    assert "138****5678" in page and "13812345678" not in page
    assert "张*" in page and "张三" not in page
    assert not AuditEntry.objects.filter(action="view_pii").exists()


def test_operator_sees_clear_data_and_it_is_audited(world, make_order):
    order = make_order()
    page = client_for(world.operator).get(f"/orders/{order.pk}/").content.decode()
    assert "13812345678" in page and "张三" in page and "曲阳路800弄12号" in page
    entry = AuditEntry.objects.get(action="view_pii")
    assert (entry.actor, entry.object_type, entry.object_id) == (world.operator, "workorders.workorder", str(order.pk))


def test_list_masks_and_audits_per_role(world, make_order):
    orders = [make_order(), make_order()]
    page = client_for(world.supervisor).get("/orders/").content.decode()
    assert "138****5678" in page and "13812345678" not in page
    assert not AuditEntry.objects.exists()
    page = client_for(world.dispatcher).get("/orders/").content.decode()
    assert "13812345678" in page
    assert sorted(AuditEntry.objects.values_list("object_id", flat=True)) == sorted(str(o.pk) for o in orders)


# --- the list --------------------------------------------------------------------

def test_list_filters_and_search(world, make_order, dispatched):
    other = make_order(title="虹口足球场附近噪声扰民", appeal_type="complaint")
    client = client_for(world.dispatcher)

    def numbers(query):
        return [o.number for o, _ in client.get(f"/orders/?{query}").context["rows"]]

    assert numbers("status=dispatched") == [dispatched.number]
    assert numbers("appeal_type=complaint") == [other.number]
    assert numbers("q=足球场") == [other.number]
    assert numbers(f"lead_unit={world.street_office.code}") == [dispatched.number]
    both = [other.number, dispatched.number]
    assert numbers(f"street={dispatched.street.code}&channel=phone&sla_state=normal") == both
    assert numbers("status=registered&status=dispatched") == both
    # An invalid value is ignored (and shown as an error), never an empty or widened list.
    response = client.get("/orders/?status=nonsense")
    assert [o.number for o, _ in response.context["rows"]] == both
    assert "field-error" in response.content.decode()


def test_list_paginates_by_50(world, make_order):
    for _ in range(51):
        make_order()
    client = client_for(world.dispatcher)
    assert len(client.get("/orders/").context["rows"]) == 50
    second = client.get("/orders/?page=2")
    assert len(second.context["rows"]) == 1 and "第 2 / 2 页" in second.content.decode()


def test_list_query_count_does_not_grow_with_rows(world, make_order, django_assert_max_num_queries):
    def dispatched_order():
        order = make_order()
        services.dispatch(order, actor=world.dispatcher, lead_unit=world.street_office, co_units=[world.jgw])

    client = client_for(world.handler)
    dispatched_order()
    with django_assert_max_num_queries(10) as few:
        client.get("/orders/")
    for _ in range(20):
        dispatched_order()
    with django_assert_max_num_queries(10) as many:
        assert len(client.get("/orders/").context["rows"]) == 21
    assert len(many.captured_queries) == len(few.captured_queries)


# --- home ------------------------------------------------------------------------

def test_home_shows_counts_todo_and_inbox(world, make_order, dispatched):
    red = make_order(title="红灯工单")
    services.dispatch(red, actor=world.dispatcher, lead_unit=world.street_office)
    services.sign(red, actor=world.handler)
    WorkOrder.objects.filter(pk=red.pk).update(sla_state="red")
    normal = make_order(title="正常工单")
    services.dispatch(normal, actor=world.dispatcher, lead_unit=world.street_office)
    services.sign(normal, actor=world.handler)
    jobs.notify(Event.objects.get(order=dispatched, action="dispatch").pk)

    response = client_for(world.handler).get("/")
    queues = dict(response.context["queues"])
    assert [o.pk for o in queues["待签收"]] == [dispatched.pk]
    assert [o.pk for o in queues["办理中"]] == [red.pk, normal.pk]
    counts = {value: n for value, _, n in response.context["counts"]}
    assert (counts["dispatched"], counts["handling"], counts["registered"]) == (1, 2, 0)
    assert [n.order_id for n in response.context["inbox"]] == [dispatched.pk]
    assert Notification.objects.filter(unit=world.street_office).exists()

    # Dispatchers see their own queues and nothing addressed to a unit.
    dispatcher_home = client_for(world.dispatcher).get("/")
    assert [h for h, _ in dispatcher_home.context["queues"]] == ["待派单", "退单待审", "待审核答复"]
    assert list(dispatcher_home.context["inbox"]) == []
