"""The Monday job stores last week's report with its files; generating again replaces them."""

import datetime as dt
from pathlib import Path

import pytest
from django_q.models import Schedule

from yiwang.core.calendar import SHANGHAI
from yiwang.core.models import AuditEntry
from yiwang.reports import jobs, services
from yiwang.reports.models import WeeklyReport

from .conftest import W48

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def test_the_job_stores_last_weeks_files_in_private_storage(report_world, private_media, monkeypatch):
    # Monday 7 December 08:00: "last week" is W49 (one order, G); the job stores it.
    monday = dt.datetime(2026, 12, 7, 8, tzinfo=SHANGHAI)
    monkeypatch.setattr("django.utils.timezone.now", lambda: monday)
    message = jobs.weekly()
    report = WeeklyReport.objects.get()
    assert report.week_code == "2026-W49" and report.week_start == dt.date(2026, 11, 30)
    assert message.startswith("2026-W49: 1 件")
    assert report.status == WeeklyReport.Status.DONE and report.generated_by is None
    assert report.generated_at == monday and report.data["volumes"]["total"] == 1
    for field, magic in ((report.pdf, b"%PDF"), (report.xlsx, b"PK")):
        path = Path(field.path)
        assert path.is_relative_to(private_media) and path.read_bytes().startswith(magic)
    with pytest.raises(ValueError):
        report.pdf.url  # private: only the permission-checked view hands it out


def test_generating_a_week_again_replaces_its_row_and_files(report_world, private_media,
                                                           django_capture_on_commit_callbacks):
    first = services.weekly_report_store(W48)
    old = [Path(first.pdf.path), Path(first.xlsx.path)]
    with django_capture_on_commit_callbacks(execute=True):  # old files go once the new row is committed
        again = jobs.weekly("2026-W48")
    report = WeeklyReport.objects.get()
    assert report.pk == first.pk and again.startswith("2026-W48: 8 件")
    assert not any(p.exists() for p in old)
    assert Path(report.pdf.path).exists() and Path(report.xlsx.path).exists()
    assert AuditEntry.objects.filter(object_type="reports.weeklyreport", action="create").count() == 2


def test_a_failed_run_is_recorded_and_raised(report_world, private_media, monkeypatch):
    def broken(data, target):
        raise OSError("disk full")

    monkeypatch.setattr(services.pdf, "write_report", broken)
    with pytest.raises(OSError):
        jobs.weekly("2026-W48")
    report = WeeklyReport.objects.get()
    assert report.status == WeeklyReport.Status.ERROR and "disk full" in report.message and not report.pdf


def test_the_schedule_runs_every_monday_at_eight():
    schedule = Schedule.objects.get(name="reports-weekly")
    assert schedule.func == "yiwang.reports.jobs.weekly" and schedule.schedule_type == Schedule.WEEKLY
    local = schedule.next_run.astimezone(SHANGHAI)
    assert local.weekday() == 0 and (local.hour, local.minute) == (8, 0)
