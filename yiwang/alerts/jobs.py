"""Background work of the detector, run by ``yiwang worker``.

Two triggers call :func:`run_check`: the intake follower :func:`follow` (see
``workorders.followers``: every couple of seconds it looks whether orders arrived
since the last check, and runs one at most every ``FOLLOW_INTERVAL``, or less often
when checks grow long (``PACE``), so a rush of intakes costs one check and the
intake request itself does nothing), and a django-q2 schedule every minute
(:func:`scheduled_check`) as a safety net that also ends quiet alerts when no orders
arrive. The check is idempotent. With ``ALERTS_INLINE`` (tests) the intake signal
runs it at once.
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
# Under a flood a check takes seconds (it reads the day's orders and every burst), and
# one every 15 s took a fifth of a core from intake when the hotline was busiest. The
# follower waits this many times the last check's duration when that is longer, so
# checks use a tenth of a core at most and alerts still come within a minute or two.
PACE = 10


def _too_soon(state, now: dt.datetime) -> bool:
    """Whether ``now`` is within ``FOLLOW_INTERVAL``, or ``PACE`` times the last check's length, of it."""
    if state.last_run_at is None:
        return False
    took = dt.timedelta(milliseconds=state.last_run_ms or 0)
    return now < state.last_run_at + max(FOLLOW_INTERVAL, PACE * took)


def follow(now: dt.datetime | None = None) -> int:
    """The intake follower: a check when orders arrived since the last one; returns checks run (0 or 1)."""
    from yiwang.workorders.models import WorkOrder

    from .models import DetectorState

    state, _ = DetectorState.objects.get_or_create(pk=1)
    now = now or timezone.now()
    if _too_soon(state, now):
        return 0
    if not WorkOrder.objects.filter(pk__gt=state.topics_through).exists():
        return 0
    run_check(now=now)
    return 1


def scheduled_check(now: dt.datetime | None = None) -> int:
    """The minute schedule's check: the safety net, when the follower has not checked within its pace.

    While the follower keeps up, a second check a minute apart found the same bursts
    again and under a flood cost seconds of CPU more. When it is not running, or no
    orders arrive (then it does not check), this one runs the check, which also ends
    quiet alerts. Returns alerts raised.
    """
    from .models import DetectorState

    state, _ = DetectorState.objects.get_or_create(pk=1)
    now = now or timezone.now()
    if _too_soon(state, now):
        return 0
    return run_check(now=now)


# Longer than any check takes; a check that died holding the lease gives way after it.
CHECK_LEASE = dt.timedelta(minutes=10)


def run_check(now: dt.datetime | None = None) -> int:
    """Read new orders' topics, end quiet alerts, find bursts and record them; returns alerts raised.

    One check at a time: the follower's and the minute schedule's both call this, and
    under a flood a check takes seconds. Two at once recorded the same findings twice,
    and each could raise its own alert for one burst seen by two keys. A check that
    finds another one running returns 0 at once; the running one covers its orders.
    """
    from . import detector, services
    from .models import DetectorState

    started = time.perf_counter()
    now = now or timezone.now()
    DetectorState.objects.get_or_create(pk=1)
    if not _take_lease():
        return 0
    try:
        detector.index_new_topics()
        services.end_quiet(now)
        raised = services.record(detector.find(now), now=now)
    finally:
        elapsed_ms = (time.perf_counter() - started) * 1000
        DetectorState.objects.filter(pk=1).update(last_run_at=now, last_run_ms=elapsed_ms, checking_until=None)
    return len(raised)


def _take_lease() -> bool:
    """One conditional UPDATE: it succeeds for one caller only, on any database."""
    from django.db.models import Q

    from .models import DetectorState

    wall = timezone.now()  # not the check's ``now``, which may be a replayed moment
    free = Q(checking_until__isnull=True) | Q(checking_until__lt=wall)
    return DetectorState.objects.filter(free, pk=1).update(checking_until=wall + CHECK_LEASE) == 1
