"""The demo seed: history from a tiny public-appeals file, live orders through the services."""

import csv
import datetime as dt
import io
import re
from collections import defaultdict

import pytest

from yiwang.core.calendar import SHANGHAI
from yiwang.demo import history
from yiwang.demo.seed import LIVE_ORDER_COUNT, seed_accounts, seed_demo
from yiwang.org.models import Category
from yiwang.workorders.models import (
    Assignment, Decision, Event, ExtensionRequest, FollowUp, ReturnRequest, WorkOrder,
)
from yiwang.workorders.states import Action, Status, allowed

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 15, 0, tzinfo=SHANGHAI)  # a Friday afternoon

REPLIES = [
    {"id": "11", "user": "U1", "time": "2019-04-25 09:32:09", "title": "A2区某小区物业管理有问题",
     "detail": "小区物业公司长期不处理楼道堆物，业主多次反映无果。", "reply": "您好，经核查已督促物业整改。",
     "reply_time": "2019-05-10 14:56:53"},
    {"id": "12", "user": "U2", "time": "2019-06-03 20:00:00", "title": "咨询公积金提取",
     "detail": "请问住房公积金提取需要哪些材料？", "reply": "您好，请携带身份证到服务网点办理。",
     "reply_time": "2019-06-01 10:00:00"},  # before the appeal: a bad row whose reply time is not used
]
PUBLIC = [
    {"id": "21", "user": "U1", "time": "2019-02-28 11:25:05", "title": "夜间施工噪音扰民",
     "detail": "工地每天晚上十一点以后还在施工，噪音很大。", "likes": "3", "opposes": "0"},
    {"id": "22", "user": "U3", "time": "2019-07-19 18:19:54", "title": "路灯不亮",
     "detail": "小区门口路灯连续一周不亮。", "likes": "0", "opposes": "0"},
    {"id": "23", "user": "U4", "time": "not a time", "title": "无效时间", "detail": "这一行没有可用的时间。",
     "likes": "0", "opposes": "0"},
]


def write_csv(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def tiny_data(settings, tmp_path):
    write_csv(tmp_path / "appeals_with_replies.csv", REPLIES)
    write_csv(tmp_path / "appeals_public_2019.csv", PUBLIC)
    settings.DATA_DIR = tmp_path
    return tmp_path


def assert_consistent_chains(orders):
    """Every order's events start with its registration, follow the transition table and end in its status."""
    events = defaultdict(list)
    for event in Event.objects.filter(order__in=orders).order_by("created_at", "id"):
        events[event.order_id].append(event)
    for order in orders:
        chain = events[order.pk]
        assert chain[0].action in (Action.REGISTER, Action.TRANSFER_FROM_CITY), order.external_ref
        assert chain[0].from_status == ""
        current = None
        for event in chain:
            assert (event.from_status or None) == current, (order.external_ref, event.action)
            co_sign = event.action == Action.SIGN and event.data.get("role") == "co"
            assert co_sign or allowed(event.action, current, event.to_status), (order.external_ref, event.action)
            current = event.to_status
        assert current == order.status, order.external_ref


def test_seed_imports_history_and_live_orders_with_consistent_chains(tiny_data):
    out = io.StringIO()
    result = seed_demo(stdout=out, now=NOW)

    history_orders = list(WorkOrder.objects.filter(external_ref__startswith="tipdm:"))
    assert sorted(o.external_ref for o in history_orders) == [
        "tipdm:appeals_public_2019.csv:21", "tipdm:appeals_public_2019.csv:22",
        "tipdm:appeals_with_replies.csv:11", "tipdm:appeals_with_replies.csv:12",
    ]
    assert result["history"]["orders"] == 4
    assert result["live"] == LIVE_ORDER_COUNT
    assert WorkOrder.objects.count() == 4 + LIVE_ORDER_COUNT
    assert "Importing demo history: 4 appeals" in out.getvalue()
    assert_consistent_chains(WorkOrder.objects.all())

    for order in history_orders:
        assert order.status == Status.ARCHIVED and order.closed_at and order.satisfaction
        assert re.fullmatch(r"170\d{8}", order.appellant_phone)
        assert order.number == f"HK{order.created_at.astimezone(SHANGHAI):%Y%m%d}{order.pk:06d}"
        lead = Assignment.objects.get(order=order, active=True, role="lead")
        assert lead.unit_id == order.lead_unit_id and lead.signed_at == order.signed_at
        assert FollowUp.objects.filter(order=order).count() == order.reopen_count + 1
        reply = Event.objects.filter(order=order, action=Action.REPLY).last()
        assert reply.data["on_time"] == (order.replied_at <= order.handle_deadline)
        overdue_flagged = Event.objects.filter(order=order, action=Action.SLA_RED).exists()
        assert overdue_flagged == (order.replied_at > order.handle_deadline)

    real = WorkOrder.objects.get(external_ref="tipdm:appeals_with_replies.csv:11")
    assert real.created_at == dt.datetime(2019, 4, 25, 9, 32, 9, tzinfo=SHANGHAI)
    if real.reopen_count == 0:
        assert real.reply == "您好，经核查已督促物业整改。"
        assert real.replied_at == dt.datetime(2019, 5, 10, 14, 56, 53, tzinfo=SHANGHAI)
    repeat = WorkOrder.objects.get(external_ref="tipdm:appeals_public_2019.csv:21")
    assert repeat.appellant_phone == real.appellant_phone  # the same poster is the same caller
    assert repeat.category.path == "环境保护/环境污染/噪音污染"
    assert WorkOrder.objects.get(external_ref="tipdm:appeals_public_2019.csv:22").category.path.endswith("城市公共设施")
    bad_reply = WorkOrder.objects.get(external_ref="tipdm:appeals_with_replies.csv:12")
    assert bad_reply.replied_at > bad_reply.created_at


def test_live_orders_cover_every_stage_and_the_staffed_units(tiny_data):
    seed_demo(stdout=io.StringIO(), now=NOW)
    live = WorkOrder.objects.filter(external_ref="yiwang-demo:live")

    statuses = set(live.values_list("status", flat=True))
    assert statuses == {s.value for s in Status}
    assert all(NOW - dt.timedelta(days=21) <= o.created_at <= NOW for o in live)
    assert ReturnRequest.objects.filter(decision=Decision.PENDING).count() == 10
    assert ExtensionRequest.objects.filter(decision=Decision.PENDING).count() == 8
    handling = live.filter(status=Status.HANDLING)
    assert handling.filter(sla_state="yellow").exists() and handling.filter(sla_state="red").exists()
    beyond_dispatch = live.exclude(status__in=[Status.REGISTERED, Status.DISPATCHED, Status.MERGED])
    beyond_dispatch = beyond_dispatch.exclude(direct_answer=True)
    assert set(beyond_dispatch.values_list("lead_unit__code", flat=True)) <= {"ST-310109010", "JGW", "SCJG"}
    # Orders led by the street office are in its own street: the routing rule sends them there.
    assert not live.filter(lead_unit__code="ST-310109010").exclude(street__name="曲阳路").exists()
    assert Event.objects.filter(order__in=live, action=Action.SLA_YELLOW, created_at=NOW).exists()


def test_seed_is_idempotent(tiny_data):
    seed_demo(stdout=io.StringIO(), now=NOW)
    before = (WorkOrder.objects.count(), Event.objects.count())

    result = seed_demo(stdout=io.StringIO(), now=NOW)

    assert result["created"] == 0
    assert (WorkOrder.objects.count(), Event.objects.count()) == before


def test_history_from_templates_when_data_are_absent(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "missing"
    seed_accounts()

    totals = history.seed_history(stdout=io.StringIO(), now=NOW)

    orders = WorkOrder.objects.all()
    assert totals["orders"] == history.TEMPLATE_HISTORY_SIZE == orders.count()
    assert not orders.exclude(status=Status.ARCHIVED).exists()
    assert not orders.filter(closed_at__gte=NOW).exists()
    assert orders.filter(external_ref__startswith="yiwang-demo:template:").count() == orders.count()
    assert_consistent_chains(orders)
    satisfied = orders.filter(satisfaction__in=["satisfied", "basically"]).count() / orders.count()
    assert 0.88 <= satisfied <= 0.99
    late = sum(o.replied_at > o.handle_deadline for o in orders)
    assert 0 < late < orders.count() * 0.2


def test_keyword_and_template_categories_exist():
    paths = set(Category.objects.filter(level=3).values_list("path", flat=True))
    assert set(history.KEYWORDS.values()) <= paths
    assert {t[2] for t in history.TEMPLATES} <= paths
    assert history.DEFAULT_CATEGORY in paths


def test_category_matcher_prefers_title_and_falls_back_to_default():
    matcher = history.CategoryMatcher(Category.objects.filter(active=True))

    assert matcher.match("楼下饭店油烟直排", "").path == "环境保护/环境污染/大气污染"
    assert matcher.match("请尽快修复", "门口路灯不亮").path == "城乡建设/城市建设和市政管理/城市公共设施"
    assert matcher.match("一个问题", "说不清楚").path == history.DEFAULT_CATEGORY
