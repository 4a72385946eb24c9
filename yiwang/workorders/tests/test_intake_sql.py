"""The intake's one-statement write (PostgreSQL): the rows the ORM would write, all or nothing."""

import datetime as dt
import warnings
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models.signals import post_save
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext
from psycopg.types.json import Jsonb

from yiwang.core.calendar import SHANGHAI
from yiwang.core.errors import Invalid
from yiwang.org.models import Committee
from yiwang.workorders import intake_sql, services
from yiwang.workorders.models import Channel, Event, WorkOrder

if connection.vendor == "postgresql":
    from django.db.backends.postgresql.base import ServerBindingCursor

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql",
                                reason="the one-statement intake is PostgreSQL's; SQLite writes through the ORM")

NOW = dt.datetime(2026, 11, 23, 23, 40, tzinfo=SHANGHAI)  # the Shanghai day differs from UTC's


def full_intake(**overrides) -> services.Intake:
    committee = Committee.objects.select_related("street").first()
    fields = dict(title="小区电梯停运", content="3 号楼电梯停运两天，老人上下楼困难。", appeal_type="complaint",
                  urgency="urgent", committee=committee, address="曲阳路 100 弄 3 号",
                  latitude=Decimal("31.285100"), longitude=Decimal("121.490200"),
                  appellant_name="张三", appellant_phone="13800001111", external_ref="ext-1",
                  extra={"device_id": "kiosk-7"})
    return services.Intake(**{**fields, **overrides})


def test_the_statement_names_every_column():
    statement = intake_sql._statement()
    for model in (WorkOrder, Event):
        for field in model._meta.concrete_fields:
            assert connection.ops.quote_name(field.column) in statement, field.column


def test_an_intake_is_stored_as_built_with_its_event(world):
    order, created = services.register(full_intake(), actor=world.operator, channel=Channel.CITY,
                                       city_number="SH-2026-1", city_deadline=NOW + dt.timedelta(days=5), now=NOW)
    assert created
    stored = WorkOrder.objects.get(pk=order.pk)
    assert model_to_dict(stored) == model_to_dict(order)
    assert stored.number == services.order_number(NOW, order.pk) == f"HK20261123{order.pk:06d}"
    assert stored.updated_at is not None and stored.status == "registered"
    event = Event.objects.get(order=stored)
    assert (event.action, event.from_status, event.to_status, event.actor, event.created_at) == (
        "transfer_from_city", "", "registered", world.operator, NOW)
    assert event.data == {"channel": "city", "extra": {"device_id": "kiosk-7"}, "city_number": "SH-2026-1",
                          "city_deadline": (NOW + dt.timedelta(days=5)).isoformat()}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_outside_a_transaction_an_intake_is_one_statement(world):
    saved = []

    def remember(sender, instance, created, **kwargs):
        saved.append((sender, instance.pk, created))

    intake = full_intake()
    post_save.connect(remember, dispatch_uid="test-intake-sql")
    try:
        with CaptureQueriesContext(connection) as queries:
            order, _ = services.register(intake, actor=world.operator, channel=Channel.PHONE, now=NOW)
    finally:
        post_save.disconnect(dispatch_uid="test-intake-sql")
    assert [q["sql"].split()[0] for q in queries] == ["WITH"]
    event = Event.objects.get(order=order)
    assert saved == [(WorkOrder, order.pk, True), (Event, event.pk, True)]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_refused_key_outside_a_transaction_leaves_nothing_and_replays(world):
    key = dict(actor=world.system, channel=Channel.API, idempotency_key="k-1", now=NOW)
    first, c1 = services.register(full_intake(), **key)
    second, c2 = services.register(full_intake(), **key)
    assert (c1, c2) == (True, False) and second.pk == first.pk
    with pytest.raises(Invalid) as err:
        services.register(full_intake(title="另一条诉求"), **key)
    assert err.value.code == "idempotency_conflict"
    assert WorkOrder.objects.count() == 1 and Event.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_id_of_seven_digits_is_not_cut(world):
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('workorders_workorder', 'id'), 1234566)")
    order, _ = services.register(full_intake(), actor=world.operator, channel=Channel.PHONE, now=NOW)
    assert order.pk == 1234567
    assert WorkOrder.objects.get(pk=order.pk).number == "HK202611231234567" == services.order_number(NOW, order.pk)


def test_values_are_what_djangos_own_field_methods_prepare(world):
    """The shortcuts of intake_sql._values give each value, and its type, as get_db_prep_save does."""
    order = WorkOrder(
        channel=Channel.PHONE, title="小区电梯停运", content="停运两天", lead_unit=world.street_office,
        appellant_name="张三", appellant_phone="13800001111", registered_by=world.operator, created_at=NOW,
        repeat_count=3, escalation_count=True, direct_answer=1, latitude=Decimal("31.2851"), idempotency_key=None,
        city_number="", external_ref=services.Status.REGISTERED, master_id="17", updated_at=NOW,
        closed_at=dt.datetime(2026, 11, 24, 8, 0), replied_at=NOW + dt.timedelta(hours=1))
    event = services._new_event(order, services.Action.REGISTER, None, actor=world.operator, now=NOW,
                                data={"channel": "phone"})
    for instance, model, set_here in ((order, WorkOrder, intake_sql._ORDER_COLUMNS_SET_HERE),
                                      (event, Event, intake_sql._EVENT_COLUMNS_SET_HERE)):
        preparers = intake_sql._preparers(model, set_here)
        with warnings.catch_warnings():  # the naive closed_at: Django's warning, from both
            warnings.simplefilter("ignore", RuntimeWarning)
            ours = intake_sql._values(instance, preparers, connection)
            djangos = [f.get_db_prep_save(f.pre_save(instance, True), connection)
                       for f in intake_sql._fields(model, set_here)]
        for (field, *_), mine, theirs in zip(preparers, ours, djangos, strict=True):
            if field.name == "updated_at":  # auto_now: a new now at each pre_save
                continue
            if type(theirs) is Jsonb:  # a wrapper without equality of its own
                mine, theirs = getattr(mine, "obj", mine), theirs.obj
            assert (type(mine), mine) == (type(theirs), theirs), field.name
    # Most of them take the shortcut; a field of another class never does.
    shortcuts = {field.name for field, _, has_shortcut, *_ in intake_sql._preparers(WorkOrder, ()) if has_shortcut}
    assert {"title", "content", "lead_unit", "repeat_count", "direct_answer", "created_at", "latitude"} <= shortcuts
    assert "updated_at" not in shortcuts


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_intake_cursor_is_kept_until_its_connection_goes(world):
    services.register(full_intake(), actor=world.operator, channel=Channel.PHONE, now=NOW)
    kept = connection._intake_cursor
    services.register(full_intake(title="路灯不亮"), actor=world.operator, channel=Channel.PHONE, now=NOW)
    assert connection._intake_cursor is kept and not kept.closed
    assert isinstance(kept, ServerBindingCursor)
    connection.close()  # CONN_MAX_AGE, a failed health check: a new connection, a new cursor
    order, _ = services.register(full_intake(title="井盖缺失"), actor=world.operator, channel=Channel.PHONE, now=NOW)
    assert connection._intake_cursor is not kept
    assert connection._intake_cursor.connection is connection.connection
    titles = list(WorkOrder.objects.order_by("id").values_list("title", flat=True))
    assert titles == ["小区电梯停运", "路灯不亮", "井盖缺失"]
    assert Event.objects.filter(order=order).count() == 1
