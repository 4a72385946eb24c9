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
metadata and every value is the one its model field prepares (``pre_save`` and
``get_db_prep_save``, as Django's INSERT does; ``_values`` takes the plain ones
directly), and the save signals are sent as ``save()`` sends them, with one
difference: both ``pre_save`` signals come before the statement, so the event's
``pre_save`` sees an order without an id yet.
bench/intake_cpu.py and bench/intake_load.py measure it.
"""

from __future__ import annotations

import datetime as dt
import functools

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
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


# Django's own field classes whose save-time preparing (``pre_save``, then
# ``get_db_prep_save``) hands back NULL as NULL and the attribute itself when it has the
# type named here: CharField.to_python returns any str as it is and BooleanField's a
# bool, DateTimeField's an aware datetime (PostgreSQL's adapt_datetimefield_value adds
# nothing), and a foreign key's integer id passes its target's check. An int of an
# integer field goes through the database's wrapper for the column's type (on PostgreSQL
# psycopg's Int2/Int4/Int8, connection.ops.adapt_integerfield_value), as IntegerField's
# get_db_prep_value does. Exact classes only, since a subclass may prepare its values
# differently, and no auto_now dates, whose pre_save writes the time; those, and every
# other value (decimals, JSON, enum members, naive datetimes), go through the field.
_AS_IS = {models.CharField: str, models.TextField: str, models.BooleanField: bool, models.DateTimeField: dt.datetime,
          models.DecimalField: None, models.JSONField: None}
_INTEGERS = (models.IntegerField, models.PositiveIntegerField, models.PositiveSmallIntegerField,
             models.SmallIntegerField, models.BigIntegerField)


def _shortcut(field) -> tuple[type | None, object] | None:
    """(the attribute's type taken as it is or None, the function that prepares it), for a field whose NULL is NULL."""
    kind = type(field)
    if kind is models.ForeignKey:
        return (int, None) if type(field.target_field) in (models.AutoField, models.BigAutoField) else None
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return None
    if kind in _AS_IS:
        return _AS_IS[kind], None
    if kind in _INTEGERS:
        internal_type = field.get_internal_type()
        return int, lambda ops, value: ops.adapt_integerfield_value(value, internal_type)
    return None


@functools.cache
def _preparers(model, set_here: tuple[str, ...]) -> list[tuple]:
    """(field, attname, has a shortcut, type taken as it is, its preparing) for each column the intake writes."""
    preparers = []
    for field in _fields(model, set_here):
        shortcut = _shortcut(field)
        preparers.append((field, field.attname, shortcut is not None, *(shortcut or (None, None))))
    return preparers


def _values(instance, preparers, db) -> list:
    """Each field's value as Django's INSERT would send it (``pre_save``, ``get_db_prep_save``).

    Most of an intake's 49 values are strings, NULLs, flags, counters, ids and
    timestamps, for which those calls come to the attribute itself or its integer
    wrapper: they are taken directly, and the others go through the fields' own methods.
    That took the order's and the event's values from 98 to 39 µs (a twentieth of the
    request's CPU to a fiftieth; tests/test_intake_sql.py holds them to Django's).
    """
    values = []
    for field, attname, has_shortcut, plain_type, prepare in preparers:
        if has_shortcut:
            value = getattr(instance, attname)
            if value is None:
                values.append(None)
                continue
            if type(value) is plain_type and (plain_type is not dt.datetime or value.tzinfo is not None):
                values.append(value if prepare is None else prepare(db.ops, value))
                continue
        values.append(field.get_db_prep_save(field.pre_save(instance, True), db))
    return values


def _kept_cursor(db):
    """A Django cursor over the intake's own psycopg cursor: values bound by the server, kept between intakes.

    Django's cursors quote every value into the SQL text in Python (client-side
    binding); for the intake's 49 values that took 232 µs of each intake's CPU, 133 µs
    once the cursor was kept so that psycopg reused the adapters it had found for each
    type. This cursor (Django's own ServerBindingCursor, the one its server_side_binding
    option uses) sends them apart from the statement, converted in psycopg's C code:
    in one process, alternating with the kept quoting cursor every 25 intakes, 175-180 µs
    less of the application's CPU per intake and 26-47 µs more of PostgreSQL's (median
    paired differences). Django's connections prepare no statement unless told to
    (OPTIONS prepare_threshold), so neither does this one. It is wrapped as
    ``connection.cursor()`` wraps one, so the statement is logged and timed as any
    other, and never closed: it goes with its connection, and a new
    connection (after CONN_MAX_AGE, a failed health check) gets a new one.
    """
    db.close_if_health_check_failed()
    db.ensure_connection()
    kept = getattr(db, "_intake_cursor", None)
    if kept is None or kept.closed or kept.connection is not db.connection:
        from django.db.backends.postgresql.base import ServerBindingCursor  # loaded with PostgreSQL's backend only

        kept = db._intake_cursor = ServerBindingCursor(db.connection)
    db.validate_thread_sharing()
    return db.make_debug_cursor(kept) if db.queries_logged else db.make_cursor(kept)


def insert_registered(order: WorkOrder, event: Event, *, number_prefix: str) -> None:
    """INSERT ``order`` and its ``event`` (both unsaved); sets their ids and the order's number.

    ``number_prefix`` is the part of the number before the id ("HK20261122").
    An IntegrityError (a reused idempotency key, say) leaves neither row.
    """
    # The connection looked up once. Each use of ``django.db.connection`` looks it up
    # again in asgiref's thread-critical Local, which asks asyncio for a running loop
    # and catches the RuntimeError: 2.3-3.6 µs a use, and an intake's uses went from 22
    # to 3 (services choosing this path).
    db = connections[DEFAULT_DB_ALIAS]
    for instance in (order, event):
        pre_save.send(sender=type(instance), instance=instance, raw=False, using=db.alias, update_fields=None)
    params = [number_prefix, *_values(order, _preparers(WorkOrder, _ORDER_COLUMNS_SET_HERE), db),
              *_values(event, _preparers(Event, _EVENT_COLUMNS_SET_HERE), db)]
    cursor = _kept_cursor(db)
    cursor.execute(_statement(), params)
    order.id, order.number, event.id = cursor.fetchone()
    event.order = order
    for instance in (order, event):
        instance._state.adding, instance._state.db = False, db.alias
        post_save.send(sender=type(instance), instance=instance, created=True, update_fields=None, raw=False,
                       using=db.alias)
