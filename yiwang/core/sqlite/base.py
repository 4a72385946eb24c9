"""Django's SQLite backend, with the threads of a process taking turns to write.

SQLite lets one connection write at a time (``transaction_mode: IMMEDIATE`` takes
the write lock at BEGIN). A connection that finds it taken waits in SQLite's busy
handler, which sleeps and polls with growing pauses (1, 2, 5, 10 … 100 ms) until
the lock is free or the timeout ends; several writers polling like that are served
in no order, and one may lose again and again. Under 32 clients the intake's p99
was 0.45-1.1 s (bench/intake_load.py), against 0.21 s with a single writer thread.

Here the threads of one process queue on a lock before BEGIN IMMEDIATE and give
it back when the transaction ends, so they take turns in order and wake as soon
as the lock is free. Only writers of other processes (another web worker, the
job worker) still meet SQLite's busy handler. Reads take no lock.

In tests: a test's own transaction holds the turn until the test ends, so a thread
the test starts cannot write meanwhile; such tests need ``transaction=True``.
"""

from __future__ import annotations

import threading

from django.db.backends.sqlite3 import base
from django.db.utils import OperationalError

# One per process: every connection of every thread of this process writes to the same file.
_writer = threading.Lock()


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_writer = False

    def _start_transaction_under_autocommit(self):
        # Waits as long as SQLite's own busy timeout would, and fails with its message.
        if not _writer.acquire(timeout=self.settings_dict["OPTIONS"].get("timeout", 5)):
            raise OperationalError("database is locked")
        self._holds_writer = True
        try:
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
        if self._holds_writer:
            self._holds_writer = False
            _writer.release()
