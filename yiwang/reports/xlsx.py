"""The weekly report as xlsx: one sheet per section, bold filled headers, rates as percentages.

The KPI tables per street and per unit use the KPI export's own layout
(:mod:`yiwang.kpi.export`: numerator, denominator and rate of each KPI), so a
sheet of the report and the KPI page's export read alike.
"""

from __future__ import annotations

from typing import IO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from yiwang.exchange.export import safe_value
from yiwang.kpi import export as kpi_export


PERCENT = kpi_export.PERCENT
CHANGE = "+0.0%;-0.0%;0.0%"
HEAD_FONT = Font(bold=True, color="FFFFFF")
HEAD_FILL = PatternFill("solid", fgColor="2F5597")


def _style_header(ws, row: int) -> None:
    for cell in ws[row]:
        cell.font = HEAD_FONT
        cell.fill = HEAD_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _table(ws, title: str, headers: list[str], rows: list[list], *, formats: dict[int, str] | None = None,
           widths: dict[int, int] | None = None) -> None:
    """A titled table: title row, header row (frozen), data rows; ``formats`` by 0-based column."""
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append(headers)
    _style_header(ws, 2)
    for row in rows:
        ws.append([safe_value(ws, v) for v in row])
    for col, number_format in (formats or {}).items():
        for (cell,) in ws.iter_rows(min_row=3, min_col=col + 1, max_col=col + 1):
            cell.number_format = number_format
    for col in range(1, len(headers) + 1):
        ws.column_dimensions[get_column_letter(col)].width = (widths or {}).get(col - 1, 14)
    ws.freeze_panes = "B3"


def _compare_rows(rows: list[dict]) -> list[list]:
    return [[r["name"], r["count"], r["previous"], r["change"], r.get("share")] for r in rows]


COMPARE_HEADERS = ["本周件数", "上周件数", "环比", "占比"]
COMPARE_FORMATS = {2 + 1: CHANGE, 3 + 1: PERCENT}


def _summary(wb: Workbook, data: dict) -> None:
    ws = wb.active
    ws.title = "摘要"
    scope = f" · {data['scope']['unit_name']}" if data["scope"]["unit_name"] else ""
    ws.append([f"热线分析周报 {data['week']['title']}{scope}"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([f"统计口径：按工单登记时间（上海时间）{data['week']['from']} 00:00 至 {data['week']['to']} 24:00；"
               f"生成时间：{data['generated_at']}"])
    ws.append([])
    for line in data["summary"]:
        ws.append([line])
        ws.cell(row=ws.max_row, column=1).alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[ws.max_row].height = 48
    ws.append([])
    ws.append(["指标", "本周", "上周", "环比"])
    _style_header(ws, ws.max_row)
    v = data["volumes"]
    ws.append(["受理工单（件）", v["total"], v["previous"], v["change"]])
    ws.cell(row=ws.max_row, column=4).number_format = CHANGE
    for rate in data["kpis"]["rates"]:
        ws.append([rate["name"], rate["rate"], rate["previous"], rate["delta"]])
        for col in (2, 3):
            ws.cell(row=ws.max_row, column=col).number_format = PERCENT
        ws.cell(row=ws.max_row, column=4).number_format = CHANGE  # percentage points
    ws.append(["注：指标行的「环比」为百分点差（本周比率减上周比率）。"])
    ws.column_dimensions["A"].width = 100
    for col in "BCD":
        ws.column_dimensions[col].width = 12


def _volumes(wb: Workbook, data: dict) -> None:
    v = data["volumes"]
    _table(wb.create_sheet("每日工单量"), "每日受理工单（按登记日期）", ["日期", "星期", "本周件数", "上周同日件数"],
           [[d["day"], f"周{d['weekday']}", d["count"], d["previous"]] for d in v["days"]]
           + [["合计", "", v["total"], v["previous"]]])
    for title, sheet, key in (("按渠道", "渠道", "channels"), ("按诉求类型", "诉求类型", "appeal_types"),
                              ("按街道", "街道", "streets")):
        _table(wb.create_sheet(sheet), f"受理工单{title}", [sheet, *COMPARE_HEADERS], _compare_rows(v[key]),
               formats=COMPARE_FORMATS, widths={0: 20})
    _table(wb.create_sheet("热点分类"), f"受理量前 {len(v['categories'])} 的分类",
           ["分类", "分类路径", *COMPARE_HEADERS],
           [[r["name"], r["path"], r["count"], r["previous"], r["change"], r["share"]] for r in v["categories"]],
           formats={4: CHANGE, 5: PERCENT}, widths={0: 20, 1: 48})


def _kpi_table(wb: Workbook, name: str, first: str, rows: list[dict]) -> None:
    ws = wb.create_sheet(name)
    ws.append([f"{name}（六项指标的分子、分母和比率）"])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append(kpi_export._kpi_header(first))
    _style_header(ws, 2)
    for row in rows:
        ws.append([safe_value(ws, row["name"]), *kpi_export._kpi_cells(row)])
    kpi_export._format(ws, 3)


def _kpis(wb: Workbook, data: dict) -> None:
    k = data["kpis"]
    _table(wb.create_sheet("指标"), f"本周登记工单的指标（{k['orders']:,} 件）",
           ["指标", "分子", "分母", "本周", "上周分子", "上周分母", "上周", "变化（百分点）"],
           [[r["name"], r["num"], r["den"], r["rate"], r["previous_num"], r["previous_den"], r["previous"], r["delta"]]
            for r in k["rates"]],
           formats={3: PERCENT, 6: PERCENT, 7: CHANGE}, widths={0: 16})
    _kpi_table(wb, "街道指标", "街道", k["by_street"])
    _kpi_table(wb, "单位指标", "承办单位", k["by_unit"])


def _clusters(wb: Workbook, data: dict) -> None:
    c = data["clusters"]
    ws = wb.create_sheet("类案")
    if not c["available"]:
        ws.append(["本报告不含类案统计（类案模块未启用或为单位版报告）。"])
        return
    _table(ws, "本周有新增工单的类案（按热度）",
           ["类案", "热度", "本周件数", "累计件数", "街道", "地点/对象", "状态", "治理任务", "任务状态", "责任单位", "任务截止"],
           [[i["label"], i["heat"], i["week_count"], i["size"], i["street"], i["place"], i["status"],
             (i["task"] or {}).get("title", "未开启"), (i["task"] or {}).get("status", ""),
             (i["task"] or {}).get("owner", ""), (i["task"] or {}).get("deadline", "")] for i in c["items"]],
           formats={1: "0.00"}, widths={0: 36, 7: 24, 9: 20, 10: 17})


def _alerts(wb: Workbook, data: dict) -> None:
    a = data["alerts"]
    ws = wb.create_sheet("突发预警")
    if not a["available"]:
        ws.append(["本报告不含突发预警（预警模块未启用或为单位版报告）。"])
        return
    _table(ws, "本周突发预警",
           ["预警时间", "类型", "内容", "地点", "实际件数", "常态件数", "倍数", "窗口（小时）", "涉及工单", "状态"],
           [[i["raised_at"], i["kind"], i["what"], i["where"], i["observed"], i["expected"], i["ratio"],
             i["window_hours"], i["orders"], i["status"]] for i in a["items"]],
           formats={5: "0.00", 6: "0.0"}, widths={0: 17, 2: 36})


def _definitions(wb: Workbook, data: dict) -> None:
    _table(wb.create_sheet("指标口径"), "指标口径", ["指标", "分子", "分母"],
           [[d["name"], d["numerator"], d["denominator"]] for d in data["kpis"]["definitions"]]
           + [["统计口径", "按工单登记日期落入本周计；分子、分母只计生成报告时结果已知的工单", ""]],
           widths={0: 14, 1: 60, 2: 60})


def write_report(data: dict, target: IO[bytes]) -> None:
    wb = Workbook()
    for section in (_summary, _volumes, _kpis, _clusters, _alerts, _definitions):
        section(wb, data)
    wb.save(target)
