"""Keyword searches count at most a bounded number of rows; order-number prefixes use the number alone."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from yiwang.workorders import pagination, views
from yiwang.workorders.filtersets import WorkOrderFilterSet
from yiwang.workorders.models import WorkOrder
from yiwang.workorders.pagination import BoundedPaginator

pytestmark = pytest.mark.django_db


@pytest.fixture
def five_noisy(make_order):
    return [make_order(title=f"噪音扰民{i}") for i in range(5)]


def test_bounded_paginator_stops_at_its_cap(five_noisy):
    paginator = BoundedPaginator(WorkOrder.objects.order_by("-id"), 2, count_cap=3)
    assert (paginator.count, paginator.capped, paginator.count_label) == (3, True, "3+")
    assert paginator.num_pages_label == "2+"
    exact = BoundedPaginator(WorkOrder.objects.all(), 2)
    assert (exact.count, exact.capped, exact.count_label) == (5, False, "5")
    under = BoundedPaginator(WorkOrder.objects.all(), 2, count_cap=5)
    assert (under.count, under.capped) == (5, False)


def test_bounded_count_is_a_limited_subquery_without_ordering(five_noisy):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert pagination.bounded_count(WorkOrder.objects.order_by("-created_at"), 3) == (3, True)
    sql = ctx.captured_queries[0]["sql"].upper()
    assert "LIMIT 4" in sql and "ORDER BY" not in sql


def test_a_keyword_too_short_for_a_trigram_counts_less_far():
    assert pagination.keyword_count_cap({}) is None
    assert pagination.keyword_count_cap({"q": "  "}) is None
    assert pagination.keyword_count_cap({"q": "噪音"}) == pagination.SHORT_KEYWORD_COUNT_CAP == 1_000
    assert pagination.keyword_count_cap({"q": " 噪音扰 "}) == pagination.KEYWORD_COUNT_CAP == 10_000


def test_the_list_page_shows_a_capped_count_only_for_a_keyword(world, five_noisy, monkeypatch):
    monkeypatch.setattr(pagination, "SHORT_KEYWORD_COUNT_CAP", 3)
    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    client = Client()
    client.force_login(world.dispatcher)
    # Page 1 of 1 per page: the cap is max(3, 2 pages) = 3.
    response = client.get("/orders/?q=噪音")
    assert response.status_code == 200
    assert "共 3+ 件" in response.content.decode()
    assert "第 1 / 3+ 页" in response.content.decode()
    # Asking for page 3 counts one page further, so "下一页" is still offered.
    page3 = client.get("/orders/?q=噪音&page=3")
    assert "共 4+ 件" in page3.content.decode()
    assert page3.context["page"].has_next()
    exact = client.get("/orders/")
    assert "共 5 件" in exact.content.decode()


def test_the_rest_list_flags_a_capped_count(world, five_noisy, monkeypatch):
    monkeypatch.setattr(pagination, "KEYWORD_COUNT_CAP", 3)
    monkeypatch.setattr(pagination, "SHORT_KEYWORD_COUNT_CAP", 2)
    client = APIClient()
    client.force_authenticate(world.dispatcher)
    body = client.get("/api/v1/workorders/", {"q": "噪音扰民", "limit": 1}).json()
    assert (body["count"], body["count_capped"], len(body["results"])) == (3, True, 1)
    assert body["next"]
    short = client.get("/api/v1/workorders/", {"q": "噪音", "limit": 1}).json()
    assert (short["count"], short["count_capped"]) == (2, True)
    body = client.get("/api/v1/workorders/", {"q": "噪音扰民", "limit": 1, "offset": 4}).json()
    assert body["count"] == 5 and body["count_capped"] is False and body["next"] is None
    body = client.get("/api/v1/workorders/", {"limit": 1}).json()
    assert (body["count"], body["count_capped"]) == (5, False)


def test_an_order_number_prefix_matches_the_number_alone(world, make_order):
    order = make_order(title="HK风格装修噪音")
    prefix = order.number[:8].lower()  # "hk2026…": users type it in either case
    filterset = WorkOrderFilterSet({"q": prefix}, queryset=WorkOrder.objects.all())
    assert list(filterset.qs) == [order]
    where = str(filterset.qs.query).split(" WHERE ", 1)[1]
    assert "title" not in where and "content" not in where
    assert f"LIKE {order.number[:8]}%" in where.replace("'", "")
    # Not a prefix of a number: the usual search in title and content.
    assert list(WorkOrderFilterSet({"q": "HK风格"}, queryset=WorkOrder.objects.all()).qs) == [order]
    assert list(WorkOrderFilterSet({"q": order.number[2:]}, queryset=WorkOrder.objects.all()).qs) == [order]
