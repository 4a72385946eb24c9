"""Who may do what in inspections, built on the spaces app's access rules (never redefined here).

- the using unit's accounts self-inspect their spaces and submit rectifications;
- a street officer spot-checks the spaces of the street, overrules self-inspections
  and verifies rectifications (复查); the 区国动办 may do all that district-wide;
- the 国动办 and admins manage checklists; the district level reads the district view.
"""

from __future__ import annotations

from yiwang.accounts.roles import Role
from yiwang.spaces.access import (
    is_civil_defence_office,
    is_using_unit_user,
    sees_all_spaces,
    street_id_of,
    visible_spaces,
)


def can_self_inspect(user, space) -> bool:
    return is_using_unit_user(user, space)


def can_supervise(user, space) -> bool:
    """Spot checks, overrules and verification of rectifications."""
    if is_civil_defence_office(user):
        return True
    street_id = street_id_of(user)
    return street_id is not None and space.street_id == street_id


def is_supervisor_party(user) -> bool:
    """A street officer or 国动办 staff: sees the supervision pages."""
    return is_civil_defence_office(user) or street_id_of(user) is not None


def can_manage_checklists(user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_superuser or user.role == Role.ADMIN or is_civil_defence_office(user)


def can_see_district(user) -> bool:
    return sees_all_spaces(user)


def takes_part(user) -> bool:
    """Anybody with a role in 随申查 (sees at least the pages of their own spaces)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return sees_all_spaces(user) or street_id_of(user) is not None or user.role == Role.ENTERPRISE


__all__ = ["can_self_inspect", "can_supervise", "is_supervisor_party", "can_manage_checklists",
           "can_see_district", "takes_part", "visible_spaces"]
