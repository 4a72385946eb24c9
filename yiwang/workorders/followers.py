"""Followers of the intake stream: background work that reacts to new work orders.

Why not one job per intake: queueing a django-q task costs a second transaction,
pickling and signing on every intake (a quarter of the intake's CPU), and a bulk
import of history would queue thousands of jobs that do nothing. A follower
instead asks the database, every couple of seconds, for the orders it has not
handled yet; what it has to do is derived from stored rows, so it needs no cursor,
survives restarts and catches up after an outage by itself.

A follower is a function ``f() -> int`` (how many orders it handled); modules
register theirs in ``AppConfig.ready`` with :func:`follower`. ``yiwang worker``
runs them beside the job cluster (``yiwang manage follow_intake``), each in a loop
and a thread of its own. Each must be idempotent and bounded (handle a batch, not
everything).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.db import close_old_connections, connection

log = logging.getLogger(__name__)

FOLLOWERS: dict[str, Callable[[], int]] = {}
BUSY = 50  # a follower handling this many in one round is catching up: go again at once


def follower(name: str):
    def register(func: Callable[[], int]) -> Callable[[], int]:
        FOLLOWERS[name] = func
        return func

    return register


def _run(name: str, func: Callable[[], int]) -> int:
    try:
        return func()
    except Exception:
        log.exception("Intake follower %s failed", name)
        return 0


def run_once() -> dict[str, int]:
    """Run every follower once; one failing does not stop the others."""
    return {name: _run(name, func) for name, func in FOLLOWERS.items()}


def _follow(name: str, func: Callable[[], int], poll_s: float, stop: threading.Event) -> None:
    try:
        while not stop.is_set():
            close_old_connections()  # a long-lived loop must not keep a broken or stale connection
            if _run(name, func) < BUSY:
                stop.wait(poll_s)
    finally:
        connection.close()  # this thread's own connection


def run_forever(*, poll_s: float = 2.0, stop: threading.Event | None = None) -> None:
    """Run each follower in a loop of its own, in its own thread, until ``stop`` is set.

    Why a thread each: one round of every follower in turn made the fast ones wait for
    the slowest. Under a rush of intakes the burst detector's check took 2-13 s, and
    meanwhile the search indexes' pending lists were not merged, grew past their limit
    and were merged by an intake instead (1.2-2.1 s). The followers wait on the
    database most of the time, and each thread has its own connection.
    """
    stop = stop or threading.Event()
    threads = [threading.Thread(target=_follow, args=(name, func, poll_s, stop), name=f"follower-{name}",
                                daemon=True) for name, func in FOLLOWERS.items()]
    for thread in threads:
        thread.start()
    while not stop.wait(1.0):  # the main thread stays free for the signal handlers that set ``stop``
        pass
    for thread in threads:
        thread.join(timeout=60)
