"""Writing the audit trail. Call these explicitly from services and views."""

from __future__ import annotations

from collections.abc import Iterable

from .models import AuditEntry


def client_ip(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit(*, actor, action: str, obj=None, object_type: str = "", object_id="", summary: str = "",
          changes: dict | None = None, request=None) -> AuditEntry:
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        summary=summary[:255],
        changes=changes or {},
        ip=client_ip(request),
    )


def audit_personal_data_view(*, actor, objects: Iterable, request=None, summary: str = "") -> None:
    """One row per object whose personal data was shown unmasked to ``actor``."""
    rows = [
        AuditEntry(
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            action=AuditEntry.Action.VIEW_PERSONAL_DATA,
            object_type=obj._meta.label_lower,
            object_id=str(obj.pk),
            summary=summary[:255],
            ip=client_ip(request),
        )
        for obj in objects
    ]
    if rows:
        AuditEntry.objects.bulk_create(rows)
