"""Exports too long for the request go to the job worker; only the user who asked may fetch the file."""

import datetime as dt
import io
import os
import subprocess
import sys

import pytest
from django.utils import timezone
from django.test import Client
from django_q.models import OrmQ
from openpyxl import load_workbook
from rest_framework.authtoken.models import Token

from yiwang.core.models import AuditEntry
from yiwang.demo import factories
from yiwang.exchange import export, jobs
from yiwang.exchange.models import ExportJob
from yiwang.workorders.models import WorkOrder

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


def test_the_export_reads_chunk_after_chunk_newest_first_ties_included(world, monkeypatch):
    monkeypatch.setattr(export, "CHUNK", 2)
    now = timezone.now()
    same_moment = [factories.make_order(world.operator, now=now, title=f"同一时刻 {i}") for i in range(3)]
    older = [factories.make_order(world.operator, now=now - dt.timedelta(hours=h), title=f"早些 {h}") for h in (1, 2)]
    ordered = WorkOrder.objects.order_by("-created_at", "-id")

    read = []
    for order in export.export_queryset(world.dispatcher, WorkOrder.objects.all()):
        read.append(order.pk)
        if len(read) == 1:  # registered during the export: newer than its first chunk, so not in it
            factories.make_order(world.operator, title="导出期间登记")

    assert read == [o.pk for o in sorted(same_moment, key=lambda o: -o.pk)] + [o.pk for o in older]
    assert read == list(ordered.values_list("pk", flat=True))[1:]


SQLITE_EXPORT_WITH_WRITERS = r"""
import sqlite3, sys, tempfile
import django
django.setup()
from django.core.management import call_command
from django.http import QueryDict
call_command("migrate", verbosity=0)
from yiwang.demo import factories
from yiwang.exchange import export
from yiwang.exchange.models import ExportJob
from yiwang.workorders import selectors
from yiwang.workorders.filtersets import WorkOrderFilterSet
operator = factories.make_user("op", "operator")
supervisor = factories.make_user("sup", "supervisor")
for i in range(7):
    factories.make_order(operator, title=f"导出 {i}")
export.CHUNK = 2
other = sqlite3.connect(sys.argv[1], timeout=20)
def progress(rows):
    other.execute("UPDATE accounts_user SET last_name = last_name || 'x' WHERE username = 'op'")
    other.commit()  # another connection commits while the export runs (the worker, a request)
    ExportJob.objects.filter(pk=0).update(rows_written=rows)  # the export's own progress write
filterset = WorkOrderFilterSet(QueryDict(""), queryset=selectors.order_list(supervisor))
with tempfile.TemporaryFile() as target:
    written = export.write_orders(supervisor, export.export_queryset(supervisor, filterset.qs), target,
                                  progress=progress)
print(written["rows"])
"""


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="SQLite's file locking; runs on the SQLite pass")
def test_a_background_export_on_sqlite_survives_other_writers(tmp_path):
    env = {**os.environ, "YIWANG_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "yiwang.settings"}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-c", SQLITE_EXPORT_WITH_WRITERS, str(tmp_path / "yiwang.sqlite3")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "7"
