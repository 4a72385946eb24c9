"""Hooks into the work-order engine, both acting only after the engine's transaction commits.

- ``order_registered`` (sent by ``workorders.services.register``): compute the
  suggestion at once when ``SMARTDISPATCH_INLINE`` (tests, a demo without the worker).
  Otherwise nothing happens in the request: the intake follower ``jobs.suggest_pending``
  (registered below, run by ``yiwang worker``) finds the order within seconds.
- An approved return (退单) is read from its timeline row: the engine writes an
  ``approve_return`` Event in ``decide_return``; we listen for that row rather than
  add another call to the engine, and record the negative feedback after commit.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from yiwang.workorders import followers
from yiwang.workorders.models import Event
from yiwang.workorders.signals import order_registered
from yiwang.workorders.states import Action

from . import jobs

log = logging.getLogger(__name__)


followers.follower("smartdispatch-suggestions")(jobs.suggest_pending)


@receiver(order_registered, dispatch_uid="smartdispatch-suggest-on-register")
def on_order_registered(sender, order, **kwargs) -> None:
    if not getattr(settings, "SMARTDISPATCH_INLINE", False):
        return
    try:
        jobs.compute_suggestion(order.pk)
    except Exception:  # intake must never fail because of a suggestion
        log.exception("Could not compute the dispatch suggestion for order %s", order.pk)


@receiver(post_save, sender=Event, dispatch_uid="smartdispatch-return-feedback")
def on_event_saved(sender, instance: Event, created: bool, raw: bool = False, **kwargs) -> None:
    if raw or not created or instance.action != Action.APPROVE_RETURN:
        return
    event_id = instance.pk
    transaction.on_commit(lambda: jobs.record_return_safely(event_id))
