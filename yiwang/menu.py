"""The top menu: which pages each signed-in user is offered, in one place.

Each entry names the permission set of ``accounts/roles.py`` (or the access rule of
its module) that the page itself enforces, so the menu never offers a page that
answers 403, and a new page gets its entry here rather than another condition in
``base.html``. Exposed to every template as ``menu`` by :func:`menu`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse

from yiwang.accounts.roles import (
    CAN_DISPATCH, CAN_IMPORT, CAN_REGISTER, CAN_SEE_ALERTS, CAN_SEE_CLUSTERS, CAN_SEE_DISPATCH_ANALYTICS,
    CAN_SEE_KPIS, CAN_SEE_REPEAT_CALLS, CAN_SEE_REPORTS, KPI_UNIT_SCOPED, REPORT_UNIT_SCOPED, UNIT_ACTORS,
    UNIT_BOUND, Role,
)


@dataclass(frozen=True)
class Entry:
    label: str
    url_name: str
    shown: Callable[[object], bool]


def _any(user) -> bool:
    return True


def _roles(allowed, *, superuser: bool = True, needs_unit=frozenset()) -> Callable[[object], bool]:
    """Users with one of ``allowed`` (and the superuser); roles in ``needs_unit`` only with a unit."""
    def shown(user) -> bool:
        if superuser and user.is_superuser:
            return True
        return user.role in allowed and (user.role not in needs_unit or user.unit_id is not None)
    return shown


def _governance_tasks(user) -> bool:
    # Units see the governance tasks they own; the district sees them inside 类案治理.
    return not _roles(CAN_SEE_CLUSTERS)(user) and user.unit_id is not None and user.role in UNIT_ACTORS


def _spaces(user) -> bool:
    from yiwang.spaces import access

    return user.role == Role.ENTERPRISE or access.can_edit_register(user)


def _inspections(user) -> bool:
    from yiwang.inspections import rules

    return rules.takes_part(user)


ENTRIES = [
    Entry("工作台", "workorders:home", _any),
    Entry("工单列表", "workorders:list", _any),
    Entry("派单队列", "workorders:queue", _roles(CAN_DISPATCH, superuser=False)),
    Entry("智能派单", "smartdispatch:analytics", _roles(CAN_SEE_DISPATCH_ANALYTICS)),
    Entry("类案治理", "clusters:list", _roles(CAN_SEE_CLUSTERS)),
    Entry("治理任务", "clusters:tasks", _governance_tasks),
    Entry("突发预警", "alerts:list", _roles(CAN_SEE_ALERTS)),
    Entry("绩效指标", "kpi:kpis", _roles(CAN_SEE_KPIS, needs_unit=KPI_UNIT_SCOPED)),
    Entry("驾驶舱", "dashboard:page", _roles(CAN_SEE_KPIS, needs_unit=KPI_UNIT_SCOPED)),
    Entry("分析周报", "reports:index", _roles(CAN_SEE_REPORTS, needs_unit=REPORT_UNIT_SCOPED)),
    Entry("重复来电", "workorders:repeats", _roles(CAN_SEE_REPEAT_CALLS)),
    Entry("批量导入", "exchange:import", _roles(CAN_IMPORT)),
    Entry("地下空间", "spaces:list", _spaces),
    Entry("随申查检查", "inspections:home", _inspections),
    Entry("本单位待办", "workorders:inbox", _roles(UNIT_BOUND, superuser=False, needs_unit=UNIT_BOUND)),
    Entry("登记工单", "workorders:new", _roles(CAN_REGISTER - {Role.SYSTEM})),
]
# Citizens and enterprises file their own appeal; staff register somebody else's.
SELF_FILING_LABEL = {Role.CITIZEN: "我要反映", Role.ENTERPRISE: "我要反映"}


def entries_for(user) -> list[tuple[str, str]]:
    """(label, url) of the entries ``user`` is offered, in menu order."""
    if not getattr(user, "is_authenticated", False):
        return []
    shown = []
    for entry in ENTRIES:
        if entry.shown(user):
            label = SELF_FILING_LABEL.get(user.role, entry.label) if entry.url_name == "workorders:new" else entry.label
            shown.append((label, reverse(entry.url_name)))
    return shown


def menu(request) -> dict:
    """Context processor. Lazy: pages rendered without the menu (JSON, files) pay nothing."""
    from django.utils.functional import SimpleLazyObject

    return {"menu": SimpleLazyObject(lambda: entries_for(getattr(request, "user", None)))}
