"""The district view's tables as an xlsx workbook (one sheet per table)."""

from __future__ import annotations

from openpyxl import Workbook
from openpyxl.styles import Font

from yiwang.core.masking import mask_phone

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _sheet(book: Workbook, title: str, header: list[str], rows: list[list]) -> None:
    sheet = book.create_sheet(title)
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    for column, name in zip(sheet.columns, header):
        sheet.column_dimensions[column[0].column_letter].width = max(10, len(name) * 2 + 2)


def _rate(value) -> str:
    return "" if value is None else f"{value:.1%}"


def district_workbook(data: dict, *, user) -> Workbook:
    book = Workbook()
    book.remove(book.active)
    c, r = data["completion"], data["rectifications"]
    _sheet(book, "概况", ["指标", "数值"], [
        ["统计期", data["period"].label],
        ["应自查（周期·空间）", c["required"]], ["已自查", c["done"]], ["自查完成率", _rate(c["rate"])],
        ["自查逾期空间", data["overdue_spaces"]],
        ["在办整改", r["open"]], ["逾期整改", r["overdue"]],
        ["本期新增整改（隐患）", r["opened_in_period"]], ["本期销项", r["closed_in_period"]],
        ["本期扫码反映", data["reports"]["total"] if data["reports"] else "—"],
    ])
    _sheet(book, "各街道完成率", ["街道", "应自查", "已自查", "完成率"],
           [[s["street"], s["required"], s["done"], _rate(s["rate"])] for s in c["by_street"]])
    _sheet(book, "隐患按类别", ["类别", "隐患数"], [[h["section"], h["n"]] for h in data["hazards_by_section"]])
    _sheet(book, "隐患按街道", ["街道", "隐患数"], [[h["street"], h["n"]] for h in data["hazards_by_street"]])
    _sheet(book, "隐患按空间类型", ["空间类型", "隐患数"], [[h["type"], h["n"]] for h in data["hazards_by_type"]])
    if data["reports"]:
        _sheet(book, "扫码反映", ["时间", "空间", "工单号", "反映人电话"],
               [[rep.created_at.strftime("%Y-%m-%d %H:%M"), rep.space.code, rep.order.number,
                 mask_phone(rep.order.appellant_phone)] for rep in data["reports"]["recent"]])
    colours = {"green": "绿", "yellow": "黄", "red": "红", "none": "未检查"}
    _sheet(book, "空间点位", ["编码", "名称", "纬度", "经度", "当前结果", "自查逾期"],
           [[p["code"], p["name"], p["lat"], p["lng"], colours.get(p["colour"], p["colour"]),
             "是" if p["overdue"] else ""] for p in data["points"]])
    return book
