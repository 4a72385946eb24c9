"""API keys are looked up once per few seconds per process, and forgotten when changed."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from yiwang.accounts.models import ApiKey
from yiwang.accounts.services import create_api_key

# Outside a test transaction, as requests run: rows read inside one are never kept.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def lookups(raw: str) -> tuple[ApiKey | None, int]:
    with CaptureQueriesContext(connection) as queries:
        key = ApiKey.authenticate(raw)
    return key, sum('"accounts_apikey"' in q["sql"] and q["sql"].startswith("SELECT") for q in queries)


def test_a_second_request_within_the_window_does_not_query(world):
    _, raw = create_api_key(name="cache-a", username=world.operator.username)
    first, queried = lookups(raw)
    assert first.user == world.operator and queried == 1
    second, queried = lookups(raw)
    assert second.user == world.operator and queried == 0
    # Each request gets its own objects.
    assert second is not first and second.user is not first.user
    second.user.display_name = "changed by one request"
    assert ApiKey.authenticate(raw).user.display_name == world.operator.display_name


def test_revoking_or_deactivating_through_the_orm_takes_effect_at_once(world):
    key, raw = create_api_key(name="cache-b", username=world.dispatcher.username)
    assert ApiKey.authenticate(raw) is not None
    key.revoked_at = timezone.now()
    key.save()
    assert ApiKey.authenticate(raw) is None

    _, raw = create_api_key(name="cache-c", username=world.supervisor.username)
    assert ApiKey.authenticate(raw) is not None
    world.supervisor.is_active = False
    world.supervisor.save()
    assert ApiKey.authenticate(raw) is None


def test_zero_seconds_turns_the_cache_off(world, settings):
    settings.API_KEY_CACHE_SECONDS = 0
    _, raw = create_api_key(name="cache-d", username=world.operator.username)
    assert lookups(raw)[1] == 1
    assert lookups(raw)[1] == 1


def test_a_key_read_inside_a_transaction_is_not_kept(world):
    _, raw = create_api_key(name="cache-f", username=world.operator.username)
    with transaction.atomic():
        assert lookups(raw)[1] == 1
    assert lookups(raw)[1] == 1
    assert lookups(raw)[1] == 0


def test_an_expired_entry_is_looked_up_again(world, monkeypatch):
    _, raw = create_api_key(name="cache-e", username=world.operator.username)
    assert lookups(raw)[1] == 1
    ApiKey.objects.update(revoked_at=timezone.now())  # a bulk update sends no signal: the entry stays
    assert lookups(raw)[0] is not None
    import time as real_time

    later = real_time.monotonic() + 11
    monkeypatch.setattr("yiwang.core.refcache.time.monotonic", lambda: later)
    assert lookups(raw) == (None, 1)
