"""Inspections fixtures: spaces in two streets, their using units, one officer per party,
the two shipped checklists, and an XLSForm builder for parser tests."""

from __future__ import annotations

import io
from decimal import Decimal
from types import SimpleNamespace

import openpyxl
import pytest
from PIL import Image

from yiwang.accounts.roles import Role
from yiwang.demo import factories
from yiwang.org.models import Street
from yiwang.spaces.access import CIVIL_DEFENCE_OFFICE_CODE
from yiwang.spaces.models import RiskGrade, Space, SpaceType, UsingUnit

HEADER = ["type", "name", "label", "weight", "critical", "legal_basis"]
CHOICES = [["list_name", "name", "label"], ["pfn", "pass", "合格"], ["pfn", "fail", "不合格"], ["pfn", "na", "不适用"]]
SETTINGS = [["form_title", "form_id", "version", "space_types"], ["测试检查表", "test_form", "1", "garage"]]


def xlsform(survey, choices=None, settings=None) -> bytes:
    """An xlsx workbook from rows; ``survey`` rows follow HEADER unless the first row is a header."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "survey"
    rows = survey if survey and survey[0] and survey[0][0] == "type" else [HEADER, *survey]
    for row in rows:
        sheet.append(list(row))
    for title, data in (("choices", CHOICES if choices is None else choices),
                        ("settings", SETTINGS if settings is None else settings)):
        if data is False:
            continue
        ws = book.create_sheet(title)
        for row in data:
            ws.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def png_upload(name="p.png", size=(8, 8)):
    from django.core.files.uploadedfile import SimpleUploadedFile

    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return settings.PRIVATE_MEDIA_ROOT


def make_space(code: str, street: Street, **kw) -> Space:
    values = dict(name=f"{street.name}地下车库{code[-2:]}", address=f"{street.name}100号", street=street,
                  latitude=Decimal("31.270000"), longitude=Decimal("121.480000"), space_type=SpaceType.GARAGE,
                  risk_grade=RiskGrade.MEDIUM)
    values.update(kw)
    return Space.objects.create(code=code, **values)


@pytest.fixture
def iw(db):
    """曲阳路: s1 (garage, high risk, 甲) and s2 (civil defence, 甲); 嘉兴路: s3 (garage, 乙)."""
    from yiwang.inspections import services

    quyang = Street.objects.get(code="310109010")
    jiaxing = Street.objects.get(code="310109014")
    mk = factories.make_user
    unit_a = UsingUnit.objects.create(name="甲物业管理有限公司")
    unit_b = UsingUnit.objects.create(name="乙商业管理有限公司")
    ent_a, ent_b = mk("ent-a", Role.ENTERPRISE), mk("ent-b", Role.ENTERPRISE)
    unit_a.users.add(ent_a)
    unit_b.users.add(ent_b)
    admin = mk("in-admin", Role.ADMIN)
    services.install_bundled(actor=admin)
    return SimpleNamespace(
        quyang=quyang, jiaxing=jiaxing, unit_a=unit_a, unit_b=unit_b, ent_a=ent_a, ent_b=ent_b, admin=admin,
        s1=make_space("HK-DX-0001", quyang, using_unit=unit_a, risk_grade=RiskGrade.HIGH),
        s2=make_space("HK-DX-0002", quyang, using_unit=unit_a, space_type=SpaceType.CIVIL_DEFENCE),
        s3=make_space("HK-DX-0003", jiaxing, using_unit=unit_b, risk_grade=RiskGrade.LOW),
        gdb=mk("gdb", Role.UNIT_HANDLER, unit=factories.unit(CIVIL_DEFENCE_OFFICE_CODE)),
        quyang_officer=mk("qy-officer", Role.UNIT_HANDLER, unit=factories.unit("ST-310109010")),
        jiaxing_officer=mk("jx-officer", Role.UNIT_LEADER, unit=factories.unit("ST-310109014")),
        other_dept=mk("scjg", Role.UNIT_HANDLER, unit=factories.unit("SCJG")),
        supervisor=mk("in-sup", Role.SUPERVISOR),
        citizen=mk("in-citizen", Role.CITIZEN),
    )
