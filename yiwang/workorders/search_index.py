"""The keyword-search indexes' pending lists, merged by the worker instead of by intakes.

On PostgreSQL keyword search reads trigram GIN indexes on number, title and content
(migration 0004). GIN takes a new row's entries into a pending list and merges the
list into the index proper once it outgrows ``gin_pending_list_limit``, and it is the
insert that crosses the limit that does the merging: with the default 4 MB, about
every 700 intakes of real appeal texts one intake waited 300-600 ms for it, holding a
core meanwhile (bench/intake_load.py, 32 clients).

Migration 0007 raises the limit to 16 MB on those indexes, and this follower merges the
lists every couple of seconds in ``yiwang worker`` (``gin_clean_pending_list``), so an
intake never meets the limit while the worker runs. Without the worker the limit still
bounds each list, and the inserts merge as before. A search reads the pending list
beside the index, so it always finds new orders; the list is only kept short.
"""

from __future__ import annotations

from django.db import connection

from .followers import follower

# Every GIN index on the order table, whatever its name: the pending list is a property
# of the access method, not of trigrams.
_MERGE_PENDING = """
    SELECT coalesce(sum(gin_clean_pending_list(i.indexrelid::regclass)), 0)
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_am am ON am.oid = c.relam
    WHERE i.indrelid = 'workorders_workorder'::regclass AND am.amname = 'gin'
"""


def merge_pending() -> int:
    """Merge the pending lists now; returns how many pending pages were merged (0 on SQLite)."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_MERGE_PENDING)
        return int(cursor.fetchone()[0])


@follower("search-index-pending")
def follow() -> int:
    merge_pending()
    return 0  # merged pages are not orders handled: a large merge is no backlog to hurry through
