"""Bulk import from CSV and Excel: all rows or none, and never twice."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from yiwang.core.calendar import SHANGHAI
from yiwang.workorders.importers import import_file, import_file_task
from yiwang.workorders.models import Channel, Event, WorkOrder

pytestmark = pytest.mark.django_db

GOOD = (
    "标题,内容,时间,诉求类型,分类,街道,地址,诉求人,电话\n"
    "曲阳路路灯不亮,\t门口路灯一周不亮  ,2024/5/6 9:30:00,求助,城乡建设/城市建设和市政管理/城市公共设施,曲阳路街道,曲阳路800弄,张三,13812345678\n"
    "超市卖过期酸奶,买到过期两个月的酸奶,2024-05-07 14:00,投诉,食品安全,,,李四,\n"
    "  ,,,,,,,,\n"
)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_orders", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_creates_orders_through_the_register_service(world, tmp_path):
    path = write(tmp_path, "good.csv", GOOD)

    out, _ = run(path, "--user", world.operator.username)

    assert "新建 2 条工单" in out
    lamp, milk = WorkOrder.objects.order_by("created_at")
    assert (lamp.channel, lamp.status, lamp.registered_by) == (Channel.IMPORT, "registered", world.operator)
    assert lamp.content == "门口路灯一周不亮"
    assert lamp.created_at == dt.datetime(2024, 5, 6, 9, 30, tzinfo=SHANGHAI)
    assert (lamp.street.name, lamp.address, lamp.appellant_phone) == ("曲阳路", "曲阳路800弄", "13812345678")
    assert milk.appeal_type == "complaint"
    assert milk.category.path == "卫生计生/食品药品监管/食品安全"
    assert list(Event.objects.filter(order=lamp).values_list("action", "to_status")) == [("register", "registered")]


def test_bad_rows_are_all_reported_and_nothing_is_written(world, tmp_path):
    path = write(tmp_path, "bad.csv", (
        "title,detail,time,category,appellant_phone\n"
        ",没有标题,2024-05-06 09:30,,\n"
        "好的一行,内容,2024-05-06 10:00,,\n"
        "坏电话,内容,2024-05-06 11:00,,abc\n"
        "坏分类,内容,昨天,不存在的分类,\n"
    ))

    stderr = io.StringIO()
    with pytest.raises(CommandError) as err:
        call_command("import_orders", str(path), "--user", world.operator.username, stderr=stderr)

    assert err.value.returncode == 2
    reported = [line.split(":")[0] for line in stderr.getvalue().splitlines()]
    assert reported == ["row 2, column title", "row 4, column appellant_phone", "row 5, column time",
                        "row 5, column category"]
    assert WorkOrder.objects.count() == 0


def test_bad_rows_print_row_and_column(world, tmp_path):
    path = write(tmp_path, "bad.csv", "标题,内容,电话\n,没有标题,\n好的一行,内容,\n坏电话,内容,abc\n")
    err = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_orders", str(path), "--user", world.operator.username, stderr=err)

    assert err.getvalue().splitlines() == [
        "row 2, column 标题: 标题不能为空",
        "row 4, column 电话: 联系电话只能包含数字、空格和 + - ( )",
    ]
    assert WorkOrder.objects.count() == 0


def test_reimporting_the_same_file_creates_nothing(world, tmp_path):
    path = write(tmp_path, "good.csv", GOOD)
    run(path, "--user", world.operator.username)

    out, _ = run(path, "--user", world.operator.username)

    assert "新建 0 条工单，2 条此前已导入" in out
    assert WorkOrder.objects.count() == 2


def test_dry_run_validates_without_writing(world, tmp_path):
    out, _ = run(write(tmp_path, "good.csv", GOOD), "--dry-run", "--user", world.operator.username)

    assert "校验通过：2 行" in out
    assert WorkOrder.objects.count() == 0


def test_xlsx_with_title_row_padding_and_mixed_date_cells(world, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["2024年5月 诉求导入"])  # a merged title row above the header
    sheet.merge_cells("A1:D1")
    sheet.append([" 留言主题 ", "留言详情", "留言时间", "电话"])
    sheet.append(["路灯不亮", "\n\t\t门口路灯不亮\n\t", dt.datetime(2024, 5, 6, 9, 30), 13812345678])
    sheet.append(["垃圾没人清运", "垃圾箱房满溢", "2024/5/7 14:05:00", None])
    path = tmp_path / "orders.xlsx"
    book.save(path)

    report = import_file(path, actor=world.operator)

    assert report.ok and report.created == 2
    lamp = WorkOrder.objects.get(title="路灯不亮")
    assert lamp.content == "门口路灯不亮"
    assert lamp.created_at == dt.datetime(2024, 5, 6, 9, 30, tzinfo=SHANGHAI)
    assert lamp.appellant_phone == "13812345678"
    assert WorkOrder.objects.get(title="垃圾没人清运").created_at == dt.datetime(2024, 5, 7, 14, 5, tzinfo=SHANGHAI)


def test_background_task_imports_and_reports(world, tmp_path):
    good = write(tmp_path, "good.csv", GOOD)
    bad = write(tmp_path, "bad.csv", "标题,内容\n有标题,\n")

    result = import_file_task(str(good), world.operator.username)
    failed = import_file_task(str(bad), world.operator.username)

    assert (result["ok"], result["created"]) == (True, 2)
    assert (failed["ok"], failed["created"]) == (False, 0)
    assert failed["errors"] == ["row 2, column 内容: 诉求内容不能为空"]
    assert WorkOrder.objects.count() == 2


def test_a_role_that_may_not_register_imports_nothing(world, tmp_path):
    report = import_file(write(tmp_path, "good.csv", GOOD), actor=world.handler)

    assert not report.ok
    assert "无权" in report.errors[0].problem
    assert WorkOrder.objects.count() == 0
