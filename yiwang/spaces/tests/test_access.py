"""The three parties' view of the register: district, street, using unit; nobody else."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser

from yiwang.org.models import Unit
from yiwang.spaces import access


def codes(user) -> set[str]:
    return set(access.visible_spaces(user).values_list("code", flat=True))


def test_the_office_exists_as_a_department_unit(db):
    office = Unit.objects.get(code=access.CIVIL_DEFENCE_OFFICE_CODE)
    assert (office.name, office.kind) == ("区国动办", Unit.Kind.DEPARTMENT)


def test_district_level_sees_every_space(sw):
    everything = {"HK-DX-0001", "HK-DX-0002", "HK-DX-0003"}
    for user in (sw.gdb, sw.admin, sw.supervisor):
        assert codes(user) == everything
    assert access.is_civil_defence_office(sw.gdb)
    assert not access.is_civil_defence_office(sw.admin)


def test_street_officer_sees_only_the_street(sw):
    assert access.street_of(sw.quyang_officer) == sw.quyang
    assert codes(sw.quyang_officer) == {"HK-DX-0001", "HK-DX-0002"}
    assert codes(sw.jiaxing_officer) == {"HK-DX-0003"}


def test_using_unit_sees_only_its_spaces(sw):
    assert codes(sw.ent_a) == {"HK-DX-0001"}
    assert codes(sw.ent_b) == {"HK-DX-0003"}
    assert access.is_using_unit_user(sw.ent_a, sw.s1)
    assert not access.is_using_unit_user(sw.ent_a, sw.s3)
    assert not access.is_using_unit_user(sw.ent_b, sw.s2)  # a space without a using unit


def test_others_see_nothing(sw):
    for user in (sw.other_dept, sw.dispatcher, sw.citizen, AnonymousUser()):
        assert codes(user) == set()
        assert access.street_of(user) is None
        assert not access.can_edit_register(user)


def test_inactive_accounts_see_nothing(sw):
    sw.gdb.is_active = False
    assert codes(sw.gdb) == set()


def test_edit_rights_follow_the_street(sw):
    assert access.can_edit_space(sw.quyang_officer, sw.s1)
    assert not access.can_edit_space(sw.quyang_officer, sw.s3)
    assert access.can_edit_space(sw.gdb, sw.s3)
    assert not access.can_edit_space(sw.ent_a, sw.s1)  # the unit inspects, it does not keep the register


def test_safety_phone_in_clear_only_for_those_who_call_it(sw):
    assert access.sees_safety_contact(sw.gdb, sw.s1)
    assert access.sees_safety_contact(sw.quyang_officer, sw.s1)
    assert access.sees_safety_contact(sw.ent_a, sw.s1)
    assert not access.sees_safety_contact(sw.ent_b, sw.s1)
    assert not access.sees_safety_contact(sw.supervisor, sw.s1)
