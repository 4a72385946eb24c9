"""Pages of the sudden-issue alerts: the list (open first, false-alarm rate) and one alert with its evidence.

Thin: each view checks the role, parses its input and calls :mod:`services` or
:mod:`selectors`. A refused action shows the page again with the message and
the HTTP status of the error, and writes nothing.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from yiwang.accounts import roles
from yiwang.core.errors import DomainError

from . import selectors, services
from .models import Alert, AlertStatus, Kind

PAGE_SIZE = 50
STATS_DAYS = 30


def _require(user, allowed, message: str) -> None:
    if not (user.is_superuser or user.role in allowed):
        raise PermissionDenied(message)


def may_handle(user) -> bool:
    return user.is_superuser or user.role in roles.CAN_HANDLE_ALERTS


@login_required
def alert_list(request):
    _require(request.user, roles.CAN_SEE_ALERTS, "当前角色无权查看突发预警")
    status, kind = request.GET.get("status", ""), request.GET.get("kind", "")
    errors = {}
    if status and status not in AlertStatus.values:
        errors["status"] = f"状态「{status}」不存在"
    if kind and kind not in Kind.values:
        errors["kind"] = f"类型「{kind}」不存在"
    now = timezone.now()
    context = {
        "statuses": AlertStatus.choices, "kinds": Kind.choices, "status": status, "kind": kind, "errors": errors,
        "stats": selectors.false_alarm_stats(since=now - dt.timedelta(days=STATS_DAYS), until=now),
    }
    if errors:
        return render(request, "alerts/list.html", context, status=400)
    page = Paginator(selectors.alert_list(status=status or None, kind=kind or None), PAGE_SIZE).get_page(
        request.GET.get("page"))
    return render(request, "alerts/list.html", {**context, "page": page})


def _detail_page(request, alert: Alert, *, errors: dict | None = None, form: dict | None = None, status: int = 200):
    orders = list(selectors.alert_orders(alert))
    streets = sorted({o.street.name for o in orders if o.street_id})
    return render(request, "alerts/detail.html", {
        "alert": alert, "reason": services.reason(alert, alert.label), "orders": orders, "streets": streets,
        "actions": alert.actions.select_related("actor"), "chart": selectors.hourly_chart(alert),
        "may_handle": may_handle(request.user), "errors": errors or {}, "form": form or {},
        "general_error": (errors or {}).get("__all__", ""),
    }, status=status)


def _alert(pk: int) -> Alert:
    try:
        return selectors.alert_detail(pk)
    except Alert.DoesNotExist:
        raise Http404("预警不存在") from None


@login_required
def alert_detail(request, pk: int):
    _require(request.user, roles.CAN_SEE_ALERTS, "当前角色无权查看突发预警")
    return _detail_page(request, _alert(pk))


def _act(request, pk: int, action, done: str):
    _require(request.user, roles.CAN_HANDLE_ALERTS, "当前角色无权处置突发预警")
    alert = _alert(pk)
    form = {"note": request.POST.get("note", "")}
    try:
        alert = action(alert, actor=request.user, note=form["note"], request=request)
    except DomainError as exc:
        return _detail_page(request, alert, errors={exc.field or "__all__": exc.message}, form=form,
                            status=exc.http_status)
    messages.success(request, f"突发预警#{alert.pk} {done}")
    return redirect("alerts:detail", pk=alert.pk)


@login_required
@require_POST
def acknowledge(request, pk: int):
    return _act(request, pk, services.acknowledge, "已确认")


@login_required
@require_POST
def dismiss(request, pk: int):
    return _act(request, pk, services.dismiss, "已标记为误报")


@login_required
@require_POST
def escalate(request, pk: int):
    return _act(request, pk, services.escalate, "已督办")
