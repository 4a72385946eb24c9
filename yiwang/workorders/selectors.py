"""Reads of work orders, scoped to what the asking user may see."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from yiwang.accounts.roles import DISTRICT_WIDE, SELF_SERVICE, UNIT_BOUND
from yiwang.core.masking import mask_address, mask_name, mask_phone

from .models import Assignment, Event, WorkOrder


def visible_orders(user) -> QuerySet[WorkOrder]:
    """District-wide roles see all; unit staff and deputies see their unit's; citizens, enterprises and systems their own."""
    qs = WorkOrder.objects.all()
    if user is None or not user.is_authenticated:
        return qs.none()
    if user.is_superuser or user.role in DISTRICT_WIDE:
        return qs
    if user.role in UNIT_BOUND:
        if user.unit_id is None:
            return qs.none()
        mine = Assignment.objects.filter(order=OuterRef("pk"), unit_id=user.unit_id)
        return qs.filter(Exists(mine))
    if user.role in SELF_SERVICE:
        return qs.filter(registered_by=user) | qs.filter(appellant_user=user)
    return qs.none()


def order_list(user, *, with_assignments: bool = True) -> QuerySet[WorkOrder]:
    """The list query: every related row the list shows, in a fixed number of queries."""
    qs = visible_orders(user).select_related("category", "street", "committee", "lead_unit")
    if with_assignments:
        qs = qs.prefetch_related(
            Prefetch("assignments", queryset=Assignment.objects.filter(active=True).select_related("unit"),
                     to_attr="active_assignments")
        )
    return qs


def order_detail(user, pk: int) -> WorkOrder:
    return (
        order_list(user)
        .select_related("master", "registered_by", "appellant_user")
        .prefetch_related(Prefetch("events", queryset=Event.objects.select_related("actor", "unit")))
        .get(pk=pk)
    )


def can_see_personal_data(user, order: WorkOrder) -> bool:
    if user is None or not user.is_authenticated:
        return False
    if order.appellant_user_id == user.pk or (order.registered_by_id == user.pk and user.role in SELF_SERVICE):
        return True
    return user.sees_personal_data


def personal_data(user, order: WorkOrder) -> dict:
    """The appellant's data as this user may see it: clear or masked."""
    if can_see_personal_data(user, order):
        return {"appellant_name": order.appellant_name, "appellant_phone": order.appellant_phone,
                "address": order.address, "masked": False}
    return {"appellant_name": mask_name(order.appellant_name), "appellant_phone": mask_phone(order.appellant_phone),
            "address": mask_address(order.address), "masked": True}


def caller_history(user, phone: str, *, limit: int = 20) -> QuerySet[WorkOrder]:
    """Earlier orders from the same phone number (for operators at intake)."""
    if not phone:
        return WorkOrder.objects.none()
    return visible_orders(user).filter(appellant_phone=phone).order_by("-created_at")[:limit]
