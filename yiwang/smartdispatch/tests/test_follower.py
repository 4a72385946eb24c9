"""The intake follower gives new orders their suggestion without any work in the intake request."""

import datetime as dt

import pytest
from django.utils import timezone

from yiwang.smartdispatch import jobs
from yiwang.smartdispatch.models import DispatchSuggestion
from yiwang.workorders import followers
from yiwang.workorders.states import Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def not_inline(settings):
    settings.SMARTDISPATCH_INLINE = False


def _register(make_order, row, django_capture_on_commit_callbacks, **extra):
    with django_capture_on_commit_callbacks(execute=True):
        order = make_order(title=row["title"][:200], content=row["detail"] or row["title"], category=None,
                           street=None, address="", **extra)
    return order


def test_intake_does_no_suggestion_work_and_the_follower_catches_up(
        active_model, not_inline, threshold, make_order, training_row, django_capture_on_commit_callbacks):
    threshold(1.0)
    order = _register(make_order, training_row, django_capture_on_commit_callbacks)
    assert not DispatchSuggestion.objects.exists()  # nothing queued or computed in the request
    assert followers.run_once()["smartdispatch-suggestions"] == 1
    assert DispatchSuggestion.objects.get().order == order
    assert followers.run_once()["smartdispatch-suggestions"] == 0  # idempotent: nothing left


def test_only_fresh_orders_are_dispatched_automatically(
        active_model, not_inline, threshold, make_order, training_row, django_capture_on_commit_callbacks):
    threshold(0.0)  # any confidence is enough
    fresh = _register(make_order, training_row, django_capture_on_commit_callbacks)
    backlog = _register(make_order, training_row, django_capture_on_commit_callbacks)
    type(backlog).objects.filter(pk=backlog.pk).update(created_at=timezone.now() - dt.timedelta(days=2))
    assert jobs.suggest_pending() == 2
    fresh.refresh_from_db()
    backlog.refresh_from_db()
    assert fresh.status == Status.DISPATCHED
    assert backlog.status == Status.REGISTERED and backlog.dispatch_suggestion is not None


def test_without_an_active_model_the_follower_does_nothing(
        db, models_dir, not_inline, make_order, training_row, django_capture_on_commit_callbacks):
    _register(make_order, training_row, django_capture_on_commit_callbacks)
    assert jobs.suggest_pending() == 0
