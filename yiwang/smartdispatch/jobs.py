"""Background work of intelligent dispatch, run by the django-q2 cluster (``yiwang worker``).

``suggest_pending`` is the intake follower that gives new orders their suggestion
(``compute_suggestion`` does one order, inline when ``SMARTDISPATCH_INLINE``);
``train_model`` is what an admin runs from the model-version admin or schedules
(django-q2 Schedule with func ``yiwang.smartdispatch.jobs.train_model``).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django_q.tasks import async_task

log = logging.getLogger(__name__)

# Training can take minutes: give the task its own limit (the cluster retries after
# ``retry`` seconds, so the limit stays below it; see Q_CLUSTER in settings).
TRAIN_TIMEOUT_S = 170


# Orders younger than this are dispatched automatically when the model is confident;
# an older backlog (the worker was down, a model was activated late) only gets
# suggestions, since a dispatcher may already be working on it by hand.
AUTO_DISPATCH_WINDOW = dt.timedelta(hours=1)
PENDING_BATCH = 100
# Orders whose suggestion raised, so a broken one is not retried every round until restart.
_failed: set[int] = set()


def suggest_pending(*, now=None) -> int:
    """The intake follower: suggestions for registered orders that have none, newest first.

    Runs every couple of seconds in ``yiwang worker`` (see ``workorders.followers``).
    """
    from django.utils import timezone

    from . import services

    if services.active_version() is None:
        return 0
    now = now or timezone.now()
    pending = services.unsuggested_orders().exclude(pk__in=_failed).order_by("-created_at", "-id")[:PENDING_BATCH]
    done = 0
    for order in pending:
        try:
            services.suggest(order, auto_dispatch=order.created_at >= now - AUTO_DISPATCH_WINDOW, now=now)
            done += 1
        except Exception:
            _failed.add(order.pk)
            log.exception("No dispatch suggestion for order %s", order.pk)
    return done


def compute_suggestion(order_id: int) -> str:
    """Idempotent: a retried task finds the suggestion already stored."""
    from yiwang.workorders.models import WorkOrder
    from yiwang.workorders.states import Status

    from . import services

    order = WorkOrder.objects.select_related("street").filter(pk=order_id).first()
    if order is None or order.status != Status.REGISTERED:
        return "skipped"  # merged, answered directly or already dispatched before we got here
    suggestion = services.suggest(order, auto_dispatch=True)
    if suggestion is None:
        return "no model"
    return suggestion.outcome


def record_return_safely(event_id: int) -> None:
    from yiwang.workorders.models import Event

    from . import services

    try:
        event = Event.objects.select_related("order").get(pk=event_id)
        services.record_return(event)
    except Exception:  # the return itself is committed; feedback is best effort
        log.exception("Could not record return feedback for event %s", event_id)


def queue_training(*, user_id: int | None = None, activate: str = "if_better") -> str | None:
    """Run training in the worker (or now, when inline); returns the task id."""
    if getattr(settings, "SMARTDISPATCH_INLINE", False):
        train_model(user_id=user_id, activate=activate)
        return None
    return async_task("yiwang.smartdispatch.jobs.train_model", user_id=user_id, activate=activate,
                      task_name="smartdispatch-train", timeout=TRAIN_TIMEOUT_S)


def train_model(*, user_id: int | None = None, activate: str = "if_better", input_csv: str | None = None) -> int:
    """Train a new version on the shipped labels plus feedback; returns its number."""
    from django.contrib.auth import get_user_model

    from . import training

    actor = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    version = training.train_version(input_csv=input_csv, activate=activate, actor=actor)
    return version.number
