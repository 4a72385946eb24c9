"""A new order and its registration event, written in one statement (PostgreSQL).

Why by hand: through the ORM an intake is five round trips to the database, BEGIN,
the id drawn from the sequence (the order number is made from it), the order's
INSERT, the event's INSERT and COMMIT, and each of them is also a wait for the GIL
again in a threaded web server. Here they are one statement, which PostgreSQL
runs atomically on its own, so outside a transaction there is nothing to begin or
commit either:

    WITH n AS (SELECT nextval(...) AS id),
         o AS (INSERT INTO workorders_workorder (...) VALUES ((SELECT id FROM n), ...) RETURNING id, number),
         e AS (INSERT INTO workorders_event (...) VALUES ((SELECT id FROM o), ...) RETURNING id)
    SELECT o.id, o.number, e.id FROM o, e

Nothing about the rows is decided here: ``services.register`` builds both model
instances as it would for ``save()``, the column list comes from the models' own
metadata and every value is prepared by its model field (``pre_save`` and
``get_db_prep_save``, as Django's INSERT does), and the save signals are sent as
``save()`` sends them, with one difference: both ``pre_save`` signals come before the
statement, so the event's ``pre_save`` sees an order without an id yet.
bench/intake_cpu.py and bench/intake_load.py measure it.
"""

from __future__ import annotations

import functools

from django.db import connection
from django.db.models.signals import post_save, pre_save

from .models import Event, WorkOrder

# Written by the statement itself: the id from the sequence, the number from the id
# (the registration day's prefix, the id zero-padded to at least 6 digits, as
# services.order_number), the event's order from the order. The number is in the
# INSERT because writing it afterwards is an UPDATE of an indexed column, which
# PostgreSQL cannot do in place (no HOT update): the row and every one of its index
# entries, the trigram ones included, would be written twice.
_ORDER_COLUMNS_SET_HERE = ("id", "number")
_EVENT_COLUMNS_SET_HERE = ("id", "order_id")


@functools.cache
def _fields(model, set_here: tuple[str, ...]) -> list:
    return [f for f in model._meta.concrete_fields if f.attname not in set_here]


@functools.cache
def _statement() -> str:
    qn = connection.ops.quote_name
    order_fields, event_fields = _fields(WorkOrder, _ORDER_COLUMNS_SET_HERE), _fields(Event, _EVENT_COLUMNS_SET_HERE)
    order_table, event_table = WorkOrder._meta.db_table, Event._meta.db_table
    number = "(SELECT %s || lpad(id::text, greatest(6, length(id::text)), '0') FROM n)"
    return (
        f"WITH n AS (SELECT nextval(pg_get_serial_sequence('{order_table}', 'id')) AS id), "
        f"o AS (INSERT INTO {qn(order_table)} ({qn('id')}, {qn('number')}, "
        f"{', '.join(qn(f.column) for f in order_fields)}) "
        f"VALUES ((SELECT id FROM n), {number}, {', '.join(['%s'] * len(order_fields))}) "
        f"RETURNING {qn('id')}, {qn('number')}), "
        f"e AS (INSERT INTO {qn(event_table)} ({qn('order_id')}, {', '.join(qn(f.column) for f in event_fields)}) "
        f"VALUES ((SELECT id FROM o), {', '.join(['%s'] * len(event_fields))}) RETURNING {qn('id')}) "
        f"SELECT o.id, o.number, e.id FROM o, e"
    )


def _values(instance, fields) -> list:
    return [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]


def insert_registered(order: WorkOrder, event: Event, *, number_prefix: str) -> None:
    """INSERT ``order`` and its ``event`` (both unsaved); sets their ids and the order's number.

    ``number_prefix`` is the part of the number before the id ("HK20261122").
    An IntegrityError (a reused idempotency key, say) leaves neither row.
    """
    for instance in (order, event):
        pre_save.send(sender=type(instance), instance=instance, raw=False, using=connection.alias,
                      update_fields=None)
    params = [number_prefix, *_values(order, _fields(WorkOrder, _ORDER_COLUMNS_SET_HERE)),
              *_values(event, _fields(Event, _EVENT_COLUMNS_SET_HERE))]
    with connection.cursor() as cursor:
        cursor.execute(_statement(), params)
        order.id, order.number, event.id = cursor.fetchone()
    event.order = order
    for instance in (order, event):
        instance._state.adding, instance._state.db = False, connection.alias
        post_save.send(sender=type(instance), instance=instance, created=True, update_fields=None, raw=False,
                       using=connection.alias)
