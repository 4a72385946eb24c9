"""The per-process reference cache of the REST intake: fewer queries, changes seen when saved."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from yiwang.org.models import Category, Street
from yiwang.workorders import refcache
from yiwang.workorders.models import WorkOrder

INTAKE = {
    "title": "曲阳路某小区门口路灯不亮",
    "content": "曲阳路 800 弄门口路灯连续一周不亮，夜间行人不便。",
    "category": "0102001",
    "street": "曲阳路街道",
    "appellant_phone": "13812345678",
}


@pytest.fixture
def empty_cache():
    refcache.clear_all()
    yield
    refcache.clear_all()


def intake(user, **body):
    client = APIClient()
    client.force_authenticate(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v1/workorders/", {**INTAKE, **body}, format="json")
    reference_reads = [q["sql"] for q in queries.captured_queries
                       if q["sql"].startswith("SELECT") and ('"org_category"' in q["sql"] or '"org_street"' in q["sql"])]
    return response, reference_reads


# Outside a test transaction, as the REST intake runs in production: rows read there are kept.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_second_intake_reads_no_reference_rows_and_a_saved_change_is_seen_at_once(world, empty_cache):
    first, reads = intake(world.operator)
    assert first.status_code == 201 and len(reads) == 2

    second, reads = intake(world.operator, street="310109010")
    assert second.status_code == 201 and len(reads) == 1 and '"org_street"' in reads[0]  # a new key: looked up
    third, reads = intake(world.operator)
    assert third.status_code == 201 and reads == []
    assert WorkOrder.objects.filter(category__code="0102001", street__name="曲阳路").count() == 3

    category = Category.objects.get(code="0102001")
    category.active = False
    category.save()
    refused, _ = intake(world.operator)
    assert refused.status_code == 400 and refused.json()["errors"]["category"] == ["分类代码「0102001」不存在"]

    street = Street.objects.get(name="曲阳路")
    street.name = "曲阳"
    street.save()
    renamed, _ = intake(world.operator, category="0102002")
    assert renamed.status_code == 400 and list(renamed.json()["errors"]) == ["street"]


def test_rows_read_inside_a_transaction_are_not_kept(world, empty_cache):
    response, reads = intake(world.operator)
    assert response.status_code == 201 and len(reads) == 2
    # A test (like an import that fails) may roll back what it read: nothing was kept.
    assert refcache.categories.rows == {} and refcache.streets.rows == {}


def test_cache_expires_after_ttl(world, empty_cache, monkeypatch):
    refcache.categories.rows["0102001"] = "stale"
    monkeypatch.setattr(refcache.categories, "expires", 0.0)
    response, reads = intake(world.operator)
    assert response.status_code == 201 and any('"org_category"' in q for q in reads)
    assert response.json()["category"]["code"] == "0102001"
