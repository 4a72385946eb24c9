"""Followers of the intake stream: background work that reacts to new work orders.

Why not one job per intake: queueing a django-q task costs a second transaction,
pickling and signing on every intake (a quarter of the intake's CPU), and a bulk
import of history would queue thousands of jobs that do nothing. A follower
instead asks the database, every couple of seconds, for the orders it has not
handled yet; what it has to do is derived from stored rows, so it needs no cursor,
survives restarts and catches up after an outage by itself.

A follower is a function ``f() -> int`` (how many orders it handled); modules
register theirs in ``AppConfig.ready`` with :func:`follower`. ``yiwang worker``
runs them in a loop beside the job cluster (``yiwang manage follow_intake``).
Each must be idempotent and bounded (handle a batch, not everything).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.db import close_old_connections

log = logging.getLogger(__name__)

FOLLOWERS: dict[str, Callable[[], int]] = {}
BUSY = 50  # a follower handling this many in one round is catching up: go again at once


def follower(name: str):
    def register(func: Callable[[], int]) -> Callable[[], int]:
        FOLLOWERS[name] = func
        return func

    return register


def run_once() -> dict[str, int]:
    """Run every follower once; one failing does not stop the others."""
    done = {}
    for name, func in FOLLOWERS.items():
        try:
            done[name] = func()
        except Exception:
            log.exception("Intake follower %s failed", name)
            done[name] = 0
    return done


def run_forever(*, poll_s: float = 2.0, stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    while not stop.is_set():
        close_old_connections()  # a long-lived loop must not keep a broken or stale connection
        done = run_once()
        if not any(n >= BUSY for n in done.values()):
            stop.wait(poll_s)
