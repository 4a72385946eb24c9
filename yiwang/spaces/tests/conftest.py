"""Spaces fixtures: two streets' spaces, a using unit with its account, and one officer per party."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.cache import cache

from yiwang.accounts.roles import Role
from yiwang.demo import factories
from yiwang.org.models import Street
from yiwang.spaces.access import CIVIL_DEFENCE_OFFICE_CODE
from yiwang.spaces.models import RiskGrade, Space, SpaceType, UsingUnit


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    """Photos go to a fresh folder per test; rate-limit counters start at zero."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.YIWANG_PUBLIC_BASE_URL = "https://yiwang.example.cn"
    cache.clear()
    yield settings.PRIVATE_MEDIA_ROOT
    cache.clear()


def make_space(code: str, street: Street, **kw) -> Space:
    values = dict(
        name=f"{street.name}地下车库{code[-2:]}", address=f"{street.name[:-2]}100号", street=street,
        latitude=Decimal("31.270000"), longitude=Decimal("121.480000"), space_type=SpaceType.GARAGE,
        risk_grade=RiskGrade.MEDIUM, safety_contact="王安全", safety_phone="13911112222",
    )
    values.update(kw)
    return Space.objects.create(code=code, **values)


@pytest.fixture
def sw(db):
    """The spaces world: 曲阳路 (2 spaces, one used by 甲公司) and 嘉兴路 (1 space)."""
    quyang = Street.objects.get(code="310109010")
    jiaxing = Street.objects.get(code="310109014")
    mk = factories.make_user
    office = factories.unit(CIVIL_DEFENCE_OFFICE_CODE)
    unit_a = UsingUnit.objects.create(name="甲物业管理有限公司", credit_code="91310109MA1G000001")
    unit_b = UsingUnit.objects.create(name="乙商业管理有限公司")
    ent_a = mk("ent-a", Role.ENTERPRISE)
    ent_b = mk("ent-b", Role.ENTERPRISE)
    unit_a.users.add(ent_a)
    unit_b.users.add(ent_b)
    s1 = make_space("HK-DX-0001", quyang, using_unit=unit_a, risk_grade=RiskGrade.HIGH)
    s2 = make_space("HK-DX-0002", quyang, space_type=SpaceType.CIVIL_DEFENCE)
    s3 = make_space("HK-DX-0003", jiaxing, using_unit=unit_b)
    return SimpleNamespace(
        quyang=quyang, jiaxing=jiaxing, unit_a=unit_a, unit_b=unit_b, s1=s1, s2=s2, s3=s3, office_unit=office,
        ent_a=ent_a, ent_b=ent_b,
        gdb=mk("gdb", Role.UNIT_HANDLER, unit=office, display_name="国动办小陈"),
        quyang_officer=mk("qy-officer", Role.UNIT_HANDLER, unit=factories.unit("ST-310109010")),
        jiaxing_officer=mk("jx-officer", Role.UNIT_LEADER, unit=factories.unit("ST-310109014")),
        other_dept=mk("scjg", Role.UNIT_HANDLER, unit=factories.unit("SCJG")),
        admin=mk("sp-admin", Role.ADMIN),
        supervisor=mk("sp-sup", Role.SUPERVISOR),
        dispatcher=mk("sp-disp", Role.DISPATCHER),
        citizen=mk("sp-citizen", Role.CITIZEN),
    )
