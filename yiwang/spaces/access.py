"""Who may see and change which underground spaces: the three parties of 随申查.

- the district civil-defence office (区国动办) and the district's admins and
  supervisors: every space;
- a street officer (a unit handler or leader of a street office): the spaces of
  that street;
- a using unit's account (enterprise user listed in ``UsingUnit.users``): the
  spaces that unit uses;
- anybody else (citizens, the hotline's operators and dispatchers, other units):
  none; citizens reach a space only through its public page.

This module is the one place these rules live; the inspections app reads them too.
"""

from __future__ import annotations

from django.db.models import QuerySet

from yiwang.accounts.roles import Role
from yiwang.org.models import Street, Unit

from .models import Space

# The stable code of the 区国动办 unit (created by migration 0002 of this app).
CIVIL_DEFENCE_OFFICE_CODE = "GDB"
CIVIL_DEFENCE_OFFICE_NAME = "区国动办"

# Roles that see the whole district's register without belonging to the office.
DISTRICT_ROLES = {Role.ADMIN, Role.SUPERVISOR}
STREET_ROLES = {Role.UNIT_HANDLER, Role.UNIT_LEADER}


def _signed_in(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and user.is_active


def is_civil_defence_office(user) -> bool:
    """A member (handler or leader) of the 区国动办 unit."""
    if not _signed_in(user) or user.role not in STREET_ROLES or user.unit_id is None:
        return False
    return user.unit.code == CIVIL_DEFENCE_OFFICE_CODE


def sees_all_spaces(user) -> bool:
    """The district-level party: 国动办 staff, admins, supervisors and superusers."""
    if not _signed_in(user):
        return False
    return user.is_superuser or user.role in DISTRICT_ROLES or is_civil_defence_office(user)


def street_id_of(user) -> int | None:
    """The id of the street a street officer works for, without loading the street (menus, checks)."""
    if not _signed_in(user) or user.role not in STREET_ROLES or user.unit_id is None:
        return None
    unit = user.unit
    return unit.street_id if unit.kind == Unit.Kind.STREET else None


def street_of(user) -> Street | None:
    """The street a street officer works for (via their street-office unit), else None."""
    return user.unit.street if street_id_of(user) is not None else None


def is_using_unit_user(user, space: Space) -> bool:
    """An account of the unit that uses ``space``."""
    if not _signed_in(user) or user.role != Role.ENTERPRISE or space.using_unit_id is None:
        return False
    return space.using_unit.users.filter(pk=user.pk).exists()


def visible_spaces(user) -> QuerySet[Space]:
    """The spaces ``user`` may see; an empty queryset for everyone without a part in 随申查."""
    spaces = Space.objects.all()
    if sees_all_spaces(user):
        return spaces
    street_id = street_id_of(user)
    if street_id is not None:
        return spaces.filter(street_id=street_id)
    if _signed_in(user) and user.role == Role.ENTERPRISE:
        return spaces.filter(using_unit__users=user)
    return spaces.none()


def can_edit_register(user) -> bool:
    """Who keeps the register: the district level and the street officers (their street only)."""
    return sees_all_spaces(user) or street_id_of(user) is not None


def can_edit_space(user, space: Space) -> bool:
    if sees_all_spaces(user):
        return True
    street_id = street_id_of(user)
    return street_id is not None and space.street_id == street_id


def sees_safety_contact(user, space: Space | None = None) -> bool:
    """The safety contact's phone in clear: those who call the unit about its space.

    The office and the street officers ring the unit's safety officer about a
    hazard; the unit knows its own number. Admins and supervisors work from masked
    data, as with appellants' numbers.
    """
    if is_civil_defence_office(user) or street_id_of(user) is not None:
        return True
    return space is not None and is_using_unit_user(user, space)
