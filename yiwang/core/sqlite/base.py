"""Django's SQLite backend, with the threads of a process, then the processes, taking turns to write.

SQLite lets one connection write at a time (``transaction_mode: IMMEDIATE`` takes
the write lock at BEGIN). A connection that finds it taken waits in SQLite's busy
handler, which sleeps and polls with growing pauses (1, 2, 5, 10 … 100 ms) until
the lock is free or the timeout ends; several writers polling like that are served
in no order, and one may lose again and again. Under 32 clients the intake's p99
was 0.45-1.1 s (bench/intake_load.py), against 0.21 s with a single writer thread.

Here the threads of one process queue on a lock before BEGIN IMMEDIATE and give
it back when the transaction ends, so they take turns in order and wake as soon
as the lock is free. The processes (the web server's workers, the job worker)
then take turns through an advisory lock (``flock``) on a file beside the
database, which a waiting process polls every millisecond: a writer of another
process met SQLite's busy handler instead, and its pauses of up to 100 ms (under 32
clients, bench/intake_load.py --only yiwang-sqlite, three alternating pairs: 214-235
-> 247-257 intakes/s, p90 257-298 -> 187-220 ms, p99 879-1657 -> 741-977 ms). Reads
take no lock, and neither does a single statement outside a transaction.

In tests: a test's own transaction holds the turn until the test ends, so a thread
the test starts cannot write meanwhile; such tests need ``transaction=True``.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time

from django.db.backends.sqlite3 import base
from django.db.utils import OperationalError

# One per process: every connection of every thread of this process writes to the same file.
_writer = threading.Lock()
# The turn between processes: database path -> (pid, descriptor of its lock file). A
# forked child shares its parent's descriptors, and flock treats them as one holder, so
# a child opens its own (the pid says whose it is).
_turn_files: dict[str, tuple[int, int]] = {}
TURN_POLL_S = 0.001


def _turn_file(name) -> int | None:
    """This process's descriptor of the database's lock file; None for an in-memory database."""
    path = os.fspath(name)
    if not path or path == ":memory:" or "mode=memory" in path:
        return None
    pid, fd = _turn_files.get(path, (None, None))
    if pid != os.getpid():
        fd = os.open(f"{path}.writer-turn", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        _turn_files[path] = (os.getpid(), fd)
    return fd


def _take_process_turn(fd: int, deadline: float) -> None:
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise OperationalError("database is locked") from None
            time.sleep(TURN_POLL_S)


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_writer = False
    _turn_fd: int | None = None  # the lock file this connection holds, while it does

    def _start_transaction_under_autocommit(self):
        # Waits as long as SQLite's own busy timeout would, and fails with its message.
        timeout = self.settings_dict["OPTIONS"].get("timeout", 5)
        deadline = time.monotonic() + timeout
        if not _writer.acquire(timeout=timeout):
            raise OperationalError("database is locked")
        self._holds_writer = True
        try:
            fd = _turn_file(self.settings_dict["NAME"])
            if fd is not None:
                _take_process_turn(fd, deadline)
                self._turn_fd = fd
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_writer()
            raise

    def _set_autocommit(self, autocommit):
        # An atomic block ends (after its COMMIT or ROLLBACK) by going back to autocommit.
        try:
            super()._set_autocommit(autocommit)
        finally:
            if autocommit:
                self._release_writer()

    def close(self):
        # Closing inside an atomic block ends the transaction without going back to autocommit.
        try:
            super().close()
        finally:
            self._release_writer()

    def _release_writer(self):
        if self._turn_fd is not None:
            fd, self._turn_fd = self._turn_fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
        if self._holds_writer:
            self._holds_writer = False
            _writer.release()
