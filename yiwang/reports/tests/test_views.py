"""Who sees which report, bad weeks, downloads (audited), stored reports."""

import io

import pytest
from openpyxl import load_workbook

from yiwang.core.models import AuditEntry
from yiwang.reports.models import WeeklyReport

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

URL = "/reports/2026-W48/"


def get(client, user, url):
    client.force_login(user)
    return client.get(url)


@pytest.mark.parametrize("role", ["supervisor", "dispatcher", "admin"])
def test_district_roles_see_the_district_report(client, report_world, role):
    response = get(client, getattr(report_world.world, role), URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "2026 年第 48 周" in html and "共受理工单 8 件" in html
    assert "签收及时率" in html and 'id="report-daily-data"' in html and "生成存档" in html
    assert "分析周报" in html  # the nav link


@pytest.mark.parametrize("role", ["operator", "handler", "citizen", "deputy"])
def test_other_roles_are_refused(client, report_world, role):
    user = getattr(report_world.world, role)
    for url in ("/reports/", URL, URL + "report.pdf", URL + "report.xlsx", URL + "data.json"):
        assert get(client, user, url).status_code == 403
    client.force_login(user)
    assert client.post(URL + "store").status_code == 403
    assert not WeeklyReport.objects.exists()
    assert not AuditEntry.objects.filter(object_type="reports.weekly").exists()


def test_anonymous_users_are_sent_to_login(client, report_world):
    response = client.get(URL)
    assert response.status_code == 302 and "login" in response["Location"]


def test_a_unit_leader_gets_the_units_version_and_no_archive(client, report_world):
    w = report_world.world
    response = get(client, w.leader, URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert w.street_office.name in html and "共受理工单 3 件" in html and "生成存档" not in html
    assert get(client, w.leader, URL + "data.json").json()["volumes"]["total"] == 3
    client.force_login(w.leader)
    assert client.post(URL + "store").status_code == 403


def test_bad_weeks_answer_400_with_the_field(client, report_world):
    sup = report_world.world.supervisor
    response = get(client, sup, "/reports/2026-W60/")
    assert response.status_code == 400 and "没有第 60 周" in response.content.decode()
    body = get(client, sup, "/reports/last-week/data.json").json()
    assert body["field"] == "week" and "YYYY-Www" in body["errors"]["week"][0]
    assert get(client, sup, "/reports/?week=2026-13").status_code == 400
    assert get(client, sup, "/reports/2099-W01/report.pdf").status_code == 400


def test_the_week_picker_redirects_to_the_week(client, report_world):
    response = get(client, report_world.world.supervisor, "/reports/?week=2026-W48")
    assert response.status_code == 302 and response["Location"] == URL


def test_downloads_carry_the_figures_and_are_audited(client, report_world):
    sup = report_world.world.supervisor
    response = get(client, sup, URL + "report.xlsx")
    assert response.status_code == 200
    assert "filename*=UTF-8''" in response["Content-Disposition"] and "2026-W48" in response["Content-Disposition"]
    wb = load_workbook(io.BytesIO(response.content))
    assert ("受理工单（件）", 8, 3) in [r[:3] for r in wb["摘要"].iter_rows(values_only=True)]
    pdf = get(client, sup, URL + "report.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    entries = AuditEntry.objects.filter(actor=sup, action=AuditEntry.Action.EXPORT, object_type="reports.weekly")
    assert sorted(e.summary for e in entries) == ["导出热线分析周报-2026-W48.pdf", "导出热线分析周报-2026-W48.xlsx"]


def test_storing_a_week_and_downloading_it_later(client, report_world, private_media):
    sup = report_world.world.supervisor
    client.force_login(sup)
    response = client.post(URL + "store")
    assert response.status_code == 302
    report = WeeklyReport.objects.get()
    assert (report.week_code, report.generated_by, report.total) == ("2026-W48", sup, 8)
    listing = client.get("/reports/").content.decode()
    assert "2026-W48" in listing and f"/reports/stored/{report.pk}/report.pdf" in listing
    pdf = client.get(f"/reports/stored/{report.pk}/report.pdf")
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF")
    assert client.get(f"/reports/stored/{report.pk}/report.docx").status_code == 404
    assert AuditEntry.objects.filter(object_type="reports.weeklyreport", summary__startswith="下载存档").count() == 1
    client.force_login(report_world.world.leader)
    assert client.get(f"/reports/stored/{report.pk}/report.pdf").status_code == 403


def test_the_running_week_cannot_be_stored(client, report_world, private_media):
    from yiwang.reports.weeks import Week

    client.force_login(report_world.world.supervisor)
    current = Week.last_complete().next
    response = client.post(f"/reports/{current.code}/store")
    assert response.status_code == 400 and "本周尚未结束" in response.content.decode()
    assert not WeeklyReport.objects.exists()
