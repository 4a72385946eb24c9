"""Per-process caches of rows that change rarely and are read on every request.

Used for the reference rows an intake names by code (:mod:`yiwang.workorders.refcache`)
and for API keys (:mod:`yiwang.accounts.models`). Each table empties itself after its
time to live, and whoever owns it empties it when one of its rows is saved, so
staleness is bounded: at once in the process that saved, within the TTL elsewhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import connection


class ReferenceTable:
    """key → row for one queryset, kept for ``ttl`` seconds after the table was last emptied.

    ``ttl`` is a number or a function returning one (read each time the table empties,
    so a setting can change it); 0 keeps nothing. Rows are kept only when read outside
    a transaction: a row read inside one that may yet roll back is never kept. Kept
    rows are shared between requests and threads: treat them as read-only.
    """

    def __init__(self, queryset, *, ttl: float | Callable[[], float]):
        self.queryset = queryset
        self._ttl = ttl if callable(ttl) else (lambda: ttl)
        self.clear()

    def clear(self, **signal_kwargs) -> None:
        # Replaced, never mutated in place by a reader: threads see an old or a new dict.
        self.rows: dict[str, object] = {}
        self.seconds = self._ttl()
        self.expires = time.monotonic() + self.seconds

    def get(self, key: str, lookup):
        """The cached row for ``key``, else ``lookup(queryset)`` (None when there is none)."""
        if time.monotonic() > self.expires:
            self.clear()
        rows = self.rows
        row = rows.get(key)
        if row is None:
            row = lookup(self.queryset.all())
            if row is not None and self.seconds > 0 and not connection.in_atomic_block:
                rows[key] = row
        return row
