"""Writing weekly reports: render the files from the numbers, and store a week's report.

Only this module writes :class:`WeeklyReport`.
"""

from __future__ import annotations

import io
import logging
import time

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from yiwang.accounts import roles
from yiwang.core.audit import audit
from yiwang.core.errors import Forbidden
from yiwang.core.models import AuditEntry

from . import pdf, selectors, xlsx
from .models import WeeklyReport
from .weeks import Week

log = logging.getLogger(__name__)


def scope_unit(user) -> int | None:
    """None for the district-wide report, the unit's id for a unit leader; Forbidden for everyone else."""
    if user.is_superuser:
        return None
    if user.role not in roles.CAN_SEE_REPORTS:
        raise Forbidden("当前角色无权查看热线分析周报")
    if user.role in roles.REPORT_UNIT_SCOPED:
        if user.unit_id is None:
            raise Forbidden("账号未绑定承办单位，无法查看本单位周报")
        return user.unit_id
    return None


def render_pdf(data: dict) -> bytes:
    target = io.BytesIO()
    pdf.write_report(data, target)
    return target.getvalue()


def render_xlsx(data: dict) -> bytes:
    target = io.BytesIO()
    xlsx.write_report(data, target)
    return target.getvalue()


def file_name(data: dict, suffix: str) -> str:
    unit = f"-{data['scope']['unit_name']}" if data["scope"]["unit_name"] else ""
    return f"热线分析周报-{data['week']['code']}{unit}.{suffix}"


def weekly_report_store(week: Week, *, actor=None, now=None) -> WeeklyReport:
    """Build the district-wide report of ``week`` and store its numbers, PDF and xlsx (replacing older files).

    The numbers and files are made outside the transaction (seconds on a large
    week); the row is then locked and updated, so two runs for the same week
    end with one row holding the later files.
    """
    started = time.perf_counter()
    now = now or timezone.now()
    data = selectors.weekly_report(week, now=now)
    pdf_bytes, xlsx_bytes = render_pdf(data), render_xlsx(data)
    elapsed = int((time.perf_counter() - started) * 1000)
    with transaction.atomic():
        report, _ = WeeklyReport.objects.select_for_update().get_or_create(
            week_start=week.monday, defaults={"week_code": week.code, "generated_at": now})
        old = [f.name for f in (report.pdf, report.xlsx) if f]
        report.pdf.save(file_name(data, "pdf"), ContentFile(pdf_bytes), save=False)
        report.xlsx.save(file_name(data, "xlsx"), ContentFile(xlsx_bytes), save=False)
        report.week_code, report.status, report.generated_at = week.code, WeeklyReport.Status.DONE, now
        report.generated_by = actor if getattr(actor, "is_authenticated", False) else None
        report.elapsed_ms, report.data, report.message = elapsed, data, ""
        report.save()
        storage = report.pdf.storage
        transaction.on_commit(lambda: [storage.delete(name) for name in old])
        audit(actor=actor, action=AuditEntry.Action.CREATE, obj=report,
              summary=f"生成热线分析周报 {week.code}（{data['volumes']['total']} 件，{elapsed} ms）")
    log.info("weekly report %s stored in %d ms", week.code, elapsed)
    return report


def weekly_report_failed(week: Week, message: str, *, now=None) -> WeeklyReport:
    """Record that a week's report could not be generated, unless an earlier good one exists."""
    report, _ = WeeklyReport.objects.get_or_create(
        week_start=week.monday, defaults={"week_code": week.code, "generated_at": now or timezone.now(),
                                          "status": WeeklyReport.Status.ERROR, "message": message[:255]})
    return report
