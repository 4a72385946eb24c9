"""The report's numbers on the hand-built weeks (conftest's table)."""

import datetime as dt

import pytest

from yiwang.core.calendar import SHANGHAI
from yiwang.reports.selectors import change, weekly_report

from .conftest import W47, W48

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 12, 10, 9, tzinfo=SHANGHAI)


def by_name(rows):
    return {r["name"]: r for r in rows}


def rates(data):
    return {r["code"]: (r["num"], r["den"]) for r in data["kpis"]["rates"]}


def test_volumes_of_the_week_and_the_week_before(report_world):
    v = weekly_report(W48, now=NOW)["volumes"]
    assert (v["total"], v["previous"], v["change"]) == (8, 3, 1.6667)
    assert [d["count"] for d in v["days"]] == [7, 0, 0, 0, 0, 0, 1]
    assert [d["previous"] for d in v["days"]] == [1, 0, 1, 0, 0, 0, 1]
    assert v["days"][0] == {"day": "2026-11-23", "weekday": "一", "count": 7, "previous": 1}
    channels = by_name(v["channels"])
    assert (channels["电话"]["count"], channels["电话"]["previous"], channels["电话"]["change"]) == (7, 2, 2.5)
    assert (channels["网站"]["count"], channels["网站"]["previous"], channels["网站"]["change"]) == (1, 1, 0.0)
    assert channels["电话"]["share"] == 0.875
    assert set(channels) == {"电话", "网站"}  # channels with no orders in either week are left out
    types = by_name(v["appeal_types"])
    assert {k: (r["count"], r["previous"]) for k, r in types.items()} == {
        "求助": (6, 2), "咨询": (1, 0), "投诉": (1, 1)}
    assert types["咨询"]["change"] is None  # nothing to compare with
    streets = by_name(v["streets"])
    assert {k: (r["count"], r["previous"]) for k, r in streets.items()} == {
        "曲阳路": (6, 2), "欧阳路": (2, 0), "嘉兴路": (0, 1)}
    assert [r["name"] for r in v["streets"]] == ["曲阳路", "欧阳路", "嘉兴路"]  # largest first
    assert [(r["count"], r["previous"]) for r in v["categories"]] == [(8, 3)]
    assert v["categories"][0]["path"] == report_world.a.category.path


def test_week_boundaries_follow_shanghai_midnight(report_world):
    # I (Mon 00:30 Shanghai, Sunday in UTC) is in W48; P3 (Sun 23:59) in W47; G (next Monday) in neither.
    assert weekly_report(W47, now=NOW)["volumes"]["total"] == 3
    assert weekly_report(W48.next, now=NOW)["volumes"]["total"] == 1


def test_kpis_for_the_week_and_the_week_before(report_world):
    data = weekly_report(W48, now=NOW)
    assert data["kpis"]["orders"] == 8
    assert rates(data) == {"sign": (2, 4), "resolution": (1, 3), "satisfaction": (2, 3), "closure": (2, 3),
                           "return": (1, 4), "repeat": (1, 8)}
    sign = data["kpis"]["rates"][0]
    assert (sign["rate"], sign["previous"], sign["delta"], sign["three_rates"]) == (0.5, None, None, True)
    repeat = {r["code"]: r for r in data["kpis"]["rates"]}["repeat"]
    assert (repeat["rate"], repeat["previous"], repeat["delta"]) == (0.125, 0.0, 0.125)
    streets = by_name(data["kpis"]["by_street"])
    assert streets["曲阳路"]["orders"] == 6 and streets["欧阳路"]["orders"] == 2
    assert (streets["曲阳路"]["sign"]["num"], streets["曲阳路"]["sign"]["den"]) == (2, 4)
    units = {r["key"]: r for r in data["kpis"]["by_unit"]}
    w = report_world.world
    assert units[w.street_office.pk]["orders"] == 3 and units[w.other_unit.pk]["orders"] == 1
    assert units[None]["orders"] == 4  # E, F, H, I never dispatched


def test_a_unit_version_counts_only_the_units_orders(report_world):
    w = report_world.world
    data = weekly_report(W48, unit=w.street_office.pk, now=NOW)
    assert data["scope"] == {"unit": w.street_office.pk, "unit_name": w.street_office.name}
    assert data["volumes"]["total"] == 3  # A, B, C lead by the office (D moved to SCJG)
    assert data["kpis"]["orders"] == 3 and rates(data)["sign"] == (2, 3)
    assert [r["key"] for r in data["kpis"]["by_unit"]] == [w.street_office.pk]
    assert data["clusters"]["available"] is False and data["alerts"]["available"] is False


def test_summary_is_built_from_the_numbers(report_world):
    data = weekly_report(W48, now=NOW)
    first, three, others, attention = data["summary"]
    assert first == ("本周（2026 年第 48 周（11月23日—11月29日））共受理工单 8 件，日均 1.1 件，"
                     "环比上周（3 件）增长 166.7%；其中电话 7 件（87.5%），网站 1 件（12.5%）。")
    assert three == "三率：签收及时率 50.0%，实际解决率 33.3%，满意率 66.7%。"
    assert others == "其他指标：按时办结率 66.7%，退单率 25.0%，重复来电率 12.5%（环比 +12.5 个百分点）。"
    assert attention.startswith("需关注：")
    assert "曲阳路街道受理 6 件，环比增长 200.0%" in attention
    assert f"「{report_world.a.category.name}」类诉求 8 件，环比增长 166.7%" in attention
    assert "欧阳路" not in attention  # 2 orders: too few to call a trend


def test_an_empty_week_reads_sensibly(report_world):
    data = weekly_report(W47.previous, now=NOW)
    assert data["volumes"]["total"] == 0 and data["volumes"]["change"] is None
    assert data["summary"][0].startswith("本周（2026 年第 46 周（11月9日—11月15日））共受理工单 0 件")
    assert "上周无工单可比" in data["summary"][0]
    assert data["summary"][1] == "三率：签收及时率暂无数据，实际解决率暂无数据，满意率暂无数据。"
    assert data["summary"][-1].startswith("需关注：本周无环比增长 30% 以上")


def test_an_unfinished_week_says_so():
    week = W48.next
    data = weekly_report(week, now=dt.datetime(2026, 12, 2, 10, tzinfo=SHANGHAI))
    assert data["week"]["complete"] is False
    assert "本周尚未结束" in data["summary"][0]


def test_change():
    assert change(3, 2) == 0.5 and change(0, 4) == -1.0 and change(5, 0) is None and change(None, 3) is None
