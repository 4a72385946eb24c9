"""The PDF and xlsx carry the report's figures."""

import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from yiwang.core.calendar import SHANGHAI
from yiwang.reports import services
from yiwang.reports.selectors import weekly_report

from .conftest import W48

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 12, 10, 9, tzinfo=SHANGHAI)


@pytest.fixture
def data(report_world):
    return weekly_report(W48, now=NOW)


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_pdf_text_holds_the_summary_and_tables(data):
    content = services.render_pdf(data)
    assert content.startswith(b"%PDF")
    assert b"STSong-Light" in content and b"FontFile" not in content  # the reader's own font, nothing embedded
    text = re.sub(r"\s+", "", pdf_text(content))
    assert "热线分析周报" in text
    assert "共受理工单8件" in text and "增长166.7%" in text
    assert "签收及时率50.0%" in text and "满意率66.7%" in text
    assert "按渠道" in text and "电话" in text and "+250.0%" in text  # phone 7 vs 2
    assert "各承办单位指标" in text and data["kpis"]["by_unit"][0]["name"] in text
    assert "每日受理工单（件）" in text  # the chart's title


def test_pdf_tables_repeat_their_header_on_every_page(data):
    # A long unit table spills over pages; each page starts with the table header again.
    rows = data["kpis"]["by_unit"]
    data["kpis"]["by_unit"] = [dict(rows[0], name=f"单位{i:03d}") for i in range(150)]
    reader = PdfReader(io.BytesIO(services.render_pdf(data)))
    pages = [re.sub(r"\s+", "", p.extract_text()) for p in reader.pages]
    spilled = [p for p in pages if "单位149" in p or "单位100" in p]
    assert len(reader.pages) >= 3 and spilled
    assert all("承办单位工单数签收及时率" in p for p in spilled)


def test_xlsx_has_a_sheet_per_section_with_formatted_figures(data):
    wb = load_workbook(io.BytesIO(services.render_xlsx(data)))
    assert wb.sheetnames == ["摘要", "每日工单量", "渠道", "诉求类型", "街道", "热点分类", "指标", "街道指标", "单位指标",
                             "类案", "突发预警", "指标口径"]
    summary = wb["摘要"]
    assert summary["A4"].value == data["summary"][0]
    figures = {row[0]: row[1:] for row in summary.iter_rows(min_row=9, values_only=True) if row[0]}
    assert figures["受理工单（件）"] == (8, 3, 1.6667)
    assert figures["签收及时率"][:2] == (0.5, None)
    channels = wb["渠道"]
    assert [c.value for c in channels[2]] == ["渠道", "本周件数", "上周件数", "环比", "占比"]
    assert channels["A2"].font.bold and channels.freeze_panes == "B3"
    phone = next(r for r in channels.iter_rows(min_row=3) if r[0].value == "电话")
    assert [c.value for c in phone] == ["电话", 7, 2, 2.5, 0.875]
    assert phone[4].number_format == "0.00%" and phone[3].number_format.startswith("+0.0%")
    kpis = {r[0].value: r for r in wb["指标"].iter_rows(min_row=3)}
    assert [c.value for c in kpis["签收及时率"][:4]] == ["签收及时率", 2, 4, 0.5]
    assert kpis["签收及时率"][3].number_format == "0.00%"
    units = wb["单位指标"]
    assert units["A2"].value == "承办单位" and units["C2"].value == "签收及时（分子）"
    days = [r for r in wb["每日工单量"].iter_rows(min_row=3, values_only=True)]
    assert days[0] == ("2026-11-23", "周一", 7, 1) and days[-1] == ("合计", None, 8, 3)


def test_xlsx_keeps_a_formula_like_label_as_text(data):
    data["volumes"]["streets"][0]["name"] = "=HYPERLINK(\"http://x\")"
    wb = load_workbook(io.BytesIO(services.render_xlsx(data)))
    cell = wb["街道"]["A3"]
    assert cell.value == "=HYPERLINK(\"http://x\")" and cell.data_type == "s"
