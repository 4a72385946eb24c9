"""The work-order REST API over HTTP: lifecycle, idempotent intake, errors, scope, masking, audit, queries."""

import datetime as dt
import threading

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from yiwang.core.calendar import SHANGHAI
from yiwang.core.models import AuditEntry
from yiwang.demo import factories
from yiwang.workorders import services
from yiwang.workorders.models import Event, WorkOrder
from yiwang.workorders.states import Status

pytestmark = pytest.mark.django_db

ACTION_PATHS = [
    "dispatch", "sign", "progress", "return", "return-decision", "extension", "extension-decision", "reply",
    "review", "follow-up", "reopen", "archive", "escalate", "merge", "link", "unlink", "answer",
]


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def post(user, order_id, action, body=None):
    return client_for(user).post(f"/api/v1/workorders/{order_id}/{action}/", body or {}, format="json")


def detail(user, order_id):
    return client_for(user).get(f"/api/v1/workorders/{order_id}/")


def allowed(response) -> list[str]:
    return [a["action"] for a in response.json()["allowed_actions"]]


INTAKE = {
    "title": "曲阳路某小区门口路灯不亮",
    "content": "曲阳路 800 弄门口路灯连续一周不亮，夜间行人不便。",
    "appeal_type": "request",
    "category": "0102001",
    "street": "曲阳路街道",
    "address": "曲阳路800弄12号",
    "appellant_name": "张三",
    "appellant_phone": "13812345678",
}


def create(user, body=None, headers=None):
    return client_for(user).post("/api/v1/workorders/", {**INTAKE, **(body or {})}, format="json", headers=headers)


# --- lifecycle ---------------------------------------------------------------------


def test_full_lifecycle_over_http(world):
    created = create(world.operator)
    assert created.status_code == 201, created.json()
    body = created.json()
    pk = body["id"]
    assert body["status"] == "registered" and body["channel"] == "api"
    assert body["category"]["path"].startswith("城乡建设/城市建设和市政管理")
    assert body["street"] == {"code": "310109010", "name": "曲阳路"}
    assert [a["action"] for a in body["allowed_actions"]] == ["merge", "link"]  # operators do not dispatch
    assert allowed(detail(world.dispatcher, pk)) == ["dispatch", "escalate", "merge", "link"]

    dispatched = post(world.dispatcher, pk, "dispatch")  # no lead unit: the routing rules choose
    assert dispatched.status_code == 200, dispatched.json()
    assert dispatched.json()["lead_unit"]["code"] == "ST-310109010"
    assert {(a["unit"]["code"], a["role"], a["signed_at"]) for a in dispatched.json()["assignments"]} == {
        ("ST-310109010", "lead", None), ("JGW", "co", None)}
    assert dispatched.json()["handle_deadline"] is not None
    assert allowed(detail(world.handler, pk)) == ["sign", "record_progress", "request_return"]
    assert allowed(detail(world.co_handler, pk)) == ["sign", "record_progress"]

    assert post(world.handler, pk, "sign").json()["status"] == "handling"
    signed = post(world.co_handler, pk, "sign").json()
    assert all(a["signed_at"] for a in signed["assignments"])
    assert post(world.co_handler, pk, "progress", {"note": "已安排养护单位排查线路"}).status_code == 200

    deadline = detail(world.dispatcher, pk).json()["handle_deadline"]
    assert post(world.handler, pk, "extension", {"hours": "8", "reason": "需更换电缆"}).status_code == 200
    assert "approve_extension" in allowed(detail(world.dispatcher, pk))
    assert "request_extension" not in allowed(detail(world.handler, pk))
    extended = post(world.dispatcher, pk, "extension-decision", {"approve": True}).json()
    assert extended["handle_deadline"] > deadline and extended["extension_hours"] == "8.00"

    assert post(world.handler, pk, "reply", {"text": "已更换灯具，恢复照明。"}).json()["status"] == "replied"
    assert post(world.supervisor, pk, "review", {"approve": True}).json()["status"] == "follow_up"
    followed = post(world.operator, pk, "follow-up", {"satisfaction": "dissatisfied", "resolved": False})
    assert followed.json()["status"] == "follow_up"
    assert allowed(detail(world.dispatcher, pk)) == ["follow_up", "reopen", "archive"]

    reopened = post(world.dispatcher, pk, "reopen", {"reason": "市民反映仍有一盏不亮"}).json()
    assert (reopened["status"], reopened["reopen_count"]) == ("dispatched", 1)
    post(world.handler, pk, "sign")
    post(world.handler, pk, "reply", {"text": "剩余一盏已修复。"})
    post(world.dispatcher, pk, "review", {"approve": True})
    closed = post(world.operator, pk, "follow-up", {"satisfaction": "satisfied", "resolved": True}).json()
    assert (closed["status"], closed["satisfaction"], closed["resolved"]) == ("archived", "satisfied", True)

    timeline = client_for(world.handler).get(f"/api/v1/workorders/{pk}/events/")
    assert timeline.status_code == 200
    assert [e["action"] for e in timeline.json()] == [
        "register", "dispatch", "sign", "sign", "record_progress", "request_extension", "approve_extension",
        "reply", "approve_reply", "follow_up", "reopen", "sign", "reply", "approve_reply", "follow_up",
    ]
    assert timeline.json()[1]["unit"]["code"] == "ST-310109010"
    assert timeline.json()[0]["actor"] == "话务员小王"
    assert (closed["status_label"], closed["satisfaction_label"], closed["channel_label"]) == ("已归档", "满意", "接口")
    first = timeline.json()[0]
    assert (first["action_label"], first["from_status_label"], first["to_status_label"]) == ("登记", "", "待派单")


def test_return_is_arbitrated_and_redispatched_to_named_units(world, make_order):
    order = make_order()
    post(world.dispatcher, order.pk, "dispatch")
    returned = post(world.handler, order.pk, "return",
                    {"reason_code": "not_our_duty", "reason": "属市场监管职责", "suggested_unit": "SCJG"})
    assert returned.json()["status"] == "return_requested"
    assert allowed(detail(world.dispatcher, order.pk)) == ["approve_return", "reject_return", "escalate", "merge",
                                                       "link"]
    assert post(world.dispatcher, order.pk, "return-decision", {"approve": True}).json()["status"] == "registered"

    redispatched = post(world.dispatcher, order.pk, "dispatch", {"lead_unit": "SCJG", "co_units": ["JGW"]})
    assert redispatched.json()["lead_unit"]["code"] == "SCJG"
    assert sorted(a["unit"]["code"] for a in redispatched.json()["assignments"]) == ["JGW", "SCJG"]


def test_escalate_merge_archive_and_direct_answer(world, make_order):
    master, duplicate = make_order(), make_order()
    escalated = post(world.supervisor, master.pk, "escalate", {"note": "请加快办理"}).json()
    assert escalated["escalation_count"] == 1
    merged = post(world.operator, duplicate.pk, "merge", {"master": master.number, "reason": "同一路灯"})
    assert (merged.json()["status"], merged.json()["master"]) == ("merged", master.number)
    assert merged.json()["allowed_actions"] == []

    consultation = make_order(appeal_type="consultation")
    answered = post(world.operator, consultation.pk, "answer", {"answer": "可在一网通办办理。"}).json()
    assert (answered["status"], answered["direct_answer"]) == ("archived", True)

    at_intake = create(world.operator, {"appeal_type": "consultation", "direct_answer": "请拨打 12345 转 1。"})
    assert at_intake.status_code == 201 and at_intake.json()["status"] == "archived"


def test_city_transfer_needs_its_number_and_deadline(world):
    missing = create(world.system, {"channel": "city"})
    assert missing.status_code == 400
    assert missing.json()["errors"] == {"city_number": ["市级工单编号不能为空"]}
    ok = create(world.system, {"channel": "city", "city_number": "SH2026112300001",
                               "city_deadline": "2026-12-01T17:00:00+08:00"})
    assert ok.status_code == 201 and ok.json()["channel"] == "city"
    again = create(world.system, {"channel": "city", "city_number": "SH2026112300001",
                                  "city_deadline": "2026-12-01T17:00:00+08:00"})
    assert (again.status_code, again.json()["id"]) == (200, ok.json()["id"])


# --- idempotent intake ---------------------------------------------------------------


def test_same_idempotency_key_twice_creates_one_order(world):
    first = create(world.system, headers={"Idempotency-Key": "call-0001"})
    retry = create(world.system, headers={"Idempotency-Key": "call-0001"})
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    assert retry.status_code == 200 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["id"] == first.json()["id"]
    assert WorkOrder.objects.count() == 1
    assert Event.objects.filter(action="register").count() == 1


def test_idempotency_key_in_the_body_and_scoped_per_user(world):
    first = create(world.system, {"idempotency_key": "k-42"})
    retry = create(world.system, {"idempotency_key": "k-42"})
    other_user = create(world.operator, {"idempotency_key": "k-42"})
    assert (first.status_code, retry.status_code, other_user.status_code) == (201, 200, 201)
    assert retry.json()["id"] == first.json()["id"] != other_user.json()["id"]
    assert WorkOrder.objects.count() == 2


def test_reused_key_for_another_appeal_is_refused(world):
    create(world.system, headers={"Idempotency-Key": "k-1"})
    clash = create(world.system, {"title": "另一件事"}, headers={"Idempotency-Key": "k-1"})
    assert clash.status_code == 400
    assert clash.json()["code"] == "idempotency_conflict"
    assert WorkOrder.objects.count() == 1


# Reference data (units, SLA rules) comes from data migrations; serialized rollback
# reloads it after an earlier transactional test flushed the database.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent requests need a server database")
def test_concurrent_retries_with_one_key_create_one_order(world):
    barrier = threading.Barrier(4)
    statuses, ids = [], set()

    def send():
        barrier.wait()
        try:
            response = create(world.system, headers={"Idempotency-Key": "burst-1"})
            statuses.append(response.status_code)
            ids.add(response.json()["id"])
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 200, 200, 201]
    assert len(ids) == 1 and WorkOrder.objects.count() == 1


# --- errors -------------------------------------------------------------------------


@pytest.mark.parametrize("body, field, message", [
    ({"category": "9999999"}, "category", "分类代码「9999999」不存在"),
    ({"street": "不存在路街道"}, "street", "街道「不存在路街道」不存在（可填代码或名称）"),
    ({"committee": "000"}, "committee", "居委代码「000」不存在"),
    ({"committee": "310109009002"}, "committee", "居委「欧二居委会」不属于街道「曲阳路」"),
    ({"title": ""}, "title", None),
    ({"appellant_phone": "call me"}, "appellant_phone", "联系电话只能包含数字、空格和 + - ( )"),
    ({"latitude": "91"}, "latitude", "latitude 超出范围 [-90, 90]"),
])
def test_bad_intake_is_a_400_naming_the_field_and_creates_nothing(world, body, field, message):
    response = create(world.operator, body)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == [field]
    if message:
        assert errors[field] == [message]
    assert WorkOrder.objects.count() == 0


def test_bad_action_input_is_a_400_naming_the_field(world, make_order):
    order = make_order()
    unknown_unit = post(world.dispatcher, order.pk, "dispatch", {"lead_unit": "NOPE"})
    assert unknown_unit.status_code == 400
    assert unknown_unit.json()["errors"] == {"lead_unit": ["单位代码「NOPE」不存在"]}
    no_master = post(world.operator, order.pk, "merge", {"master": "HK000"})
    assert no_master.json()["errors"] == {"master": ["主工单「HK000」不存在或不在可见范围内"]}
    missing = post(world.dispatcher, order.pk, "escalate", {})
    assert missing.status_code == 400 and list(missing.json()["errors"]) == ["note"]
    order.refresh_from_db()
    assert order.status == Status.REGISTERED and order.escalation_count == 0


def test_illegal_transition_is_a_409_and_changes_nothing(world, make_order):
    order = make_order()
    response = post(world.dispatcher, order.pk, "review", {"approve": True})
    assert response.status_code == 409
    assert response.json() == {"code": "illegal_transition", "detail": "工单当前状态为「待派单」，不能执行「审核通过」"}
    assert list(Event.objects.filter(order=order).values_list("action", flat=True)) == ["register"]


def test_unit_handler_acting_on_another_units_order_is_a_403(world, make_order):
    order = make_order()
    services.dispatch(order, actor=world.dispatcher)  # lead: the street office; co: JGW
    services.sign(order, actor=world.handler)
    reply = post(world.co_handler, order.pk, "reply", {"text": "协办单位擅自答复"})
    assert reply.status_code == 403 and reply.json()["code"] == "forbidden"
    assert post(world.handler, order.pk, "dispatch", {"lead_unit": "JGW"}).status_code == 403
    order.refresh_from_db()
    assert order.status == Status.HANDLING and order.reply == "" and order.lead_unit == world.street_office


def test_order_outside_the_units_scope_is_a_404(world, make_order):
    order = make_order()
    services.dispatch(order, actor=world.dispatcher)
    assert detail(world.outsider, order.pk).status_code == 404
    assert client_for(world.outsider).get(f"/api/v1/workorders/{order.pk}/events/").status_code == 404
    assert post(world.outsider, order.pk, "sign").status_code == 404
    assert client_for(world.outsider).get("/api/v1/workorders/").json()["count"] == 0
    order.refresh_from_db()
    assert order.status == Status.DISPATCHED and order.signed_at is None


# --- personal data --------------------------------------------------------------------


def test_personal_data_is_masked_for_roles_that_do_not_need_it(world, make_order):
    order = make_order()
    services.dispatch(order, actor=world.dispatcher)
    clear = {"appellant_name": "张三", "appellant_phone": "13812345678", "address": "曲阳路800弄12号", "masked": False}
    masked = {"appellant_name": "张*", "appellant_phone": "138****5678", "address": "曲阳路***弄**号", "masked": True}
    for user in (world.operator, world.dispatcher, world.handler):
        assert detail(user, order.pk).json()["personal_data"] == clear
    for user in (world.supervisor, world.admin):
        assert detail(user, order.pk).json()["personal_data"] == masked
        assert client_for(user).get("/api/v1/workorders/").json()["results"][0]["personal_data"] == masked


def test_citizen_sees_own_appeal_in_clear_and_nothing_else(world, make_order):
    make_order()
    own = create(world.citizen, {"appellant_name": "", "appellant_phone": ""})
    listed = client_for(world.citizen).get("/api/v1/workorders/").json()
    assert [o["id"] for o in listed["results"]] == [own.json()["id"]]
    assert listed["results"][0]["personal_data"]["appellant_phone"] == "13900001111"


def test_every_unmasked_view_is_audited_in_one_insert(world, make_order):
    orders = [make_order() for _ in range(3)]
    with CaptureQueriesContext(connection) as queries:
        response = client_for(world.dispatcher).get("/api/v1/workorders/")
    assert response.status_code == 200
    inserts = [q for q in queries.captured_queries if q["sql"].startswith("INSERT") and "core_auditentry" in q["sql"]]
    assert len(inserts) == 1
    rows = AuditEntry.objects.filter(action="view_pii", actor=world.dispatcher)
    assert sorted(rows.values_list("object_id", flat=True)) == sorted(str(o.pk) for o in orders)
    assert set(rows.values_list("object_type", flat=True)) == {"workorders.workorder"}

    detail(world.dispatcher, orders[0].pk)
    assert rows.filter(object_id=str(orders[0].pk)).count() == 2


def test_intake_answer_is_not_a_disclosure_but_a_replay_is(world):
    """The 201 echoes the personal data the client sent; a replay shows what is stored."""
    client = client_for(world.operator)
    body = {"title": "路灯不亮", "content": "小区门口路灯坏了三天", "appeal_type": "request",
            "appellant_name": "王先生", "appellant_phone": "13800001234"}
    first = client.post("/api/v1/workorders/", body, format="json", HTTP_IDEMPOTENCY_KEY="audit-1")
    assert first.status_code == 201 and first.json()["personal_data"]["masked"] is False
    assert not AuditEntry.objects.filter(action="view_pii").exists()

    again = client.post("/api/v1/workorders/", body, format="json", HTTP_IDEMPOTENCY_KEY="audit-1")
    assert again.status_code == 200
    assert list(AuditEntry.objects.filter(action="view_pii").values_list("actor", "object_id")) == [
        (world.operator.pk, str(first.json()["id"]))]


def test_masked_views_write_no_audit_rows(world, make_order):
    make_order()
    client_for(world.supervisor).get("/api/v1/workorders/")
    assert not AuditEntry.objects.filter(action="view_pii").exists()


# --- list filters -----------------------------------------------------------------------


def _ids(user, **params):
    response = client_for(user).get("/api/v1/workorders/", params)
    assert response.status_code == 200, response.json()
    return sorted(o["id"] for o in response.json()["results"])


def test_list_filters(world, make_order):
    lamp = make_order(now=dt.datetime(2026, 11, 2, 10, tzinfo=SHANGHAI))
    shop = make_order(title="超市出售过期食品", content="某超市出售过期牛奶",
                      category=factories.category("市场监管"), street=factories.street("嘉兴路"),
                      appeal_type="complaint", now=dt.datetime(2026, 11, 20, 10, tzinfo=SHANGHAI))
    services.dispatch(lamp, actor=world.dispatcher)
    d = world.dispatcher
    assert _ids(d, status="dispatched") == [lamp.pk]
    assert _ids(d, status=["dispatched", "registered"]) == [lamp.pk, shop.pk]
    assert _ids(d, appeal_type="complaint") == [shop.pk]
    assert _ids(d, street="310109014") == [shop.pk]
    assert _ids(d, lead_unit="ST-310109010") == [lamp.pk]
    assert _ids(d, category=lamp.category.code[:2]) == [lamp.pk]  # top level includes its descendants
    assert _ids(d, category=lamp.category.code) == [lamp.pk]
    assert _ids(d, q="过期") == [shop.pk]
    assert _ids(d, q=lamp.number) == [lamp.pk]
    assert _ids(d, created_at_after="2026-11-10T00:00:00+08:00") == [shop.pk]
    assert _ids(d, created_at_before="2026-11-10T00:00:00+08:00") == [lamp.pk]
    assert _ids(d, sla_state="red") == []
    assert _ids(d, channel="phone", urgency="normal") == [lamp.pk, shop.pk]
    bad = client_for(d).get("/api/v1/workorders/", {"street": "999"})
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["street"]


def test_list_is_paginated_by_limit_and_offset(world, make_order):
    for _ in range(3):
        make_order()
    page = client_for(world.operator).get("/api/v1/workorders/", {"limit": 2, "offset": 1}).json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"] is None


# --- queries --------------------------------------------------------------------------


def _queries_for_list(user) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client_for(user).get("/api/v1/workorders/", {"limit": 100})
    assert response.status_code == 200
    return len(queries.captured_queries)


def test_list_uses_a_constant_number_of_queries(world, make_order, django_assert_max_num_queries):
    def add_orders(n):
        for _ in range(n):
            services.dispatch(make_order(), actor=world.dispatcher)

    add_orders(10)
    baseline = {user: _queries_for_list(user) for user in (world.dispatcher, world.handler, world.supervisor)}
    add_orders(90)
    for user, count in baseline.items():
        with django_assert_max_num_queries(count):
            response = client_for(user).get("/api/v1/workorders/", {"limit": 100})
        assert len(response.json()["results"]) == 100


# --- OpenAPI ----------------------------------------------------------------------------


def test_openapi_document_lists_every_action_and_validates(world, tmp_path):
    response = client_for(world.operator).get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for name in ACTION_PATHS:
        assert f"/api/v1/workorders/{{id}}/{name}/" in paths, name
        assert "post" in paths[f"/api/v1/workorders/{{id}}/{name}/"]
    assert "/api/v1/workorders/{id}/events/" in paths
    # Raises on any warning or on a document that does not validate against the OpenAPI schema.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "openapi.yaml"))
