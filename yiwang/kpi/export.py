"""The KPI table as xlsx: one sheet of rows, one of the trend, one of the definitions."""

from __future__ import annotations

from typing import IO

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from yiwang.core.calendar import SHANGHAI

from . import selectors

PERCENT = "0.00%"


def _header(ws, cells: list[str]) -> None:
    ws.append(cells)
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)


def _kpi_cells(row: dict) -> list:
    cells = [row["orders"]]
    for d in selectors.DEFINITIONS:
        k = row[d["code"]]
        cells += [k["num"], k["den"], k["rate"]]
    return cells


def _kpi_header(first: str) -> list[str]:
    cells = [first, "工单数"]
    for d in selectors.DEFINITIONS:
        cells += [f"{d['short']}（分子）", f"{d['short']}（分母）", d["name"]]
    return cells


def _format(ws, first_data_row: int) -> None:
    for row in ws.iter_rows(min_row=first_data_row):
        for i, cell in enumerate(row[2:], start=0):
            if i % 3 == 2:  # every third KPI cell is the rate
                cell.number_format = PERCENT
    ws.column_dimensions["A"].width = 24
    for col in range(2, ws.max_column + 1):
        ws.column_dimensions[get_column_letter(col)].width = 12
    ws.freeze_panes = ws.cell(row=first_data_row, column=2)


def write_kpis(data: dict, target: IO[bytes], *, description: str = "") -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "绩效指标"
    period = data["period"]
    ws.append([f"统计区间（按登记日期）：{period['from']} 至 {period['to']}；分组：{selectors.BY[data['by']]}"])
    ws.append([f"生成时间：{timezone.localtime(timezone.now(), SHANGHAI):%Y-%m-%d %H:%M}" +
               (f"；条件：{description}" if description else "")])
    _header(ws, _kpi_header(selectors.BY[data["by"]]))
    first = ws.max_row + 1
    for row in data["rows"]:
        ws.append([row["name"], *_kpi_cells(row)])
    ws.append(["合计", *_kpi_cells(data["total"])])
    ws[ws.max_row][0].font = Font(bold=True)
    _format(ws, first)

    trend = wb.create_sheet("趋势")
    _header(trend, _kpi_header("周（起始日）" if data.get("every") == "week" else "月"))
    for row in data.get("trend", []):
        trend.append([row["bucket"], *_kpi_cells(row)])
    _format(trend, 2)

    defs = wb.create_sheet("指标口径")
    _header(defs, ["指标", "分子", "分母"])
    for d in selectors.DEFINITIONS:
        defs.append([d["name"], d["numerator"], d["denominator"]])
    defs.append(["统计口径", "按工单登记日期落入统计区间计；分子、分母只计结果已知的工单", ""])
    for col, width in zip("ABC", (14, 60, 60)):
        defs.column_dimensions[col].width = width
    wb.save(target)
