"""Builders of people and work orders, shared by the demo data and the tests."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model

from yiwang.accounts.roles import Role
from yiwang.org.models import Category, Street, Unit
from yiwang.workorders import services
from yiwang.workorders.models import AppealType, Channel

DEMO_PASSWORD = "yiwang-demo"


def make_user(username: str, role: str, *, unit: Unit | None = None, display_name: str = "", phone: str = "",
              password: str = DEMO_PASSWORD, **extra):
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"role": role, "unit": unit, "display_name": display_name or username, "phone": phone,
                  "is_staff": role == Role.ADMIN, "is_superuser": role == Role.ADMIN, **extra},
    )
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


def unit(code: str) -> Unit:
    return Unit.objects.get(code=code)


def street(name: str) -> Street:
    return Street.objects.get(name=name)


def category(path_prefix: str) -> Category:
    return Category.objects.filter(path__startswith=path_prefix, level=3).order_by("code").first()


def intake(**overrides) -> services.Intake:
    values = dict(
        title="曲阳路某小区门口路灯不亮",
        content="曲阳路 800 弄门口路灯连续一周不亮，夜间行人不便，请尽快修复。",
        appeal_type=AppealType.REQUEST,
        category=category("城乡建设/城市建设和市政管理"),
        street=street("曲阳路"),
        address="曲阳路800弄12号",
        appellant_name="张三",
        appellant_phone="13812345678",
    )
    values.update(overrides)
    return services.Intake(**values)


def make_order(actor, *, channel: str = Channel.PHONE, now: dt.datetime | None = None, **overrides):
    order, _ = services.register(intake(**overrides), actor=actor, channel=channel, now=now)
    return order
