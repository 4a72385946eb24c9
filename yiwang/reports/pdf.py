"""The weekly report as PDF (reportlab), with no font file: the built-in CID font STSong-Light.

STSong-Light is one of the Adobe Asian fonts every PDF reader knows; reportlab
writes only its name and the UniGB-UCS2-H encoding, so the file carries no
glyphs and nothing is downloaded or installed. Tables repeat their header row
on every page; a bar chart shows the daily volume against the previous week.
"""

from __future__ import annotations

from typing import IO

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from xml.sax.saxutils import escape

from .fmt import pct, points, signed_pct

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

BLUE = colors.HexColor("#2F5597")
STYLES = {
    "title": ParagraphStyle("title", fontName=FONT, fontSize=17, leading=24, spaceAfter=4),
    "meta": ParagraphStyle("meta", fontName=FONT, fontSize=8.5, leading=12, textColor=colors.HexColor("#555555")),
    "h2": ParagraphStyle("h2", fontName=FONT, fontSize=12.5, leading=18, spaceBefore=10, spaceAfter=4, textColor=BLUE),
    "body": ParagraphStyle("body", fontName=FONT, fontSize=10, leading=16, spaceAfter=3, wordWrap="CJK"),
    "cell": ParagraphStyle("cell", fontName=FONT, fontSize=8, leading=10.5, wordWrap="CJK"),
    "note": ParagraphStyle("note", fontName=FONT, fontSize=8, leading=11, textColor=colors.HexColor("#666666"),
                           wordWrap="CJK"),
}
TABLE_STYLE = TableStyle([
    ("FONTNAME", (0, 0), (-1, -1), FONT),
    ("FONTSIZE", (0, 0), (-1, -1), 8),
    ("LEADING", (0, 0), (-1, -1), 10.5),
    ("BACKGROUND", (0, 0), (-1, 0), BLUE),
    ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
    ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#B4C0D8")),
    ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#F2F5FA")]),
    ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ("TOPPADDING", (0, 0), (-1, -1), 2),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
])
WIDTH = A4[0] - 36 * mm


def _p(text: str, style: str = "body") -> Paragraph:
    return Paragraph(escape(str(text)), STYLES[style])


def _table(headers: list[str], rows: list[list], widths: list[float] | None = None, *, wrap: set[int] = frozenset()):
    """A table whose header repeats on each page; columns in ``wrap`` wrap long text."""
    body = [[_p(v, "cell") if i in wrap else ("" if v is None else str(v)) for i, v in enumerate(row)] for row in rows]
    if widths:
        widths = [WIDTH * w / sum(widths) for w in widths]
    table = Table([headers, *body], colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(TABLE_STYLE)
    return table


def _empty(text: str) -> Paragraph:
    return _p(text, "note")


def _daily_chart(days: list[dict]) -> Drawing:
    drawing = Drawing(WIDTH, 62 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 30, 28, WIDTH - 130, 62 * mm - 44
    chart.data = [[d["previous"] for d in days], [d["count"] for d in days]]
    chart.categoryAxis.categoryNames = [f"{d['day'][5:]} 周{d['weekday']}" for d in days]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 7.5
    chart.valueAxis.labels.fontSize = 7.5
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = colors.HexColor("#B4C0D8")
    chart.bars[1].fillColor = BLUE
    chart.barLabels.fontSize = 6.5
    chart.barLabelFormat = "%d"
    chart.barLabels.nudge = 6
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = WIDTH - 90, 62 * mm - 30
    legend.fontName = FONT
    legend.fontSize = 8
    legend.colorNamePairs = [(colors.HexColor("#B4C0D8"), "上周同日"), (BLUE, "本周")]
    drawing.add(legend)
    drawing.add(String(30, 62 * mm - 10, "每日受理工单（件）", fontName=FONT, fontSize=9))
    return drawing


def _compare(rows: list[dict], first: str) -> Table:
    return _table([first, "本周", "上周", "环比", "占比"],
                  [[r["name"], f"{r['count']:,}", f"{r['previous']:,}", signed_pct(r["change"]), pct(r.get("share"))]
                   for r in rows], [3, 1, 1, 1, 1], wrap={0})


def _kpi_rows(rows: list[dict], codes: list[str]) -> list[list]:
    return [[r["name"], f"{r['orders']:,}", *(pct(r[c]["rate"]) for c in codes)] for r in rows]


def _volumes(story: list, data: dict) -> None:
    v = data["volumes"]
    story.append(_p("一、受理情况", "h2"))
    story.append(_p(f"本周受理 {v['total']:,} 件，上周 {v['previous']:,} 件，环比 {signed_pct(v['change'])}。"))
    story.append(_daily_chart(v["days"]))
    story.append(_table(["日期", "星期", "本周", "上周同日"],
                        [[d["day"], f"周{d['weekday']}", d["count"], d["previous"]] for d in v["days"]]
                        + [["合计", "", f"{v['total']:,}", f"{v['previous']:,}"]], [2, 1, 1, 1]))
    for title, key, first in (("按渠道", "channels", "渠道"), ("按诉求类型", "appeal_types", "诉求类型"),
                              ("按街道", "streets", "街道")):
        story.append(KeepTogether([_p(title, "h2"), _compare(v[key], first) if v[key] else _empty("本周无数据")]))
    story.append(_p(f"受理量前 {len(v['categories'])} 的分类", "h2"))
    story.append(_table(["分类", "分类路径", "本周", "上周", "环比"],
                        [[r["name"], r["path"], r["count"], r["previous"], signed_pct(r["change"])]
                         for r in v["categories"]], [2, 5, 1, 1, 1], wrap={0, 1})
                 if v["categories"] else _empty("本周无数据"))


def _kpis(story: list, data: dict) -> None:
    k = data["kpis"]
    story.append(_p("二、绩效指标", "h2"))
    story.append(_p(f"本周登记的 {k['orders']:,} 件工单中结果已知者的指标（与绩效指标页同一口径）。", "note"))
    story.append(_table(["指标", "本周", "分子/分母", "上周", "变化"],
                        [[r["name"], pct(r["rate"]), f"{r['num']}/{r['den']}", pct(r["previous"]), points(r["delta"])]
                         for r in k["rates"]], [2, 1, 1.4, 1, 1.6]))
    # Columns follow the KPI definitions, so a new or renamed KPI reaches the PDF by itself.
    codes = [d["code"] for d in k["definitions"]]
    headers = ["工单数", *(d["name"] for d in k["definitions"])]
    for title, key, first in (("各街道指标", "by_street", "街道"), ("各承办单位指标", "by_unit", "承办单位")):
        story.append(_p(title, "h2"))
        story.append(_table([first, *headers], _kpi_rows(k[key], codes), [3, *([1] * len(headers))], wrap={0})
                     if k[key] else _empty("本周无数据"))


def _clusters(story: list, data: dict) -> None:
    c = data["clusters"]
    story.append(_p("三、热点类案", "h2"))
    if not c["available"]:
        story.append(_empty("本报告不含类案统计（类案模块未启用或为单位版报告）。"))
        return
    if not c["items"]:
        story.append(_empty("本周没有新增工单的类案。"))
        return
    story.append(_table(["类案", "热度", "本周", "累计", "街道", "治理任务"],
                        [[i["label"], f"{i['heat']:.1f}", i["week_count"], i["size"], i["street"],
                          f"{i['task']['title']}（{i['task']['status']}）" if i["task"] else "未开启"]
                         for i in c["items"]], [4, 1, 1, 1, 1.6, 3], wrap={0, 4, 5}))
    story.append(_p("热度、累计件数和任务状态为生成报告时的值。", "note"))


def _alerts(story: list, data: dict) -> None:
    a = data["alerts"]
    story.append(_p("四、突发预警", "h2"))
    if not a["available"]:
        story.append(_empty("本报告不含突发预警（预警模块未启用或为单位版报告）。"))
        return
    if not a["items"]:
        story.append(_empty("本周未发出突发预警。"))
        return
    story.append(_table(["预警时间", "类型", "内容", "地点", "实际/常态", "倍数", "状态"],
                        [[i["raised_at"], i["kind"], i["what"], i["where"], f"{i['observed']}/{i['expected']:.1f}",
                          "—" if i["ratio"] is None else f"{i['ratio']:.1f}", i["status"]] for i in a["items"]],
                        [2.2, 0.8, 3, 1.3, 1.2, 0.8, 1], wrap={2, 3}))


def write_report(data: dict, target: IO[bytes]) -> None:
    scope = f" · {data['scope']['unit_name']}" if data["scope"]["unit_name"] else ""
    doc = SimpleDocTemplate(target, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                            bottomMargin=16 * mm, title=f"热线分析周报 {data['week']['code']}", author="一网 yiwang")
    story = [
        _p(f"热线分析周报{scope}", "title"),
        _p(f"{data['week']['title']} · 按工单登记时间（上海时间）统计 · 生成于 {data['generated_at']}", "meta"),
        _p("摘要", "h2"),
        *(_p(line) for line in data["summary"]),
    ]
    for section in (_volumes, _kpis, _clusters, _alerts):
        section(story, data)
    story.append(Spacer(1, 6 * mm))
    story.append(_p("指标口径：" + "；".join(f"{d['name']}＝{d['numerator']} ÷ {d['denominator']}"
                                        for d in data["kpis"]["definitions"]) + "。", "note"))

    def footer(canvas, doc_):
        canvas.saveState()
        canvas.setFont(FONT, 7.5)
        canvas.drawRightString(A4[0] - 18 * mm, 9 * mm, f"热线分析周报 {data['week']['code']} · 第 {doc_.page} 页")
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
