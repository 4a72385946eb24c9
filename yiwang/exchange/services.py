"""Writes of the exchange app: accept an upload, run an import."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from yiwang.accounts import roles
from yiwang.core.errors import Forbidden, Invalid
from yiwang.workorders import importers

from .models import ImportRun

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
