"""The keyword-search indexes' pending lists: kept long enough by the migration, merged by the follower."""

import pytest
from django.db import connection

from yiwang.demo import factories
from yiwang.workorders import followers, search_index
from yiwang.workorders.filtersets import WorkOrderFilterSet
from yiwang.workorders.models import WorkOrder

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="GIN indexes are PostgreSQL's")


def reloptions(index: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [index])
        return cursor.fetchone()[0] or []


def test_the_worker_runs_the_merge():
    assert followers.FOLLOWERS["search-index-pending"] is search_index.follow


@on_postgresql
@pytest.mark.django_db
def test_the_migration_raises_the_pending_limit_of_every_trigram_index():
    for index in ("wo_number_trgm", "wo_title_trgm", "wo_content_trgm"):
        assert "gin_pending_list_limit=16384" in reloptions(index)


@on_postgresql
def test_new_orders_wait_in_the_pending_list_until_the_merge_and_are_found_before_and_after(world):
    for n in range(30):
        factories.make_order(world.operator, title=f"井盖缺失 {n}", content="曲阳路上井盖缺失，夜间行人容易踩空。" * 20)

    def found():
        return WorkOrderFilterSet({"q": "井盖缺失"}, queryset=WorkOrder.objects.all()).qs.count()

    assert found() == 30
    assert search_index.merge_pending() > 0  # the inserts left their entries pending
    assert search_index.merge_pending() == 0  # and the merge took all of them
    assert found() == 30
    assert search_index.follow() == 0  # pages are not orders: never a backlog for the loop


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite's case")
def test_on_sqlite_there_is_nothing_to_merge(db):
    assert search_index.merge_pending() == 0
