"""Reads of the register, always scoped by :mod:`.access`."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404

from yiwang.core.masking import mask_phone
from yiwang.workorders import selectors as workorder_selectors

from . import access
from .models import Space, SpaceReport


def space_list(user) -> QuerySet[Space]:
    return access.visible_spaces(user).select_related("street", "using_unit")


def space_for(user, code: str) -> Space:
    """The space with ``code`` if ``user`` may see it; a 404 otherwise (no hint that it exists)."""
    space = space_list(user).filter(code=code).first()
    if space is None:
        raise Http404("地下空间不存在或无权查看")
    return space


def public_space(code: str) -> Space | None:
    """What the public page shows: active spaces only."""
    return (Space.objects.select_related("street", "using_unit")
            .filter(code=(code or "").strip().upper(), active=True).first())


def safety_phone(user, space: Space) -> tuple[str, bool]:
    """(phone as shown, shown in clear?)"""
    if not space.safety_phone:
        return "", False
    if access.sees_safety_contact(user, space):
        return space.safety_phone, True
    return mask_phone(space.safety_phone), False


@dataclass(frozen=True)
class Change:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class HistoryEntry:
    at: object
    who: str
    kind: str
    changes: list[Change]


_KINDS = {"+": "登记", "~": "修改", "-": "删除"}


def history(space: Space, *, mask_phone_values: bool) -> list[HistoryEntry]:
    """The space's change history, newest first, each entry with the fields it changed (old → new)."""
    records = list(space.history.select_related("history_user").order_by("-history_date", "-history_id"))
    entries = []
    for index, record in enumerate(records):
        previous = records[index + 1] if index + 1 < len(records) else None
        changes = []
        if previous is not None:
            delta = record.diff_against(previous, excluded_fields=["updated_at", "created_at"])
            for change in delta.changes:
                changes.append(Change(_label(change.field), _show(record, change.field, change.old, mask_phone_values),
                                      _show(record, change.field, change.new, mask_phone_values)))
        user = record.history_user
        entries.append(HistoryEntry(record.history_date, str(user) if user else "系统", _KINDS.get(record.history_type, ""),
                                    changes))
    return entries


def _label(name: str) -> str:
    return str(Space._meta.get_field(name).verbose_name)


def _show(record, name: str, value, mask: bool) -> str:
    if value is None or value == "":
        return "（空）"
    field = Space._meta.get_field(name)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if field.is_relation:
        target = field.related_model.objects.filter(pk=value).first()
        return str(target) if target else f"#{value}"
    if isinstance(value, bool):
        return "是" if value else "否"
    if name == "safety_phone" and mask:
        return mask_phone(str(value))
    return str(value)


@dataclass(frozen=True)
class ReportRow:
    report: SpaceReport
    visible: bool  # may the user open the order itself?


def reports(user, space: Space, limit: int = 50) -> list[ReportRow]:
    """The citizen reports of ``space`` with their orders' status; links only to orders the user may open."""
    rows = list(space.reports.select_related("order", "order__lead_unit")[:limit])
    visible = set(workorder_selectors.visible_orders(user).filter(pk__in=[r.order_id for r in rows])
                  .values_list("pk", flat=True))
    return [ReportRow(r, r.order_id in visible) for r in rows]
