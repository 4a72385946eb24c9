"""Weekly report pages (/reports/): pick a week, preview it, download PDF/xlsx, fetch stored weeks.

Thin: :func:`services.scope_unit` decides who sees which version (403 for other
roles), :class:`Week` parses the week (400 with the field's message), the
selectors build the numbers and the renderers the files. Every download is
audited.
"""

from __future__ import annotations

from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from yiwang.core.audit import audit
from yiwang.core.errors import Forbidden, Invalid
from yiwang.core.models import AuditEntry

from . import selectors, services
from .models import WeeklyReport
from .weeks import Week

CONTENT_TYPES = {"pdf": "application/pdf",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
STORED_SHOWN = 60


def _scope(user) -> int | None:
    try:
        return services.scope_unit(user)
    except Forbidden as error:
        raise PermissionDenied(error.message) from None


def _district_only(user) -> None:
    if _scope(user) is not None:
        raise PermissionDenied("单位版周报只能按周即时生成，已存档的周报为全区版")


def _error_page(request, error: Invalid, scope):
    return render(request, "reports/index.html", {**_index_context(request, scope), "error": error},
                  status=error.http_status)


def _index_context(request, scope) -> dict:
    last = Week.last_complete()
    stored = WeeklyReport.objects.select_related("generated_by").defer("data")[:STORED_SHOWN] if scope is None else []
    return {"last_week": last, "stored": stored, "scoped": scope is not None, "error": None,
            "week_value": request.GET.get("week", last.code)}


@login_required
@require_GET
def index(request):
    scope = _scope(request.user)
    if "week" in request.GET:
        try:
            week = Week.parse(request.GET["week"])
        except Invalid as error:
            return _error_page(request, error, scope)
        return redirect("reports:week", week=week.code)
    return render(request, "reports/index.html", _index_context(request, scope))


def _week(request, text: str):
    """(scope, week) or an error response."""
    scope = _scope(request.user)
    try:
        return scope, Week.parse(text), None
    except Invalid as error:
        return scope, None, error


@login_required
@require_GET
def week_page(request, week: str):
    scope, parsed, error = _week(request, week)
    if error:
        return _error_page(request, error, scope)
    data = selectors.weekly_report(parsed, unit=scope)
    stored = WeeklyReport.objects.filter(week_start=parsed.monday).defer("data").first() if scope is None else None
    return render(request, "reports/week.html", {
        "data": data, "week": parsed, "scoped": scope is not None, "stored": stored,
        "previous": parsed.previous, "next": parsed.next if parsed.next.complete() else None,
    })


@login_required
@require_GET
def week_data(request, week: str):
    scope, parsed, error = _week(request, week)
    if error:
        return JsonResponse(error.as_dict(), status=error.http_status)
    return JsonResponse(selectors.weekly_report(parsed, unit=scope), json_dumps_params={"ensure_ascii": False})


def _download(request, week: str, kind: str):
    scope, parsed, error = _week(request, week)
    if error:
        return HttpResponse(error.message, status=error.http_status, content_type="text/plain; charset=utf-8")
    data = selectors.weekly_report(parsed, unit=scope)
    content = services.render_pdf(data) if kind == "pdf" else services.render_xlsx(data)
    name = services.file_name(data, kind)
    audit(actor=request.user, action=AuditEntry.Action.EXPORT, object_type="reports.weekly",
          object_id=parsed.code, summary=f"导出{name}", changes={"unit": scope}, request=request)
    response = HttpResponse(content, content_type=CONTENT_TYPES[kind])
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


@login_required
@require_GET
def week_pdf(request, week: str):
    return _download(request, week, "pdf")


@login_required
@require_GET
def week_xlsx(request, week: str):
    return _download(request, week, "xlsx")


@login_required
@require_POST
def week_store(request, week: str):
    """Generate (again) and store the district report of a finished week."""
    _district_only(request.user)
    scope, parsed, error = _week(request, week)
    if error is None and not parsed.complete():
        error = Invalid("本周尚未结束，结束后才能存档（周一 08:00 自动生成上周周报）", field="week")
    if error:
        return _error_page(request, error, scope)
    services.weekly_report_store(parsed, actor=request.user)
    return redirect(reverse("reports:week", kwargs={"week": parsed.code}))


@login_required
@require_GET
def stored_file(request, pk: int, kind: str):
    _district_only(request.user)
    if kind not in CONTENT_TYPES:
        raise Http404("没有这种格式")
    report = WeeklyReport.objects.filter(pk=pk).defer("data").first()
    field = getattr(report, kind, None) if report else None
    if not field:
        raise Http404("周报不存在或文件尚未生成")
    name = f"热线分析周报-{report.week_code}.{kind}"
    audit(actor=request.user, action=AuditEntry.Action.EXPORT, obj=report, summary=f"下载存档{name}",
          request=request)
    return FileResponse(field.open("rb"), as_attachment=True, filename=name, content_type=CONTENT_TYPES[kind])
