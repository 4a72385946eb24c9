"""The Monday 08:00 job (django-q2 Schedule, see migrations/0002): store last week's report."""

from __future__ import annotations

import logging

from django.utils import timezone

from . import services
from .weeks import Week

log = logging.getLogger(__name__)


def weekly(week: str | None = None) -> str:
    """Generate and store the report of ``week`` (default: the last complete week)."""
    now = timezone.now()
    target = Week.parse(week, now=now)  # empty: the last complete week
    try:
        report = services.weekly_report_store(target, now=now)
    except Exception as error:
        log.exception("weekly report %s failed", target.code)
        services.weekly_report_failed(target, f"生成出错：{error}", now=now)
        raise
    return f"{report.week_code}: {report.total} 件，{report.elapsed_ms} ms"
