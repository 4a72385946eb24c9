"""Intake-time repeat-call lookup: the selector on this database's path, and its JSON endpoint.

The same tests run the SQLite bigram scan in the normal suite and the pg_trgm
index path when DATABASE_URL names PostgreSQL (test_uses_the_trigram_index too).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from yiwang.demo import factories
from yiwang.insight.lookup import similar_open_orders
from yiwang.workorders import services
from yiwang.workorders.models import WorkOrder

pytestmark = pytest.mark.django_db

NOISE = "曲阳路小区夜间施工噪音扰民"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def orders(world, make_order):
    return dict(
        noise=make_order(title=NOISE, appellant_phone="13900000001"),
        caller=make_order(title="楼道堆放杂物无人清理", appellant_phone="13812345678"),
        other=make_order(title="公交站台广告牌破损", appellant_phone="13900000002"),
    )


def test_same_phone_and_similar_title_both_found(world, orders):
    found = {c.number: c for c in similar_open_orders(world.operator, NOISE + "严重", "", "13812345678")}
    assert set(found) == {orders["caller"].number, orders["noise"].number}
    assert found[orders["caller"].number].reason == "同一来电号码"
    noise = found[orders["noise"].number]
    assert noise.reason.startswith("标题相似 ") and noise.score >= 0.3
    assert noise.street == "曲阳路" and noise.status == "registered"


def test_the_same_caller_about_the_same_matter_ranks_first(world, make_order, orders):
    mine = make_order(title=NOISE, appellant_phone="13812345678")
    found = similar_open_orders(world.operator, NOISE, "", "13812345678")
    assert found[0].number == mine.number and found[0].reason.startswith("同一来电号码，标题相似")
    # a near-identical appeal from someone else outranks the caller's unrelated earlier call
    assert [c.number for c in found[1:]] == [orders["noise"].number, orders["caller"].number]


def test_unrelated_title_finds_nothing(world, orders):
    assert similar_open_orders(world.operator, "出租车拒载投诉", "", "") == []
    assert similar_open_orders(world.operator, "", "", "") == []


def test_same_street_ranks_higher_and_says_so(world, make_order, orders):
    elsewhere = make_order(title=NOISE, street=factories.street("欧阳路"), appellant_phone="13900000003")
    found = similar_open_orders(world.operator, NOISE, "", "", street=factories.street("曲阳路"))
    assert [c.number for c in found] == [orders["noise"].number, elsewhere.number]
    assert "同一街道" in found[0].reason and "同一街道" not in found[1].reason


def test_merged_and_old_closed_orders_are_not_candidates(world, make_order, orders):
    dup = make_order(title=NOISE, appellant_phone="13900000004")
    services.merge(dup, actor=world.dispatcher, master=orders["noise"])
    old = make_order(title=NOISE, now=timezone.now() - dt.timedelta(days=200))
    WorkOrder.objects.filter(pk=old.pk).update(status="archived")  # closed long ago
    numbers = [c.number for c in similar_open_orders(world.operator, NOISE, "", "13900000004")]
    assert numbers == [orders["noise"].number]


def test_only_orders_the_user_may_see(world, orders):
    assert similar_open_orders(world.outsider, NOISE, "", "13812345678") == []


def test_similar_endpoint(world, orders):
    client = client_for(world.operator)
    data = client.get("/orders/similar/", {"title": NOISE, "phone": "13812345678"}).json()
    # the identical title (1.0) ranks above the caller's unrelated earlier call (0.5)
    assert [(o["number"], o["reason"][:6]) for o in data["orders"]] == [
        (orders["noise"].number, "标题相似 1"), (orders["caller"].number, "同一来电号码")]
    assert data["orders"][0]["url"] == f"/orders/{orders['noise'].pk}/"
    assert client.get("/orders/similar/", {"title": "噪音"}).json()["orders"] == []  # too short to judge
    bad = client.get("/orders/similar/", {"title": "长" * 201, "street": "x"})
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"title", "street"}
    for user in (world.citizen, world.handler):
        assert client_for(user).get("/orders/similar/", {"title": NOISE}).status_code == 403


def test_intake_page_has_the_similar_panel(world):
    html = client_for(world.operator).get("/orders/new/").content.decode()
    assert 'id="similar-orders"' in html and 'data-url="/orders/similar/"' in html


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigram index exists on PostgreSQL only")
def test_uses_the_trigram_index(world, orders):
    from django.contrib.postgres.lookups import TrigramSimilar
    from django.db.models import TextField, Value

    from yiwang.insight.lookup import _upper_title
    from yiwang.workorders.selectors import visible_orders

    with connection.cursor() as cursor:
        # A tiny table would otherwise be read whole, or along the created_at index.
        cursor.execute("SET enable_seqscan = off; SET enable_indexscan = off")
        try:
            qs = visible_orders(world.operator).filter(
                TrigramSimilar(_upper_title(), Value(NOISE, output_field=TextField())))
            plan = qs.explain()
        finally:
            cursor.execute("SET enable_seqscan = on")
    assert "wo_title_trgm" in plan
