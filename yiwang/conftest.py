"""The shared fixture world: one user per role, two units, an order factory."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.db import connection

from yiwang.accounts.roles import Role
from yiwang.core.calendar import SHANGHAI
from yiwang.demo import factories


@pytest.fixture
def world(db):
    street_office = factories.unit("ST-310109010")  # 曲阳路街道办事处
    other = factories.unit("SCJG")
    mk = factories.make_user
    return SimpleNamespace(
        street_office=street_office,
        other_unit=other,
        jgw=factories.unit("JGW"),
        operator=mk("op", Role.OPERATOR, display_name="话务员小王"),
        dispatcher=mk("disp", Role.DISPATCHER),
        handler=mk("handler", Role.UNIT_HANDLER, unit=street_office),
        leader=mk("leader", Role.UNIT_LEADER, unit=street_office),
        co_handler=mk("co", Role.UNIT_HANDLER, unit=factories.unit("JGW")),
        outsider=mk("outsider", Role.UNIT_HANDLER, unit=other),
        supervisor=mk("sup", Role.SUPERVISOR),
        deputy=mk("deputy", Role.NPC_DEPUTY, unit=factories.unit("RDLLZ")),
        citizen=mk("citizen", Role.CITIZEN, display_name="李四", phone="13900001111"),
        enterprise=mk("ent", Role.ENTERPRISE),
        admin=mk("admin", Role.ADMIN),
        system=mk("sys", Role.SYSTEM),
    )


@pytest.fixture
def monday_morning():
    """2026-11-23 09:30 Shanghai, a Monday and a working day."""
    return dt.datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI)


@pytest.fixture
def make_order(world):
    def make(actor=None, **kw):
        return factories.make_order(actor or world.operator, **kw)

    return make


def pytest_report_header(config):
    return f"database: {connection.vendor} ({connection.settings_dict.get('NAME')})"


def pytest_configure(config):
    from django.conf import settings

    # Hashing a password with the production hasher costs ~0.3 s; tests create dozens.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
