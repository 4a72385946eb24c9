"""Exports too long for the request go to the job worker; only the user who asked may fetch the file."""

import io

import pytest
from django.test import Client
from django_q.models import OrmQ
from openpyxl import load_workbook
from rest_framework.authtoken.models import Token

from yiwang.core.models import AuditEntry
from yiwang.demo import factories
from yiwang.exchange import export, jobs
from yiwang.exchange.models import ExportJob

from .test_export import HEADERS, client_for, orders  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_sync_limit(monkeypatch, settings, tmp_path):
    # Two rows stand for "too many to write in the request".
    monkeypatch.setattr(export, "SYNC_MAX_ROWS", 2)
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


def xlsx_rows(response) -> list[dict]:
    assert response.status_code == 200, getattr(response, "content", b"")[:300]
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS
    return [dict(zip(HEADERS, row)) for row in rows[1:]]


def test_a_small_export_is_still_sent_at_once(world, orders):
    street = factories.street("曲阳路").code
    response = client_for(world.dispatcher).get(f"/orders/export.xlsx?street={street}")
    assert len(xlsx_rows(response)) == 2
    assert not ExportJob.objects.exists()


def test_a_large_export_is_queued_then_written_and_fetched_by_its_owner_only(
        world, orders, django_capture_on_commit_callbacks):
    client = client_for(world.dispatcher)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get("/orders/export.xlsx?channel=phone")
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/exports/{job.pk}/"
    assert (job.created_by, job.status, job.rows_total, job.query) == (world.dispatcher, "queued", 3, "channel=phone")
    assert [task.func() for task in OrmQ.objects.all()] == ["yiwang.exchange.jobs.run_export"]
    page = client.get(f"/exports/{job.pk}/")
    assert page.status_code == 200 and "排队中" in page.content.decode()
    assert client.get(f"/exports/{job.pk}/file.xlsx").status_code == 404  # not written yet

    jobs.run_export(job.pk)  # what the worker does with the queued task

    job.refresh_from_db()
    assert (job.status, job.rows_written, job.percent) == ("done", 3, 100)
    assert job.file.name.startswith("exports/") and job.file.name.endswith(".xlsx")
    status = client.get(f"/exports/{job.pk}/status.json").json()
    assert status["finished"] and status["download_url"] == f"/exports/{job.pk}/file.xlsx"
    rows = xlsx_rows(client.get(status["download_url"]))
    assert sorted(r["标题"] for r in rows) == ["嘉兴路噪音扰民", "曲阳路垃圾满溢", "曲阳路路灯不亮"]
    assert next(r for r in rows if r["标题"] == "曲阳路垃圾满溢")["联系电话"] == "13700001234"
    # Audited as an export in the request is: the export and every unmasked order.
    entry = AuditEntry.objects.get(actor=world.dispatcher, action=AuditEntry.Action.EXPORT)
    assert entry.changes["rows"] == 3 and "后台导出" in entry.summary
    assert AuditEntry.objects.filter(actor=world.dispatcher, action=AuditEntry.Action.VIEW_PERSONAL_DATA,
                                     summary="导出 Excel").count() == 3
    # Nobody else, not even an admin, gets the page, the status or the file.
    for other in (world.supervisor, world.admin):
        for url in (f"/exports/{job.pk}/", f"/exports/{job.pk}/status.json", f"/exports/{job.pk}/file.xlsx"):
            assert client_for(other).get(url).status_code == 404
    assert Client().get(f"/exports/{job.pk}/file.xlsx").status_code == 302  # to the login page


def test_the_job_masks_for_its_owner_and_runs_once(world, orders):
    response = client_for(world.supervisor).get("/orders/export.xlsx")
    job = ExportJob.objects.get()
    assert response.status_code == 302
    jobs.run_export(job.pk)
    jobs.run_export(job.pk)  # delivered twice: the second finds it done and leaves it
    rows = xlsx_rows(client_for(world.supervisor).get(f"/exports/{job.pk}/file.xlsx"))
    assert next(r for r in rows if r["标题"] == "曲阳路垃圾满溢")["联系电话"] == "137****1234"
    assert AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT).count() == 1


def test_rest_export_answers_202_with_the_job_and_its_own_endpoints(world, orders):
    token = Token.objects.create(user=world.dispatcher).key
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.get("/api/v1/workorders/export.xlsx")
    assert response.status_code == 202
    body = response.json()
    job = ExportJob.objects.get(pk=body["id"])
    assert body["status"] == "queued" and body["rows_total"] == 3 and body["download_url"] is None
    assert body["status_url"].endswith(f"/api/v1/exports/{job.pk}/")
    jobs.run_export(job.pk)
    body = client.get(f"/api/v1/exports/{job.pk}/").json()
    assert body["status"] == "done" and body["download_url"].endswith(f"/api/v1/exports/{job.pk}/file.xlsx")
    assert len(xlsx_rows(client.get(f"/api/v1/exports/{job.pk}/file.xlsx"))) == 3
    other = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=world.supervisor).key}")
    assert other.get(f"/api/v1/exports/{job.pk}/").status_code == 404
    assert other.get(f"/api/v1/exports/{job.pk}/file.xlsx").status_code == 404
