"""The register's staff pages and the public site-code page.

Thin like the other apps' pages: forms validate, services write, selectors read,
:mod:`.access` decides who sees what.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from yiwang.citizen import photos as photo_rules
from yiwang.core.audit import audit, audit_personal_data_view, client_ip
from yiwang.core.errors import DomainError
from yiwang.core.models import AuditEntry
from yiwang.workorders.pagination import list_paginator

from . import access, importer, selectors, services, sitecode
from .forms import FILTERS, HazardReportForm, ImportForm, SheetForm, SpaceFilterSet, SpaceForm

PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_IMPORT_ERRORS = "spaces_import_errors"
_RECEIPT = "citizen_receipt"  # the citizen pages' receipt slot: one receipt page for every public channel
MAX_REQUEST_BYTES = photo_rules.MAX_PHOTOS * photo_rules.MAX_BYTES + 1024 * 1024


# --- list and detail ----------------------------------------------------------------

@login_required
def space_list(request):
    user = request.user
    if not (access.can_edit_register(user) or user.role == "enterprise"):
        raise PermissionDenied("当前账号无权查看地下空间登记")
    filters = SpaceFilterSet(request.GET, queryset=selectors.space_list(user))
    page = list_paginator(filters.qs, request.GET, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(space, *selectors.safety_phone(user, space)) for space in page.object_list]
    audit_personal_data_view(actor=user, objects=[space for space, _, clear in rows if clear], request=request,
                             summary="地下空间列表：安全负责人电话")
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "spaces/space_list.html", {
        "filters": [filters.form[name] for name in FILTERS], "page": page, "rows": rows, "query": query.urlencode(),
        "can_edit": access.can_edit_register(user), "sheet_form": SheetForm(),
    })


@login_required
def space_detail(request, code: str):
    user = request.user
    space = selectors.space_for(user, code)
    phone, clear = selectors.safety_phone(user, space)
    if clear:
        audit_personal_data_view(actor=user, objects=[space], request=request, summary="地下空间详情：安全负责人电话")
    return render(request, "spaces/space_detail.html", {
        "space": space, "phone": phone, "history": selectors.history(space, mask_phone_values=not clear),
        "reports": selectors.reports(user, space), "can_edit": access.can_edit_space(user, space),
        "public_url": sitecode.public_url(space), "latest": latest_result(space),
    })


def latest_result(space) -> dict | None:
    """The last inspection, when the inspections module is installed (it is built beside this one)."""
    try:
        from yiwang.inspections.selectors import latest_result as latest
    except ImportError:
        return None
    return latest(space)


# --- create and edit ------------------------------------------------------------------

@login_required
def space_new(request):
    user = request.user
    if not access.can_edit_register(user):
        raise PermissionDenied("当前账号无权登记地下空间")
    return _edit(request, SpaceForm(request.POST or None, user=user), created=True)


@login_required
def space_edit(request, code: str):
    user = request.user
    space = selectors.space_for(user, code)
    if not access.can_edit_space(user, space):
        raise PermissionDenied("当前账号无权修改该地下空间")
    return _edit(request, SpaceForm(request.POST or None, instance=space, user=user), created=False)


def _edit(request, form: SpaceForm, *, created: bool):
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                space = services.space_save(form, actor=request.user, request=request)
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                return redirect("spaces:detail", code=space.code)
        status = 400
    return render(request, "spaces/space_form.html", {"form": form, "created": created}, status=status)


# --- site codes ---------------------------------------------------------------------------

@login_required
def space_qr(request, code: str):
    space = selectors.space_for(request.user, code)
    response = HttpResponse(sitecode.qr_svg(space), content_type="image/svg+xml")
    response["Content-Disposition"] = f'inline; filename="{space.code}.svg"'
    return response


@login_required
def space_label(request, code: str):
    space = selectors.space_for(request.user, code)
    return _pdf(sitecode.single_label_pdf(space), f"{space.code}.pdf")


@login_required
def street_sheet(request):
    user = request.user
    if not access.can_edit_register(user):
        raise PermissionDenied("当前账号无权打印二维码")
    form = SheetForm(request.GET)
    if not form.is_valid():
        return HttpResponse("请选择有效的街道", status=400, content_type="text/plain; charset=utf-8")
    street = form.cleaned_data["street"]
    spaces = list(selectors.space_list(user).filter(street=street, active=True).order_by("code"))
    if not access.sees_all_spaces(user) and access.street_of(user) != street:
        raise PermissionDenied("只能打印本街道的二维码")
    audit(actor=user, action=AuditEntry.Action.EXPORT, object_type="org.street", object_id=street.pk, request=request,
          summary=f"打印{street.name}地下空间二维码 {len(spaces)} 张")
    return _pdf(sitecode.labels_pdf(spaces, title=f"{street.name} 地下空间二维码"), f"site-codes-{street.code}.pdf")


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- import ----------------------------------------------------------------------------------

@login_required
def import_page(request):
    user = request.user
    if not access.can_edit_register(user):
        raise PermissionDenied("当前账号无权导入地下空间")
    result, status = None, 200
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        status = 400
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = importer.import_spaces(upload.read(importer.MAX_BYTES + 1), actor=user, request=request)
            except DomainError as error:
                form.add_error("file", error.message)
            else:
                status = 200
                request.session[_IMPORT_ERRORS] = [e.__dict__ for e in result.errors[:importer.MAX_ROWS]]
    return render(request, "spaces/import.html", {"form": form, "result": result}, status=status)


@login_required
def import_template(request):
    if not access.can_edit_register(request.user):
        raise PermissionDenied("当前账号无权导入地下空间")
    response = HttpResponse(importer.template_xlsx(), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="spaces-template.xlsx"'
    return response


@login_required
def import_sample(request):
    """A filled-in example (20 new spaces and 3 broken rows) to try the import and its error report."""
    if not access.can_edit_register(request.user):
        raise PermissionDenied("当前账号无权导入地下空间")
    from .demo import sample_xlsx

    response = HttpResponse(sample_xlsx(), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="spaces-sample.xlsx"'
    return response


@login_required
def import_errors(request):
    errors = request.session.get(_IMPORT_ERRORS)
    if not errors:
        raise Http404("没有可下载的错误报告")
    response = HttpResponse(importer.error_report_xlsx(errors), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="spaces-import-errors.xlsx"'
    return response


# --- the public page ---------------------------------------------------------------------------

@never_cache
def public_space(request, code: str):
    space = selectors.public_space(code)
    if space is None:
        return render(request, "spaces/public_404.html", {"code": code}, status=404)
    status = 200
    if request.method == "POST":
        if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_REQUEST_BYTES:
            return _public(request, space, HazardReportForm(), 413, too_large=True)
        form = HazardReportForm(request.POST, request.FILES)
        status = 400
        if form.is_valid():
            response, status = _report(request, space, form)
            if response is not None:
                return response
    else:
        form = HazardReportForm()
    return _public(request, space, form, status)


def _public(request, space, form, status, *, too_large=False):
    return render(request, "spaces/public_space.html", {
        "space": space, "form": form, "latest": latest_result(space), "too_large": too_large,
        "max_photos": photo_rules.MAX_PHOTOS,
    }, status=status)


def _report(request, space, form: HazardReportForm):
    """(redirect to the receipt, 302) or (None, error status) with the error on the form."""
    data, client = form.cleaned_data, client_ip(request) or ""
    try:
        services.check_rate(client)
        reported = services.report_hazard(
            space, content=data["content"], photos=data["photos"], form_token=data["form_token"],
            reporter_name=data["reporter_name"], reporter_phone=data["reporter_phone"])
    except services.RateLimited as error:
        form.add_error(None, error.message)
        return None, 429
    except DomainError as error:
        if error.code == "idempotency_conflict":
            form.add_error(None, "该表单已提交过一条不同的反映，请刷新页面后重新填写")
        else:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        return None, 400
    if reported.created:
        services.count_report(client)
    pending = request.session.get(_RECEIPT) or {}
    # A double click: keep the code the first submission put in the session, not yet shown.
    if reported.created or pending.get("number") != reported.order.number:
        request.session[_RECEIPT] = {"number": reported.order.number, "code": reported.code}
    return redirect(reverse("citizen:receipt")), 302
