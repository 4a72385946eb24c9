"""How numbers read in the report (page, PDF and xlsx text alike)."""

from __future__ import annotations


def pct(rate: float | None, digits: int = 1) -> str:
    return "—" if rate is None else f"{rate * 100:.{digits}f}%"


def signed_pct(change: float | None) -> str:
    """A relative change: "+12.5%", "-3.0%", "—" when there was nothing to compare with."""
    return "—" if change is None else f"{change * 100:+.1f}%"


def points(delta: float | None) -> str:
    """A difference of two rates in percentage points."""
    return "—" if delta is None else f"{delta * 100:+.1f} 个百分点"


def trend_words(change: float | None) -> str:
    """环比 wording: 增长 12.5% / 下降 3.0% / 持平."""
    if change is None:
        return "无可比数据"
    if abs(change) < 0.0005:
        return "持平"
    return f"{'增长' if change > 0 else '下降'} {abs(change) * 100:.1f}%"
