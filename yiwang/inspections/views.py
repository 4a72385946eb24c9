"""Pages of 随申查 inspections. Thin: each view checks the party, parses input and calls a
service or selector; a refused action shows the page again with field messages (HTTP 4xx)."""

from __future__ import annotations

import datetime as dt
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from yiwang.citizen import photos as photo_rules
from yiwang.core.audit import audit
from yiwang.core.errors import DomainError
from yiwang.core.models import AuditEntry
from yiwang.org.models import Street
from yiwang.spaces.access import street_of, visible_spaces
from yiwang.spaces.models import SpaceType

from . import export, rules, scoring, selectors, services
from .models import ChecklistForm, ChecklistVersion, Evidence, Inspection, Rectification
from .xlsform import scored_items

PAGE_SIZE = 50
MAX_REQUEST_BYTES = services.MAX_PHOTOS_PER_INSPECTION * photo_rules.MAX_BYTES + 1024 * 1024


def _require(allowed: bool, message: str = "当前账号无权访问随申查检查") -> None:
    if not allowed:
        raise PermissionDenied(message)


def _streets(user):
    street = street_of(user)
    return [street] if street else list(Street.objects.all()) if rules.can_see_district(user) else []


@login_required
def home(request):
    user = request.user
    _require(rules.takes_part(user))
    if rules.can_see_district(user) and not rules.is_supervisor_party(user):
        return redirect("inspections:district")
    return redirect("inspections:tasks")


@login_required
def tasks(request):
    """Spaces and their self-inspection state this cycle: a unit's to-do list, a street's watch list."""
    user = request.user
    _require(rules.takes_part(user))
    state = request.GET.get("state", "")
    street = request.GET.get("street", "")
    rows = selectors.due_rows(user, state=state if state in selectors.DUE_LABELS else "", street=street)
    return render(request, "inspections/tasks.html", {
        "rows": rows, "state": state, "street": street, "states": selectors.DUE_LABELS,
        "streets": _streets(user), "supervises": rules.is_supervisor_party(user),
        "overdue_rects": selectors.rectification_list(user, overdue=True).count(),
    })


# --- filling a checklist ------------------------------------------------------------------------------------

def _inspect_kind(user, space) -> str:
    if rules.can_self_inspect(user, space):
        return Inspection.Kind.SELF
    if rules.can_supervise(user, space):
        return Inspection.Kind.SPOT
    raise PermissionDenied("无权检查该空间")


@login_required
def inspect(request, code: str):
    user = request.user
    space = visible_spaces(user).select_related("street", "using_unit").filter(code=code).first()
    if space is None:
        raise Http404("空间不存在或无权查看")
    kind = _inspect_kind(user, space)
    target = _overrule_target(request, space, kind)
    version = services.form_for(space)
    if request.method == "POST":
        if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_REQUEST_BYTES:
            return _form_page(request, space, version, kind, target, errors={"__all__": "上传内容过大（照片合计不超过 100 MB）"},
                              status=413)
        version = ChecklistVersion.objects.filter(pk=request.POST.get("version") or 0).select_related("form").first()
        if version is None:
            return _form_page(request, space, services.form_for(space), kind, target,
                              errors={"__all__": "检查表版本无效，请刷新页面重新填写"}, status=400)
        submission = _submission(request, version)
        try:
            inspection = services.submit_inspection(space, version, submission, actor=user, kind=kind,
                                                    overrules=target, reason=request.POST.get("reason", ""),
                                                    request=request)
        except services.FieldErrors as error:
            return _form_page(request, space, version, kind, target, errors=error.errors, status=error.http_status)
        except DomainError as error:
            return _form_page(request, space, version, kind, target, errors={error.field or "__all__": error.message},
                              status=error.http_status)
        messages.success(request, f"已提交：{inspection.score} 分，{scoring.COLOUR_LABELS[inspection.colour]}"
                                  + (f"，生成整改任务 {inspection.failed_count} 项" if inspection.failed_count else ""))
        return redirect("inspections:record", pk=inspection.pk)
    if version is None:
        return _form_page(request, space, None, kind, target, errors={"__all__": "该类型空间尚无检查表，请联系区国动办"},
                          status=409)
    return _form_page(request, space, version, kind, target)


def _overrule_target(request, space, kind) -> Inspection | None:
    pk = request.POST.get("overrules") or request.GET.get("overrules")
    if not pk:
        return None
    if kind != Inspection.Kind.SPOT:
        raise PermissionDenied("只有街道和区国动办可以推翻自查")
    return get_object_or_404(Inspection, pk=pk, space=space, kind=Inspection.Kind.SELF)


def _submission(request, version: ChecklistVersion) -> services.Submission:
    sub = services.Submission()
    for section in version.definition["sections"]:
        for item in section["items"]:
            name = item["name"]
            if item["kind"] == "scored":
                sub.answers[name] = request.POST.get(f"item-{name}", "")
                sub.notes[name] = request.POST.get(f"note-{name}", "")
                sub.photos[name] = request.FILES.getlist(f"photos-{name}")
            elif item["kind"] != "note":
                sub.extra[name] = request.POST.get(f"extra-{name}", "")
    return sub


def _form_page(request, space, version, kind, target, *, errors=None, status=200):
    errors = errors or {}
    sections = []
    if version is not None:
        for section in version.definition["sections"]:
            items = []
            for item in section["items"]:
                name = item["name"]
                items.append({
                    **item,
                    "value": request.POST.get(f"item-{name}") or request.POST.get(f"extra-{name}", ""),
                    "note": request.POST.get(f"note-{name}", ""),
                    "error": errors.get(f"item-{name}") or errors.get(f"extra-{name}") or errors.get(f"note-{name}")
                    or errors.get(f"photos-{name}"),
                })
            sections.append({"label": section["label"], "items": items})
    return render(request, "inspections/inspect.html", {
        "space": space, "version": version, "kind": kind, "target": target, "sections": sections,
        "errors": errors, "general": errors.get("__all__"), "reason": request.POST.get("reason", ""),
        "answers": scoring.ANSWER_LABELS,
        "max_photos": services.MAX_PHOTOS_PER_ITEM,
    }, status=status)


# --- records ---------------------------------------------------------------------------------------------------

def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@login_required
def records(request):
    user = request.user
    _require(rules.takes_part(user))
    g = request.GET
    rows = selectors.inspection_list(user, kind=g.get("kind", ""), colour=g.get("colour", ""),
                                     street=g.get("street", ""), space=g.get("space", ""),
                                     since=_date(g.get("since", "")), until=_date(g.get("until", "")))
    page = Paginator(rows, PAGE_SIZE).get_page(g.get("page"))
    query = g.copy()
    query.pop("page", None)
    return render(request, "inspections/records.html", {
        "page": page, "query": query.urlencode(), "g": g, "streets": _streets(user),
        "kinds": Inspection.Kind.choices, "colours": Inspection.Colour.choices,
    })


@login_required
def record(request, pk: int):
    user = request.user
    inspection = get_object_or_404(selectors.visible_inspections(user).select_related(
        "space", "space__street", "space__using_unit", "version__form", "inspector", "overrules"), pk=pk)
    answers = inspection.answers
    photos = {}
    for photo in inspection.photos.all():
        photos.setdefault(photo.item, []).append(photo)
    sections = [{"label": s["label"], "items": [
        {**i, "answer": answers.get(i["name"], {}).get("answer"), "note": answers.get(i["name"], {}).get("note", ""),
         "value": inspection.extra.get(i["name"], ""), "photos": photos.get(i["name"], [])}
        for i in s["items"]]} for s in inspection.version.definition["sections"]]
    overruled_by = getattr(inspection, "overruled_by", None) if inspection.kind == Inspection.Kind.SELF else None
    return render(request, "inspections/record.html", {
        "i": inspection, "sections": sections, "answers": scoring.ANSWER_LABELS,
        "colour_label": scoring.COLOUR_LABELS[inspection.colour], "overruled_by": overruled_by,
        "can_overrule": inspection.kind == Inspection.Kind.SELF and overruled_by is None
        and rules.can_supervise(user, inspection.space),
        "rects": inspection.rectifications.all(),
    })


# --- rectifications ------------------------------------------------------------------------------------------------

@login_required
def rectifications(request):
    user = request.user
    _require(rules.takes_part(user))
    g = request.GET
    status = g.get("status", "") if g.get("status", "") in Rectification.Status.values else ""
    rows = selectors.rectification_list(user, status=status, overdue=g.get("overdue") == "1",
                                        street=g.get("street", ""), space=g.get("space", ""))
    page = Paginator(rows, PAGE_SIZE).get_page(g.get("page"))
    query = g.copy()
    query.pop("page", None)
    return render(request, "inspections/rectifications.html", {
        "page": page, "query": query.urlencode(), "g": g, "streets": _streets(user),
        "statuses": Rectification.Status.choices, "now": timezone.now(),
    })


def _rect(user, pk: int) -> Rectification:
    return get_object_or_404(selectors.visible_rectifications(user).select_related(
        "space", "space__street", "space__using_unit", "inspection", "verified_by"), pk=pk)


def _rect_page(request, rect, *, errors=None, status=200):
    user = request.user
    return render(request, "inspections/rectification.html", {
        "r": rect, "errors": errors or {}, "general": (errors or {}).get("__all__"),
        "events": rect.events.select_related("actor"),
        "photos": rect.photos.all(),
        "item_photos": rect.inspection.photos.filter(item=rect.item),
        "can_submit": rect.status == Rectification.Status.OPEN and rules.can_self_inspect(user, rect.space),
        "can_verify": rect.status == Rectification.Status.SUBMITTED and rules.can_supervise(user, rect.space),
        "post": request.POST, "now": timezone.now(),
    }, status=status)


@login_required
def rectification(request, pk: int):
    return _rect_page(request, _rect(request.user, pk))


@login_required
@require_POST
def rectification_submit(request, pk: int):
    rect = _rect(request.user, pk)
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_REQUEST_BYTES:
        return _rect_page(request, rect, errors={"photos": "上传内容过大"}, status=413)
    try:
        services.submit_fix(rect, actor=request.user, note=request.POST.get("note", ""),
                            photos=request.FILES.getlist("photos"), request=request)
    except services.FieldErrors as error:
        return _rect_page(request, rect, errors=error.errors, status=error.http_status)
    except DomainError as error:
        return _rect_page(request, rect, errors={"__all__": error.message}, status=error.http_status)
    messages.success(request, "整改情况已提交，等待街道复查")
    return redirect("inspections:rectification", pk=rect.pk)


@login_required
@require_POST
def rectification_verify(request, pk: int):
    rect = _rect(request.user, pk)
    decision = request.POST.get("decision")
    if decision not in ("accept", "reject"):
        return _rect_page(request, rect, errors={"decision": "请选择通过或退回"}, status=400)
    try:
        services.verify_fix(rect, actor=request.user, accept=decision == "accept", note=request.POST.get("note", ""),
                            request=request)
    except services.FieldErrors as error:
        return _rect_page(request, rect, errors=error.errors, status=error.http_status)
    except DomainError as error:
        return _rect_page(request, rect, errors={"__all__": error.message}, status=error.http_status)
    messages.success(request, "复查通过，整改已销项" if decision == "accept" else "已退回整改")
    return redirect("inspections:rectification", pk=rect.pk)


@login_required
def evidence(request, pk: int):
    """One evidence photo, to those who see its space; every view is audited (photos may show people)."""
    photo = get_object_or_404(Evidence.objects.select_related("inspection", "rectification"), pk=pk)
    space_id = photo.inspection.space_id if photo.inspection_id else photo.rectification.space_id
    if not visible_spaces(request.user).filter(pk=space_id).exists():
        raise Http404("照片不存在")
    audit(actor=request.user, action=AuditEntry.Action.VIEW_PERSONAL_DATA, obj=photo, request=request,
          summary="查看检查照片")
    response = FileResponse(photo.file.open("rb"), content_type=photo.content_type)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


# --- checklists -------------------------------------------------------------------------------------------------------

@login_required
def checklists(request):
    user = request.user
    _require(rules.can_manage_checklists(user) or rules.is_supervisor_party(user) or rules.can_see_district(user))
    errors, status = {}, 200
    if request.method == "POST":
        _require(rules.can_manage_checklists(user), "只有区国动办和系统管理员可以上传检查表")
        upload = request.FILES.get("file")
        if upload is None:
            errors, status = {"file": ["请选择 xlsx 文件"]}, 400
        elif upload.size > 2 * 1024 * 1024:
            errors, status = {"file": ["文件超过 2 MB"]}, 400
        else:
            try:
                version = services.upload_checklist(upload.read(), filename=upload.name, actor=user,
                                                    space_types=request.POST.getlist("space_types") or None,
                                                    request=request)
            except services.ChecklistRejected as error:
                errors, status = {"file": [str(e) for e in error.errors]}, 400
            except DomainError as error:
                errors, status = {error.field or "file": [error.message]}, error.http_status
            else:
                messages.success(request, f"已上传「{version.form.title}」v{version.number}，计分项 {version.item_count} 项")
                return redirect("inspections:checklist", pk=version.pk)
    forms = ChecklistForm.objects.prefetch_related("versions").order_by("form_id")
    return render(request, "inspections/checklists.html", {
        "forms": forms, "errors": errors, "space_types": SpaceType.choices,
        "chosen": request.POST.getlist("space_types"), "can_upload": rules.can_manage_checklists(user),
    }, status=status)


@login_required
def checklist(request, pk: int):
    user = request.user
    _require(rules.can_manage_checklists(user) or rules.is_supervisor_party(user) or rules.can_see_district(user))
    version = get_object_or_404(ChecklistVersion.objects.select_related("form", "uploaded_by"), pk=pk)
    if request.GET.get("download"):
        response = HttpResponse(bytes(version.source), content_type=export.XLSX)
        response["Content-Disposition"] = f'attachment; filename="{version.form.form_id}-v{version.number}.xlsx"'
        return response
    return render(request, "inspections/checklist.html", {
        "v": version, "sections": version.definition["sections"], "scored": scored_items(version.definition),
        "used": version.inspections.count(),
    })


# --- the district view ----------------------------------------------------------------------------------

@login_required
def district(request):
    user = request.user
    _require(rules.can_see_district(user) or rules.is_supervisor_party(user), "区级总览仅向区国动办、街道和督办人员开放")
    today = timezone.localdate()
    period = selectors.parse_period(request.GET.get("period", ""), today)
    data = selectors.district_view(user, period, today=today)
    return render(request, "inspections/district.html", {
        "d": data, "period": period, "periods": _period_choices(today),
        "chart": {"points": data["points"], "by_section": data["hazards_by_section"],
                  "by_street": data["hazards_by_street"], "completion": data["completion"]["by_street"]},
    })


@login_required
def district_export(request):
    user = request.user
    _require(rules.can_see_district(user) or rules.is_supervisor_party(user), "区级总览仅向区国动办、街道和督办人员开放")
    today = timezone.localdate()
    period = selectors.parse_period(request.GET.get("period", ""), today)
    data = selectors.district_view(user, period, today=today)
    out = io.BytesIO()
    export.district_workbook(data, user=user).save(out)
    audit(actor=user, action=AuditEntry.Action.EXPORT, object_type="inspections.district", object_id=period.key,
          request=request, summary=f"导出随申查区级总览 {period.label}")
    response = HttpResponse(out.getvalue(), content_type=export.XLSX)
    response["Content-Disposition"] = f'attachment; filename="suishencha-{period.key}.xlsx"'
    return response


def _period_choices(today: dt.date) -> list[tuple[str, str]]:
    out = []
    for q in range(4):
        start = dt.date(today.year, today.month, 1)
        month = start.month - 3 * q
        year = start.year + (month - 1) // 12
        month = (month - 1) % 12 + 1
        key = f"{year}-Q{(month - 1) // 3 + 1}"
        out.append((key, selectors.parse_period(key, today).label))
    out += [(f"{today.year}-H{1 if today.month <= 6 else 2}", selectors.parse_period(
        f"{today.year}-H{1 if today.month <= 6 else 2}", today).label), (str(today.year), f"{today.year} 年")]
    month_key = f"{today.year}-{today.month:02d}"
    out.insert(0, (month_key, selectors.parse_period(month_key, today).label))
    return out
