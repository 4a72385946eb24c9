"""Pages and downloads: export a filtered list (large ones in the background), upload a spreadsheet, follow its import.

Thin: the filterset and selectors decide what a user may export, the
services decide who may import and what an upload may be.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from yiwang.core.errors import DomainError
from yiwang.workorders import selectors
from yiwang.workorders.filtersets import WorkOrderFilterSet

from . import export, services
from .forms import ImportForm
from .models import ExportJob, ImportRun

ERRORS_SHOWN = 500
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- export ------------------------------------------------------------------

def export_response(request, filterset: WorkOrderFilterSet):
    """The filtered, scoped list as an xlsx download (shared by the page and the REST API).

    None when the list is too long for one sheet; an :class:`ExportJob` when it is too
    long to write within the request (the caller sends the user to the job's page).
    """
    filtered = filterset.qs
    rows = filtered.count()
    if rows > export.MAX_ROWS:
        return None
    query = request.GET.urlencode()
    if rows > export.SYNC_MAX_ROWS:
        return services.export_job_create(actor=request.user, query=query, rows=rows)
    target = tempfile.TemporaryFile()
    export.write_orders(request.user, export.export_queryset(request.user, filtered), target, request=request,
                        description=f"（筛选：{query}）" if query else "")
    target.seek(0)
    name = f"工单导出-{timezone.localtime():%Y%m%d-%H%M}.xlsx"
    return FileResponse(target, as_attachment=True, filename=name, content_type=XLSX)


@login_required
def export_orders(request):
    filterset = WorkOrderFilterSet(request.GET, queryset=selectors.order_list(request.user))
    if not filterset.is_valid():
        problems = "；".join(f"{filterset.form.fields[name].label}：{'、'.join(errors)}"
                            for name, errors in filterset.form.errors.items() if name in filterset.form.fields)
        return HttpResponse(f"筛选条件有误，未导出。{problems}", status=400, content_type="text/plain; charset=utf-8")
    response = export_response(request, filterset)
    if response is None:
        return HttpResponse(f"符合条件的工单超过 {export.MAX_ROWS:,} 条，请缩小筛选范围后再导出", status=400,
                            content_type="text/plain; charset=utf-8")
    if isinstance(response, ExportJob):
        return redirect("exchange:export-job", pk=response.pk)
    return response


def _export_job(user, pk: int) -> ExportJob:
    # Only the user who asked for it: the file holds what that user may see, masked for that user.
    job = ExportJob.objects.filter(pk=pk, created_by=user).first()
    if job is None:
        raise Http404("导出任务不存在或无权查看")
    return job


@login_required
def export_job_page(request, pk: int):
    return render(request, "exchange/export_job.html", {"job": _export_job(request.user, pk)})


@login_required
def export_job_status(request, pk: int):
    job = _export_job(request.user, pk)
    return JsonResponse({
        "status": job.status, "status_display": job.get_status_display(), "finished": job.finished,
        "percent": job.percent, "rows_total": job.rows_total, "rows_written": job.rows_written,
        "message": job.message,
        "download_url": reverse("exchange:export-file", args=[job.pk]) if job.status == job.Status.DONE else None,
    })


@login_required
def export_job_file(request, pk: int):
    job = _export_job(request.user, pk)
    if job.status != job.Status.DONE or not job.file:
        raise Http404("导出文件尚未生成")
    return FileResponse(job.file.open("rb"), as_attachment=True, filename=job.file_name, content_type=XLSX)


# --- import ------------------------------------------------------------------

def _require_importer(user) -> None:
    if not services.may_import(user):
        raise PermissionDenied("当前角色无权批量导入工单")


def _runs_of(user):
    runs = ImportRun.objects.defer("content", "errors").select_related("created_by")
    return runs if user.is_superuser or user.role == "admin" else runs.filter(created_by=user)


@login_required
def import_page(request):
    user = request.user
    _require_importer(user)
    status = 200
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                run = services.import_run_create(actor=user, file_name=upload.name,
                                                 content=_read_limited(upload), mode=form.cleaned_data["mode"])
            except DomainError as err:
                form.add_error(err.field if err.field in form.fields else None, err.message)
            else:
                return redirect("exchange:run", pk=run.pk)
        status = 400
    else:
        form = ImportForm()
    return render(request, "exchange/import.html", {
        "form": form, "runs": _runs_of(user)[:20], "max_mb": services.max_upload_bytes() // (1024 * 1024),
    }, status=status)


def _read_limited(upload) -> bytes:
    """The upload's bytes, or one byte past the limit (enough for the service to refuse it)."""
    limit = services.max_upload_bytes()
    if upload.size > limit:
        return upload.read(limit + 1)
    return upload.read()


def _run(user, pk: int) -> ImportRun:
    _require_importer(user)
    run = _runs_of(user).filter(pk=pk).defer(None).select_related("created_by").first()
    if run is None:
        raise Http404("导入记录不存在或无权查看")
    return run


@login_required
def import_run_page(request, pk: int):
    run = _run(request.user, pk)
    return render(request, "exchange/import_run.html", {
        "run": run, "errors": run.errors[:ERRORS_SHOWN], "more_errors": max(0, len(run.errors) - ERRORS_SHOWN),
    })


@login_required
def import_run_status(request, pk: int):
    run = _run(request.user, pk)
    return JsonResponse({
        "status": run.status, "status_display": run.get_status_display(), "finished": run.finished,
        "percent": run.percent, "indeterminate": run.indeterminate, "rows_total": run.rows_total,
        "rows_checked": run.rows_checked, "rows_to_write": run.rows_to_write, "rows_written": run.rows_written,
        "created": run.created, "existing": run.existing, "skipped": run.skipped, "errors": len(run.errors),
        "message": run.message,
    })


@login_required
def import_run_errors(request, pk: int):
    """The per-row problems as xlsx, to fix the file and import it again."""
    run = _run(request.user, pk)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("问题")
    sheet.append(["行号", "列", "问题"])
    for error in run.errors:
        sheet.append([error["row"], export.safe_value(sheet, error["column"]), export.safe_value(sheet, error["problem"])])
    target = io.BytesIO()
    book.save(target)
    target.seek(0)
    return FileResponse(target, as_attachment=True, filename=f"导入问题-{run.pk}-{Path(run.file_name).stem}.xlsx",
                        content_type=XLSX)
