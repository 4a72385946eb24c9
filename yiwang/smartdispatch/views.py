"""Pages of intelligent dispatch: one order's suggestion with confirm/correct, and the analytics.

Thin: each view parses its input and calls :mod:`services` or :mod:`analytics`.
A refused action shows the page again with the message (HTTP 4xx) and writes nothing.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from yiwang.accounts import roles
from yiwang.core.errors import DomainError
from yiwang.org.models import Category, Unit
from yiwang.workorders.models import WorkOrder
from yiwang.workorders.selectors import visible_orders

from . import analytics as reads
from . import services
from .models import DispatchSettings, DispatchSuggestion


def _require(user, allowed, message: str) -> None:
    if not (user.is_superuser or user.role in allowed):
        raise PermissionDenied(message)


def _order(user, pk: int) -> WorkOrder:
    order = visible_orders(user).select_related("street", "category").filter(pk=pk).first()
    if order is None:
        raise Http404("工单不存在或无权查看")
    return order


def _next(request, order: WorkOrder) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return f"/orders/{order.pk}/"


def _page(request, order: WorkOrder, *, errors: dict | None = None, form: dict | None = None, status: int = 200):
    suggestion = (DispatchSuggestion.objects.select_related("category", "lead_unit", "street", "model_version")
                  .prefetch_related("co_units").filter(order=order).first())
    return render(request, "smartdispatch/suggestion_page.html", {
        "order": order, "s": suggestion, "errors": errors or {}, "form": form or {},
        "categories": Category.objects.filter(active=True).order_by("code").only("pk", "path", "level"),
        "units": Unit.objects.filter(active=True), "next": _next(request, order),
    }, status=status)


@login_required
def suggestion(request, pk: int):
    _require(request.user, roles.CAN_DISPATCH, "当前角色无权派单")
    return _page(request, _order(request.user, pk))


@login_required
@require_POST
def confirm(request, pk: int):
    _require(request.user, roles.CAN_DISPATCH, "当前角色无权派单")
    order = _order(request.user, pk)
    try:
        order = services.confirm(order, actor=request.user)
    except DomainError as exc:
        return _page(request, order, errors={exc.field or "__all__": exc.message}, status=exc.http_status)
    messages.success(request, f"{order.number} 已按智能建议派至 {order.lead_unit.name}")
    return redirect(_next(request, order))


@login_required
@require_POST
def correct(request, pk: int):
    _require(request.user, roles.CAN_DISPATCH, "当前角色无权派单")
    order = _order(request.user, pk)
    form = {"category": request.POST.get("category", ""), "lead_unit": request.POST.get("lead_unit", ""),
            "note": request.POST.get("note", "")}
    errors = {}
    category = _pick(Category.objects.filter(active=True), form["category"], "category", "分类", errors)
    lead_unit = _pick(Unit.objects.filter(active=True), form["lead_unit"], "lead_unit", "主办单位", errors,
                      required=False)
    if category is None and "category" not in errors:
        errors["category"] = "请选择正确的分类"
    if len(form["note"]) > 200:
        errors["note"] = "说明不能超过 200 个字"
    if errors:
        return _page(request, order, errors=errors, form=form, status=400)
    try:
        order = services.correct(order, actor=request.user, category=category, lead_unit=lead_unit,
                                 note=form["note"])
    except DomainError as exc:
        return _page(request, order, errors={exc.field or "__all__": exc.message}, form=form, status=exc.http_status)
    messages.success(request, f"{order.number} 已改派至 {order.lead_unit.name}")
    return redirect(_next(request, order))


def _pick(queryset, raw: str, name: str, label: str, errors: dict, *, required: bool = True):
    if not raw:
        if required:
            errors[name] = f"请选择{label}"
        return None
    try:
        return queryset.get(pk=int(raw))
    except (ValueError, queryset.model.DoesNotExist):
        errors[name] = f"{label}「{raw}」不存在或已停用"
        return None


@login_required
def analytics(request):
    _require(request.user, roles.CAN_SEE_DISPATCH_ANALYTICS, "当前角色无权查看智能派单分析")
    raw = request.GET.get("days", "180")
    if raw not in {"30", "90", "180", "365", "all"}:
        return render(request, "smartdispatch/analytics.html",
                      {"error": "统计区间只能是 30、90、180、365 天或全部"}, status=400)
    since = None if raw == "all" else timezone.now() - dt.timedelta(days=int(raw))
    data = {
        "weekly": reads.weekly_feedback(since),
        "confusion": reads.confusion(since),
        "auto": reads.auto_share(since),
        "returns": reads.return_rates(since),
    }
    return render(request, "smartdispatch/analytics.html", {
        "data": data, "days": raw, "versions": reads.versions(), "config": DispatchSettings.current(),
        "ranges": [("30", "近30天"), ("90", "近90天"), ("180", "近180天"), ("365", "近一年"), ("all", "全部")],
    })
