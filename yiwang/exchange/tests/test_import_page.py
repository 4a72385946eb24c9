"""The import page: who may upload, size limits, the queued job, progress, per-row report, re-import."""

import datetime as dt
import io
import time

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_q.models import OrmQ
from openpyxl import Workbook, load_workbook

from yiwang.core.calendar import SHANGHAI
from yiwang.exchange import jobs
from yiwang.exchange.models import ImportRun
from yiwang.workorders.models import Channel, WorkOrder

pytestmark = pytest.mark.django_db

GOOD_AND_BAD = (
    "标题,内容,时间,电话\n"
    "曲阳路路灯不亮,门口路灯一周不亮,2024/5/6 9:30:00,13812345678\n"
    "坏电话,内容,2024-05-07 14:00,abc\n"
    "垃圾没人清运,垃圾箱房满溢,2024年5月8日 10:00,\n"
)
REAL_SHEET = settings.DATA_DIR / "xlsx" / "appeals_with_replies.xlsx"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload(user, name: str, content: bytes, mode: str = "valid_rows"):
    return client_for(user).post("/imports/", {"file": SimpleUploadedFile(name, content), "mode": mode})


def upload_and_run(user, name, content, mode="valid_rows") -> ImportRun:
    response = upload(user, name, content, mode)
    assert response.status_code == 302, response.content.decode()[:500]
    run = ImportRun.objects.latest("id")
    jobs.run_import(run.pk)  # what the worker does with the queued task
    run.refresh_from_db()
    return run


def test_upload_queues_a_job_after_commit(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(world.operator, "orders.csv", GOOD_AND_BAD.encode())

    run = ImportRun.objects.get()
    assert response["Location"] == f"/imports/{run.pk}/"
    assert (run.status, run.file_name, run.created_by, run.size) == ("queued", "orders.csv", world.operator,
                                                                      len(GOOD_AND_BAD.encode()))
    assert [task.func() for task in OrmQ.objects.all()] == ["yiwang.exchange.jobs.run_import"]
    page = client_for(world.operator).get(f"/imports/{run.pk}/")
    assert "排队中" in page.content.decode() and "status.json" in page.content.decode()


def test_valid_rows_are_imported_and_bad_rows_reported(world):
    run = upload_and_run(world.operator, "orders.csv", GOOD_AND_BAD.encode())

    assert (run.status, run.rows_total, run.created, run.existing, run.skipped) == ("done", 3, 2, 0, 1)
    assert run.errors == [{"row": 3, "column": "电话", "problem": "联系电话只能包含数字、空格和 + - ( )"}]
    lamp = WorkOrder.objects.get(title="曲阳路路灯不亮")
    assert (lamp.channel, lamp.registered_by) == (Channel.IMPORT, world.operator)
    assert lamp.created_at == dt.datetime(2024, 5, 6, 9, 30, tzinfo=SHANGHAI)
    status = client_for(world.operator).get(f"/imports/{run.pk}/status.json").json()
    assert (status["finished"], status["percent"], status["created"], status["errors"]) == (True, 100, 2, 1)
    page = client_for(world.operator).get(f"/imports/{run.pk}/").content.decode()
    assert "联系电话只能包含数字" in page and "这些行未导入" in page
    errors = client_for(world.operator).get(f"/imports/{run.pk}/errors.xlsx")
    rows = list(load_workbook(io.BytesIO(b"".join(errors.streaming_content))).active.values)
    assert rows == [("行号", "列", "问题"), (3, "电话", "联系电话只能包含数字、空格和 + - ( )")]


def test_all_or_nothing_writes_nothing_when_a_row_is_bad(world):
    run = upload_and_run(world.dispatcher, "orders.csv", GOOD_AND_BAD.encode(), mode="all_or_nothing")

    assert (run.status, run.created, run.skipped) == ("failed", 0, 3)
    assert "未导入任何工单" in run.message
    assert WorkOrder.objects.count() == 0
    assert "整个文件未导入" in client_for(world.dispatcher).get(f"/imports/{run.pk}/").content.decode()


def test_reimport_creates_nothing_and_a_corrected_file_adds_only_the_fixed_row(world):
    upload_and_run(world.operator, "orders.csv", GOOD_AND_BAD.encode())
    again = upload_and_run(world.operator, "orders.csv", GOOD_AND_BAD.encode())
    fixed = upload_and_run(world.operator, "orders-fixed.csv", GOOD_AND_BAD.replace(",abc", ",13900001111").encode())

    assert (again.created, again.existing) == (0, 2)
    assert (fixed.status, fixed.created, fixed.existing, fixed.errors) == ("done", 1, 2, [])
    assert WorkOrder.objects.count() == 3


def test_roles_that_may_not_import_are_refused(world):
    for user in (world.handler, world.supervisor, world.citizen):
        assert client_for(user).get("/imports/").status_code == 403
        assert upload(user, "orders.csv", GOOD_AND_BAD.encode()).status_code == 403
    assert ImportRun.objects.count() == 0
    assert client_for(world.admin).get("/imports/").status_code == 200


def test_another_users_run_is_not_shown(world):
    run = upload_and_run(world.operator, "orders.csv", GOOD_AND_BAD.encode())

    assert client_for(world.dispatcher).get(f"/imports/{run.pk}/").status_code == 404
    assert client_for(world.dispatcher).get(f"/imports/{run.pk}/errors.xlsx").status_code == 404
    assert client_for(world.admin).get(f"/imports/{run.pk}/").status_code == 200


def test_oversized_and_wrong_type_uploads_get_a_clear_message(world, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 100

    big = upload(world.operator, "orders.csv", GOOD_AND_BAD.encode())
    wrong = upload(world.operator, "orders.pdf", b"%PDF-1.4")

    assert big.status_code == 400 and "上限为 100" in big.content.decode() and "文件过大" in big.content.decode()
    assert wrong.status_code == 400 and "只能导入 .xlsx 或 .csv 文件" in wrong.content.decode()
    assert ImportRun.objects.count() == 0


def test_a_broken_xlsx_fails_with_a_message(world):
    run = upload_and_run(world.operator, "orders.xlsx", b"not a zip file")

    assert run.status == "failed" and "无法读取 Excel 文件" in run.message


def test_two_row_header_serial_numbers_and_text_dates(world):
    book = Workbook()
    sheet = book.active
    sheet.append(["2024年5月 热线诉求"])
    sheet.merge_cells("A1:E1")
    sheet.append(["留言", None, None, None, "联系"])  # a group label merged over four columns
    sheet.merge_cells("A2:D2")
    sheet.append(["编号", "主题", "详情", "时间", "电话"])
    sheet.append([1, "路灯不亮", " 门口路灯不亮\t", 45418.395833333336, 13812345678])  # 2024-05-06 09:30
    sheet.append([2, "垃圾清运", "垃圾箱房满溢", "45419", None])  # a serial number typed as text: 2024-05-07
    sheet.append([3, "噪音扰民", "夜间施工", "2024.5.8 22:15", None])
    sheet.append([4, "井盖缺失", "人行道井盖缺失", dt.datetime(2024, 5, 9, 8, 0), None])
    sheet.append([5, "坏时间", "内容", "上周", None])
    target = io.BytesIO()
    book.save(target)

    run = upload_and_run(world.operator, "merged.xlsx", target.getvalue())

    assert (run.created, run.errors) == (4, [{"row": 8, "column": "时间", "problem":
                                               "无法识别的时间「上周」，请使用 2024-05-01 09:30 这样的格式"}])
    times = dict(WorkOrder.objects.values_list("external_ref", "created_at"))
    assert times == {
        "1": dt.datetime(2024, 5, 6, 9, 30, tzinfo=SHANGHAI), "2": dt.datetime(2024, 5, 7, tzinfo=SHANGHAI),
        "3": dt.datetime(2024, 5, 8, 22, 15, tzinfo=SHANGHAI), "4": dt.datetime(2024, 5, 9, 8, 0, tzinfo=SHANGHAI),
    }
    assert WorkOrder.objects.get(external_ref="1").appellant_phone == "13812345678"


@pytest.mark.skipif(not REAL_SHEET.exists(), reason=f"the public appeals spreadsheet is not here ({REAL_SHEET})")
def test_the_real_appeals_spreadsheet_imports(world):
    started = time.perf_counter()
    run = upload_and_run(world.operator, REAL_SHEET.name, REAL_SHEET.read_bytes())
    elapsed = time.perf_counter() - started

    assert (run.status, run.rows_total, run.errors) == ("done", 2816, [])
    assert run.created == 2816
    first = WorkOrder.objects.get(external_ref="2549")
    assert first.title == "A2区景蓉华苑物业管理有问题"
    assert first.content.startswith("2019年4月以来") and not first.content.endswith("\t")
    assert first.created_at == dt.datetime(2019, 4, 25, 9, 32, 9, tzinfo=SHANGHAI)
    # The one real date cell in the 留言时间 column (the others are text).
    assert WorkOrder.objects.filter(created_at=dt.datetime(2019, 4, 8, 8, 37, 20, tzinfo=SHANGHAI)).exists()
    print(f"\n{REAL_SHEET.name}: {run.created} rows in {elapsed:.1f} s = {run.created / elapsed:.0f} rows/s")


def test_a_job_delivered_twice_leaves_a_running_import_alone_but_takes_over_a_dead_one(world):
    from django.utils import timezone

    upload(world.operator, "orders.csv", GOOD_AND_BAD.encode())
    run = ImportRun.objects.get()
    ImportRun.objects.filter(pk=run.pk).update(status="checking", heartbeat_at=timezone.now())

    jobs.run_import(run.pk)
    assert ImportRun.objects.get(pk=run.pk).status == "checking" and WorkOrder.objects.count() == 0

    ImportRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - dt.timedelta(minutes=5))
    jobs.run_import(run.pk)
    assert ImportRun.objects.get(pk=run.pk).status == "done" and WorkOrder.objects.count() == 2
