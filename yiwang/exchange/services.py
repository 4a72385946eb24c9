"""Writes of the exchange app: accept an upload, run an import, write a large export in the background."""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone

from yiwang.accounts import roles
from yiwang.core.errors import Forbidden, Invalid
from yiwang.workorders import importers, selectors
from yiwang.workorders.filtersets import WorkOrderFilterSet

from . import export
from .models import ExportJob, ImportRun

DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024


def max_upload_bytes() -> int:
    return getattr(settings, "IMPORT_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES)


def may_import(user) -> bool:
    return bool(user and user.is_authenticated and (user.is_superuser or user.role in roles.CAN_IMPORT))


def import_run_create(*, actor, file_name: str, content: bytes, mode: str) -> ImportRun:
    """Keep the upload and queue its import (after commit). Checks role, size and type first."""
    if not may_import(actor):
        raise Forbidden("当前角色无权批量导入工单")
    limit = max_upload_bytes()
    if len(content) > limit:
        raise Invalid(f"文件过大（{_mb(len(content))}），上限为 {_mb(limit)}", field="file")
    if not content:
        raise Invalid("文件是空的", field="file")
    if Path(file_name).suffix.lower() not in importers.SUFFIXES:
        raise Invalid("只能导入 .xlsx 或 .csv 文件", field="file")
    if mode not in ImportRun.Mode.values:
        raise Invalid("请选择导入方式", field="mode")
    run = ImportRun.objects.create(
        file_name=Path(file_name).name[:255], content=content, size=len(content),
        sha256=hashlib.sha256(content).hexdigest(), mode=mode, created_by=actor,
    )
    from .jobs import queue_import

    transaction.on_commit(lambda: queue_import(run.pk))
    return run


def _mb(size: int) -> str:
    from django.template.defaultfilters import filesizeformat

    return filesizeformat(size)


def import_run_execute(run_id: int) -> ImportRun | None:
    """Import the run's file as its uploader, recording progress and the report on the row.

    Safe to run again (a retried job): rows already imported are found by
    their idempotency keys and counted as existing. A job delivered twice (the
    queue hands a task out again when it runs longer than the broker's retry
    time) finds the run claimed and does nothing.
    """
    if not _claim(run_id):
        return ImportRun.objects.filter(pk=run_id).first()
    run = ImportRun.objects.select_related("created_by").get(pk=run_id)
    report = importers.ImportReport(path=run.file_name, sha256=run.sha256, mode=run.mode)
    actor = run.created_by
    try:
        if not may_import(actor):
            raise Forbidden("导入人已无批量导入权限")
        rows = importers.read_table(bytes(run.content), run.file_name)

        def checked(done: int, total: int) -> None:
            _update(run, rows_checked=done, rows_total=total)

        def written(done: int, total: int) -> None:
            _update(run, rows_written=done)

        def writing_starts(parsed_count: int) -> None:
            _update(run, status=ImportRun.Status.WRITING, rows_to_write=parsed_count)

        importers.import_table(rows, report, actor=actor, progress=checked, write_progress=written,
                               before_write=writing_starts)
    except (Invalid, Forbidden) as exc:
        return _finish(run, report, status=ImportRun.Status.FAILED, message=exc.message)
    except Exception as exc:
        _finish(run, report, status=ImportRun.Status.ERROR, message=f"导入出错：{exc.__class__.__name__}")
        raise
    if report.errors and (report.mode == importers.ALL_OR_NOTHING or not report.created + report.existing):
        status, message = ImportRun.Status.FAILED, f"{len(report.errors)} 处问题，未导入任何工单"
    else:
        status = ImportRun.Status.DONE
        message = f"新建 {report.created} 条工单，{report.existing} 条此前已导入"
        if report.errors:
            message += f"，{report.skipped} 行有问题未导入"
    return _finish(run, report, status=status, message=message)


STALE_AFTER = dt.timedelta(seconds=60)


def _claim(run_id: int) -> bool:
    """Take the run for this job: a queued one, or one whose job went quiet (a conditional UPDATE, race-free)."""
    now = timezone.now()
    active = (ImportRun.Status.CHECKING, ImportRun.Status.WRITING)
    return bool(ImportRun.objects.filter(pk=run_id).filter(
        Q(status=ImportRun.Status.QUEUED) | Q(status__in=active, heartbeat_at__lt=now - STALE_AFTER)
    ).update(status=ImportRun.Status.CHECKING, started_at=now, heartbeat_at=now, rows_checked=0, rows_written=0))


def _update(run: ImportRun, **fields) -> None:
    fields["heartbeat_at"] = timezone.now()
    for name, value in fields.items():
        setattr(run, name, value)
    ImportRun.objects.filter(pk=run.pk).update(**fields)


def _finish(run: ImportRun, report: importers.ImportReport, *, status: str, message: str) -> ImportRun:
    _update(
        run, status=status, message=message[:255], finished_at=timezone.now(), rows_total=report.rows,
        rows_checked=report.rows, created=report.created, existing=report.existing, skipped=report.skipped,
        errors=[{"row": e.row, "column": e.column, "problem": e.problem} for e in report.errors],
    )
    return run


# --- exports too large for the request --------------------------------------------

def export_job_create(*, actor, query: str, rows: int) -> ExportJob:
    """Queue the export of the list ``query`` selects (after commit); the job filters it again as ``actor``."""
    job = ExportJob.objects.create(created_by=actor, query=query, rows_total=rows)
    from .jobs import queue_export

    transaction.on_commit(lambda: queue_export(job.pk))
    return job


def export_job_execute(job_id: int) -> ExportJob | None:
    """Write the job's file to private storage, with progress on the row; audited as an export in the request is.

    The list is scoped by the user's access when the job runs, so a user who lost
    access in between gets only what they may still see.
    """
    if not _claim_export(job_id):
        return ExportJob.objects.filter(pk=job_id).first()
    job = ExportJob.objects.select_related("created_by").get(pk=job_id)
    user = job.created_by
    filterset = WorkOrderFilterSet(QueryDict(job.query), queryset=selectors.order_list(user))
    if not filterset.is_valid():  # checked when queued; a filter's reference row may since be gone
        return _update_export(job, status=ExportJob.Status.ERROR, message="筛选条件已失效，未导出",
                              finished_at=timezone.now())
    try:
        with tempfile.TemporaryFile() as target:
            written = export.write_orders(
                user, export.export_queryset(user, filterset.qs), target,
                description=f"（后台导出；筛选：{job.query}）" if job.query else "（后台导出）",
                progress=lambda rows: _update_export(job, rows_written=rows),
            )
            target.seek(0)
            job.file.save("export.xlsx", File(target), save=False)
    except Exception as exc:
        _update_export(job, status=ExportJob.Status.ERROR, message=f"导出出错：{exc.__class__.__name__}",
                       finished_at=timezone.now())
        raise
    return _update_export(
        job, status=ExportJob.Status.DONE, file=job.file.name, rows_total=written["rows"],
        rows_written=written["rows"], finished_at=timezone.now(),
        file_name=f"工单导出-{timezone.localtime():%Y%m%d-%H%M}.xlsx",
        message=f"已导出 {written['rows']} 条工单（未脱敏 {written['unmasked']} 条）",
    )


def _claim_export(job_id: int) -> bool:
    """Take a queued job, or one whose worker went quiet (a conditional UPDATE, as for imports)."""
    now = timezone.now()
    return bool(ExportJob.objects.filter(pk=job_id).filter(
        Q(status=ExportJob.Status.QUEUED) | Q(status=ExportJob.Status.WRITING, heartbeat_at__lt=now - STALE_AFTER)
    ).update(status=ExportJob.Status.WRITING, started_at=now, heartbeat_at=now, rows_written=0))


def _update_export(job: ExportJob, **fields) -> ExportJob:
    fields["heartbeat_at"] = timezone.now()
    for name, value in fields.items():
        setattr(job, name, value)
    ExportJob.objects.filter(pk=job.pk).update(**fields)
    return job
