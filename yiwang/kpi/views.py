"""KPI pages (/kpi/) and the dashboard (/dashboard/).

Thin: parse the query, decide the scope (a unit leader sees only their unit), call
:mod:`selectors` / :mod:`dashboard`, render. Bad input answers 400 with the field's
message; a role without access answers 403.
"""

from __future__ import annotations

import io
import time
from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from yiwang.accounts import roles
from yiwang.core.audit import audit
from yiwang.core.calendar import SHANGHAI
from yiwang.core.errors import Forbidden, Invalid
from yiwang.core.models import AuditEntry
from yiwang.org.models import Category, Street, Unit

from . import dashboard, export, selectors

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def scope_unit(user) -> int | None:
    """None for district-wide access, the unit's id for a unit leader; 403 for everyone else."""
    if user.is_superuser:
        return None
    if user.role not in roles.CAN_SEE_KPIS:
        raise PermissionDenied("当前角色无权查看绩效指标与大屏")
    if user.role in roles.KPI_UNIT_SCOPED:
        if user.unit_id is None:
            raise PermissionDenied("账号未绑定承办单位，无法查看本单位绩效")
        return user.unit_id
    return None


def _by_code(model, code: str, field: str, label: str, **extra) -> int | None:
    if not code:
        return None
    pk = model.objects.filter(code=code, **extra).values_list("pk", flat=True).first()
    if pk is None:
        raise Invalid(f"{label}代码「{code}」不存在", field=field)
    return pk


def parse_query(request, scope: int | None) -> dict:
    """The KPI query from the URL: period, grouping, trend granularity and filters."""
    q = request.GET
    period = selectors.Period.parse(q.get("from") or None, q.get("to") or None)
    by = q.get("by") or "unit"
    if by not in selectors.BY:
        raise Invalid(f"分组「{by}」无效，可选：{'、'.join(selectors.BY)}", field="by")
    every = q.get("every") or "week"
    if every not in selectors.EVERY:
        raise Invalid(f"趋势粒度「{every}」无效，可选：week、month", field="every")
    unit = _by_code(Unit, q.get("unit", ""), "unit", "承办单位")
    if scope is not None:
        if unit is not None and unit != scope:
            raise Forbidden("只能查看本单位的绩效", field="unit")
        unit = scope
    return {"period": period, "by": by, "every": every, "unit": unit,
            "street": _by_code(Street, q.get("street", ""), "street", "街道"),
            "category": _by_code(Category, q.get("category", ""), "category", "一级分类", level=1)}


def report(query: dict) -> dict:
    filters = {k: query[k] for k in ("unit", "street", "category")}
    return {**selectors.kpis(query["period"], by=query["by"], **filters),
            "trend": selectors.trend(query["period"], every=query["every"], **filters),
            "every": query["every"], "definitions": selectors.DEFINITIONS}


def _choices(scope):
    units = Unit.objects.filter(active=True)
    return {"units": units.filter(pk=scope) if scope is not None else units,
            "streets": Street.objects.all(), "categories": Category.objects.filter(level=1, active=True)}


@login_required
def kpi_page(request):
    scope = scope_unit(request.user)
    form = {k: request.GET.get(k, "") for k in ("from", "to", "by", "every", "unit", "street", "category")}
    context = {"form": form, "by_choices": selectors.BY.items(), "every_choices": selectors.EVERY.items(),
               "definitions": selectors.DEFINITIONS, "scoped": scope is not None, "error": None, "data": None,
               **_choices(scope)}
    try:
        query = parse_query(request, scope)
    except (Invalid, Forbidden) as error:
        return render(request, "kpi/kpis.html", {**context, "error": error}, status=error.http_status)
    form.update({"from": query["period"].start.isoformat(), "to": query["period"].end.isoformat(),
                 "by": query["by"], "every": query["every"]})
    data = report(query)
    context.update(data=data, codes=[d["code"] for d in selectors.DEFINITIONS],
                   export_query=request.GET.urlencode())
    return render(request, "kpi/kpis.html", context)


def _json_error(error) -> JsonResponse:
    return JsonResponse(error.as_dict(), status=error.http_status)


@login_required
def kpi_data(request):
    """The page's numbers as JSON (for scripts and the weekly report)."""
    scope = scope_unit(request.user)
    try:
        query = parse_query(request, scope)
    except (Invalid, Forbidden) as error:
        return _json_error(error)
    return JsonResponse(report(query), json_dumps_params={"ensure_ascii": False})


@login_required
def kpi_export(request):
    scope = scope_unit(request.user)
    try:
        query = parse_query(request, scope)
    except (Invalid, Forbidden) as error:
        return _json_error(error)
    data = report(query)
    buffer = io.BytesIO()
    export.write_kpis(data, buffer, description=request.GET.urlencode())
    audit(actor=request.user, action=AuditEntry.Action.EXPORT, object_type="kpi.report",
          summary=f"导出绩效指标 {data['period']['from']}~{data['period']['to']} 按{selectors.BY[data['by']]}",
          changes={"query": request.GET.dict()}, request=request)
    name = f"绩效指标-{data['period']['from']}-{data['period']['to']}.xlsx"
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


@login_required
def dashboard_page(request):
    scope = scope_unit(request.user)
    unit_name = Unit.objects.filter(pk=scope).values_list("name", flat=True).first() if scope else ""
    return render(request, "kpi/dashboard.html", {"panels": list(dashboard.PANELS), "unit_name": unit_name,
                                                  "now": timezone.localtime(timezone.now(), SHANGHAI)})


@login_required
def dashboard_panel(request, name: str):
    scope = scope_unit(request.user)
    panel = dashboard.PANELS.get(name)
    if panel is None:
        raise Http404("没有这个面板")
    started = time.perf_counter()
    data = panel(unit=scope)
    data["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 1)  # the panel's own time, for the page
    return JsonResponse(data, json_dumps_params={"ensure_ascii": False})
