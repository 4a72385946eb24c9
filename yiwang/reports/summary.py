"""The report's opening paragraph: template sentences filled with the report's own numbers.

Nothing here adds a fact: every figure is read from the dict built by
:func:`yiwang.reports.selectors.weekly_report`, and the "需关注" list is a fixed set
of rules over those numbers (thresholds below), so the same numbers always give
the same text.
"""

from __future__ import annotations

from .fmt import pct, points, trend_words

# A category or street "needs attention" when it grew at least this much on a
# base large enough for the growth to mean something.
GROWTH = 0.30
MIN_COUNT = 5
# A KPI "slipped" when it moved this far the wrong way on enough counted orders.
SLIP = 0.05
MIN_DEN = 10
TOP_CHANNELS = 3


def _volume_sentence(data: dict) -> str:
    v = data["volumes"]
    scope = f"{data['scope']['unit_name']}" if data["scope"]["unit_name"] else ""
    text = f"本周（{data['week']['title']}）{scope}共受理工单 {v['total']:,} 件，日均 {v['total'] / 7:.1f} 件"
    if v["previous"]:
        text += f"，环比上周（{v['previous']:,} 件）{trend_words(v['change'])}"
    else:
        text += "，上周无工单可比"
    channels = sorted(v["channels"], key=lambda r: -r["count"])[:TOP_CHANNELS]
    parts = [f"{r['name']} {r['count']:,} 件（{pct(r['share'])}）" for r in channels if r["count"]]
    if parts:
        text += "；其中" + "，".join(parts)
    if not data["week"]["complete"]:
        text += "（本周尚未结束，数据截至生成时）"
    return text + "。"


def _rate_text(rate: dict) -> str:
    if rate["rate"] is None:
        return f"{rate['name']}暂无数据"
    text = f"{rate['name']} {pct(rate['rate'])}"
    if rate["delta"] is not None:
        text += f"（环比 {points(rate['delta'])}）"
    return text


def _kpi_sentences(data: dict) -> list[str]:
    rates = data["kpis"]["rates"]
    three = [r for r in rates if r["three_rates"]]
    others = [r for r in rates if not r["three_rates"]]
    return ["三率：" + "，".join(_rate_text(r) for r in three) + "。",
            "其他指标：" + "，".join(_rate_text(r) for r in others) + "。"]


def _attention(data: dict) -> list[str]:
    v = data["volumes"]
    items = []
    for row in v["categories"]:
        if row["count"] >= MIN_COUNT and row["change"] is not None and row["change"] >= GROWTH:
            items.append(f"「{row['name']}」类诉求 {row['count']} 件，环比{trend_words(row['change'])}")
    for row in v["streets"]:
        if row["key"] is not None and row["count"] >= MIN_COUNT and row["change"] is not None and row["change"] >= GROWTH:
            items.append(f"{row['name']}街道受理 {row['count']} 件，环比{trend_words(row['change'])}")
    for rate in data["kpis"]["rates"]:
        if rate["delta"] is None or rate["den"] < MIN_DEN:
            continue
        worse = -rate["delta"] if rate["higher_is_better"] else rate["delta"]
        if worse >= SLIP:
            items.append(f"{rate['name']}{pct(rate['rate'])}，较上周{'下降' if rate['higher_is_better'] else '上升'} "
                         f"{abs(rate['delta']) * 100:.1f} 个百分点")
    alerts = data["alerts"]
    if alerts["available"] and alerts["items"]:
        still_open = sum(1 for a in alerts["items"] if a["open"])
        items.append(f"本周突发预警 {len(alerts['items'])} 起" + (f"，其中 {still_open} 起待处置" if still_open else ""))
    clusters = data["clusters"]
    if clusters["available"] and clusters["items"]:
        top = clusters["items"][0]
        items.append(f"热度最高的类案「{top['label']}」（热度 {top['heat']:.1f}，本周 {top['week_count']} 件）")
    return items


def sentences(data: dict) -> list[str]:
    """The summary paragraphs, in order; the last one starts with 需关注."""
    attention = _attention(data)
    if attention:
        last = "需关注：" + "；".join(attention) + "。"
    else:
        last = (f"需关注：本周无环比增长 {GROWTH:.0%} 以上（且不少于 {MIN_COUNT} 件）的分类或街道，"
                f"各项指标较上周未见 {SLIP * 100:.0f} 个百分点以上的下滑。")
    return [_volume_sentence(data), *_kpi_sentences(data), last]
