"""The list filters stay cheap on large tables: no DISTINCT, no OR over columns a keyword cannot match."""

from __future__ import annotations

import pytest

from yiwang.workorders.filtersets import WorkOrderFilterSet
from yiwang.workorders.forms import order_filters
from yiwang.workorders.models import WorkOrder

pytestmark = pytest.mark.django_db


def _sql(filterset) -> str:
    return str(filterset.qs.query)


def _where(filterset) -> str:
    return _sql(filterset).split(" WHERE ", 1)[1]


def test_multiple_choice_filters_do_not_select_distinct(world):
    data = {"street": ["310109010"], "channel": ["phone"], "status": ["registered"], "lead_unit": ["JGW"]}
    filterset = WorkOrderFilterSet(data, queryset=WorkOrder.objects.all())
    assert filterset.is_valid(), filterset.errors
    assert "DISTINCT" not in _sql(filterset)


def test_a_chinese_keyword_searches_title_and_content_only(world, make_order):
    order = make_order(title="噪音扰民", content="楼下饭店晚上噪音大")
    filterset = WorkOrderFilterSet({"q": "噪音"}, queryset=WorkOrder.objects.all())
    assert list(filterset.qs) == [order]
    assert '"number"' not in _where(filterset)


def test_an_ascii_keyword_still_finds_the_order_number(world, make_order):
    order = make_order()
    filterset = WorkOrderFilterSet({"q": order.number[-6:]}, queryset=WorkOrder.objects.all())
    assert order in list(filterset.qs)


def test_the_page_finds_a_phone_by_its_digits_for_roles_that_see_it(world, make_order):
    order = make_order(appellant_phone="13912345678")
    page = order_filters({"q": "12345678"}, WorkOrder.objects.all(), user=world.dispatcher)
    assert order in list(page.qs)
    page = order_filters({"q": "噪音"}, WorkOrder.objects.all(), user=world.dispatcher)
    assert "appellant_phone" not in _where(page)
