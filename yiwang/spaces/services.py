"""The writers of the register and of site-code reports.

- :func:`space_save` writes one space from a validated :class:`~.forms.SpaceForm`
  (staff pages and the xlsx import), records who did it in the history and the
  audit trail;
- :func:`report_hazard` turns a citizen's report at the site into a work order of
  the engine (channel 扫码), dispatched to the space's street office with the
  区国动办 as co-unit, and hands back the receipt to follow it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from yiwang.accounts.roles import Role
from yiwang.accounts.services import system_account
from yiwang.citizen import services as citizen
from yiwang.citizen.photos import Photo
from yiwang.core.audit import audit
from yiwang.core.errors import Forbidden
from yiwang.core.models import AuditEntry
from yiwang.org.models import Category, Unit
from yiwang.org.routing import street_office
from yiwang.workorders import services as workorders
from yiwang.workorders.models import AppealType, Channel, WorkOrder

from . import access
from .forms import SpaceForm
from .models import Space, SpaceReport

SITE_PORTAL_USERNAME = "site-code-portal"
SITE_ROUTER_USERNAME = "site-code-router"
# Hazards in underground spaces belong to this branch of the taxonomy (城乡建设/安全生产/安全隐患).
HAZARD_CATEGORY_PATH = "城乡建设/安全生产/安全隐患"
REPORT_WINDOW = dt.timedelta(minutes=10)


RateLimited = citizen.RateLimited  # the same 429 as the citizen pages' limits


# --- the register ------------------------------------------------------------------

def space_save(form: SpaceForm, *, actor, request=None) -> Space:
    """Save a valid form's space; the history row and the audit row name ``actor``."""
    creating = form.instance.pk is None
    if creating and not access.can_edit_register(actor):
        raise Forbidden("当前账号无权登记地下空间")
    if not creating and not access.can_edit_space(actor, form.instance):
        raise Forbidden("当前账号无权修改该地下空间")
    changes = {name: _plain(form.cleaned_data.get(name)) for name in form.changed_data if name != "code"}
    with transaction.atomic():
        space = form.save(commit=False)
        space._history_user = actor  # the history middleware sets it for pages; the import has no request
        space.save()
        audit(actor=actor, action=AuditEntry.Action.CREATE if creating else AuditEntry.Action.UPDATE, obj=space,
              summary=f"{'登记' if creating else '修改'}地下空间 {space.code} {space.name}", changes=changes,
              request=request)
    return space


def _plain(value):
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


# --- site-code reports --------------------------------------------------------------

@dataclass
class Reported:
    order: WorkOrder
    code: str | None  # None when the same form came again: the code was shown the first time
    created: bool


def site_portal_user():
    """The account site-code reports are registered by (nobody signs in as it)."""
    return system_account(SITE_PORTAL_USERNAME, role=Role.SYSTEM, display_name="随申查扫码反映", is_active=False)


def site_router_user():
    """The dispatcher account the automatic routing of site-code reports is recorded under."""
    return system_account(SITE_ROUTER_USERNAME, role=Role.DISPATCHER, display_name="随申查自动派单", is_active=False)


def check_rate(client: str) -> None:
    """At most SPACES_REPORTS_PER_CLIENT reports per address in REPORT_WINDOW.

    Best effort per process with the default local-memory cache, like the citizen
    pages' address counter; the form token already stops double submissions.
    """
    if not client:
        return
    key = f"spaces:reports:{client}"
    if (cache.get(key) or 0) >= settings.SPACES_REPORTS_PER_CLIENT:
        raise RateLimited("提交过于频繁，请 10 分钟后再试；紧急情况请拨打 110 / 119")


def count_report(client: str) -> None:
    if not client:
        return
    key, timeout = f"spaces:reports:{client}", int(REPORT_WINDOW.total_seconds())
    cache.add(key, 0, timeout=timeout)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=timeout)


def report_hazard(space: Space, *, content: str, photos: list[Photo], form_token: str, reporter_name: str = "",
                  reporter_phone: str = "", now=None) -> Reported:
    """Register the report as a work order, attach the photos, route it and make the receipt; all or nothing.

    The form's hidden token is the idempotency key: the same form sent twice gives
    one order (the second call returns it, with no new code).
    """
    now = now or timezone.now()
    intake = workorders.Intake(
        title=f"{space.name}隐患反映"[:200], content=content, appeal_type=AppealType.REPORT,
        category=Category.objects.filter(path=HAZARD_CATEGORY_PATH, active=True).first(),
        street=space.street, address=space.address, latitude=space.latitude, longitude=space.longitude,
        appellant_name=reporter_name, appellant_phone=reporter_phone,
        external_ref=space.code, extra={"space_code": space.code, "space_id": space.pk},
    )
    with transaction.atomic():
        filed = citizen.file_appeal(intake, photos, form_token=form_token, now=now, channel=Channel.QR,
                                    portal=site_portal_user(), form_scope="site-form")
        if not filed.created:
            return Reported(filed.order, None, False)
        SpaceReport.objects.create(space=space, order=filed.order, created_at=now)
        order = _route(filed.order, space, now=now)
    return Reported(order, filed.code, True)


def _route(order: WorkOrder, space: Space, *, now) -> WorkOrder:
    """Dispatch to the street office of the space's street, the 区国动办 co-handling.

    In 随申查 the street supervises the spaces on its ground and the district office
    all of them (三方共治), so a hazard goes straight to both instead of waiting in the
    hotline's queue. Without a street office (an inactive one) the order stays in
    the queue for a dispatcher.
    """
    lead = street_office(space.street)
    if lead is None:
        return order
    office = Unit.objects.filter(code=access.CIVIL_DEFENCE_OFFICE_CODE, active=True).first()
    return workorders.dispatch(order, actor=site_router_user(), lead_unit=lead,
                               co_units=[office] if office else [], reason=f"随申查扫码反映：{space.code}", now=now)
