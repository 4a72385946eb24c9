"""The minute job that keeps the KPI facts current (django-q2 Schedule, see migrations/0002)."""

from __future__ import annotations

import logging

from . import facts

log = logging.getLogger(__name__)


def refresh_recent() -> int:
    """Fold new events into the facts; safe to run from several workers at once."""
    done = facts.refresh_recent()
    if done:
        log.info("kpi facts refreshed for %d orders", done)
    return done
