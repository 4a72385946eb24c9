"""Background work of the detector, run by ``yiwang worker``.

Two triggers call :func:`run_check`: the intake follower :func:`follow` (see
``workorders.followers``: every couple of seconds it looks whether orders arrived
since the last check, and runs one at most every ``FOLLOW_INTERVAL``, so a rush of
intakes costs one check and the intake request itself does nothing), and a django-q2
schedule every minute as a safety net that also ends quiet alerts. The check is
idempotent. With ``ALERTS_INLINE`` (tests) the intake signal runs it at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.utils import timezone

log = logging.getLogger(__name__)


# Alerts must come within minutes; a check every 15 s while orders keep arriving is
# well inside that and costs a fraction of a core at most.
FOLLOW_INTERVAL = dt.timedelta(seconds=15)


def follow(now: dt.datetime | None = None) -> int:
    """The intake follower: a check when orders arrived since the last one; returns checks run (0 or 1)."""
    from yiwang.workorders.models import WorkOrder

    from .models import DetectorState

    state, _ = DetectorState.objects.get_or_create(pk=1)
    now = now or timezone.now()
    if state.last_run_at is not None and now - state.last_run_at < FOLLOW_INTERVAL:
        return 0
    if not WorkOrder.objects.filter(pk__gt=state.topics_through).exists():
        return 0
    run_check(now=now)
    return 1


def run_check(now: dt.datetime | None = None) -> int:
    """Read new orders' topics, end quiet alerts, find bursts and record them; returns alerts raised."""
    from . import detector, services
    from .models import DetectorState

    started = time.perf_counter()
    now = now or timezone.now()
    detector.index_new_topics()  # also creates the state row the last line updates
    services.end_quiet(now)
    raised = services.record(detector.find(now), now=now)
    elapsed_ms = (time.perf_counter() - started) * 1000
    DetectorState.objects.filter(pk=1).update(last_run_at=now, last_run_ms=elapsed_ms)
    return len(raised)
