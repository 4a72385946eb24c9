"""KPI reads: the six rates per unit, street or category over any period, and their trends.

Plain functions returning plain dicts, so the KPI page, its xlsx export, the
dashboard and a weekly report all read the same numbers::

    from yiwang.kpi.selectors import Period, kpis, trend
    kpis(Period.parse("2026-11-01", "2026-11-30"), by="street")
    trend(Period.last_days(84), every="week", unit=some_unit_id)

Every rate counts the orders *registered* in the period (Shanghai calendar days,
both ends included) whose outcome is known; recent periods therefore move as
orders are signed, replied and followed up. See docs/kpis.md and ``DEFINITIONS``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import F, Sum
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils import timezone

from yiwang.core.calendar import SHANGHAI
from yiwang.core.errors import Invalid
from yiwang.org.models import Category, Street, Unit

from . import rollup
from .models import DailyRollup, OrderFact

# What each rate counts, in the words shown on the page and in the xlsx export.
DEFINITIONS = [
    {"code": "sign", "name": "签收及时率", "short": "签收及时",
     "numerator": "主办单位在签收时限内签收的工单（从未出现「签收超时」记录）",
     "denominator": "已签收或已签收超时的工单"},
    {"code": "resolution", "name": "实际解决率", "short": "实际解决",
     "numerator": "最近一次回访结果为「实际解决」的工单",
     "denominator": "已回访的工单"},
    {"code": "satisfaction", "name": "满意率", "short": "满意",
     "numerator": "最近一次回访为「满意」或「基本满意」的工单",
     "denominator": "已回访的工单"},
    {"code": "closure", "name": "按时办结率", "short": "按时办结",
     "numerator": "最后一次答复在办结时限（含已批延期）内的工单",
     "denominator": "已答复的工单，以及超过办结时限仍未答复（红灯）的工单"},
    {"code": "return", "name": "退单率", "short": "退单",
     "numerator": "有过退单申请的工单",
     "denominator": "已派单的工单（按单位统计时归首次派给的单位）"},
    {"code": "repeat", "name": "重复来电率", "short": "重复来电",
     "numerator": "有主工单（已合并或关联到更早工单）的工单",
     "denominator": "全部登记工单"},
]
THREE_RATES = ("sign", "resolution", "satisfaction")

_CONDITIONS = rollup.CONDITIONS
# The return rate is the first dispatch's: grouped and scoped by the first unit.
_RETURN_CODES = {"return"}
_MAIN_CODES = [c for c in _CONDITIONS if c not in _RETURN_CODES]

BY = {"total": "合计", "unit": "承办单位", "street": "街道", "category": "一级分类"}
_GROUP = {"total": (None, None), "unit": ("unit_id", "first_unit_id"), "street": ("street_id", "street_id"),
          "category": ("top_category_id", "top_category_id")}
# The same groupings in the daily rollup: (dimension of the main rates, of the return rate).
_DIMS = {"total": ("total", "total"), "unit": ("unit", "first_unit"), "street": ("street", "street"),
         "category": ("category", "category")}
EVERY = {"week": "按周", "month": "按月"}
_TRUNC = {"week": TruncWeek, "month": TruncMonth}
NONE_LABEL = {"unit": "（未派单）", "street": "（未定位街道）", "category": "（未分类）"}
MAX_DAYS = 3 * 366 + 31
# Read the daily rollup when a query allows it (tests turn it off to compare with the facts).
USE_ROLLUP = True


@dataclass(frozen=True)
class Period:
    """Calendar days in Shanghai, both ends included."""

    start: dt.date
    end: dt.date

    @classmethod
    def parse(cls, start: str | None, end: str | None, *, default_days: int = 84) -> "Period":
        today = timezone.localdate(timezone=SHANGHAI)
        try:
            last = dt.date.fromisoformat(end) if end else today
        except ValueError:
            raise Invalid(f"截止日期「{end}」格式应为 YYYY-MM-DD", field="to") from None
        try:
            first = dt.date.fromisoformat(start) if start else last - dt.timedelta(days=default_days - 1)
        except ValueError:
            raise Invalid(f"起始日期「{start}」格式应为 YYYY-MM-DD", field="from") from None
        if first > last:
            raise Invalid("起始日期不能晚于截止日期", field="from")
        if (last - first).days >= MAX_DAYS:
            raise Invalid("统计区间最长约三年（1,129 天）", field="from")
        return cls(first, last)

    @classmethod
    def last_days(cls, days: int, *, today: dt.date | None = None) -> "Period":
        today = today or timezone.localdate(timezone=SHANGHAI)
        return cls(today - dt.timedelta(days=days - 1), today)

    def as_dict(self) -> dict:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


def _base(period: Period, *, street: int | None, category: int | None):
    qs = OrderFact.objects.filter(day__gte=period.start, day__lte=period.end)
    if street is not None:
        qs = qs.filter(street_id=street)
    if category is not None:
        qs = qs.filter(top_category_id=category)
    return qs


def _grouped(qs, key, codes) -> dict:
    """{group value: {aggregate: n}}; ``key`` a field name, an expression, or None for one total."""
    aggregates = rollup.counts(codes)
    if key is None:
        return {None: qs.aggregate(**aggregates)}
    rows = qs.order_by().values(k=F(key) if isinstance(key, str) else key).annotate(**aggregates)
    return {row.pop("k"): row for row in rows}


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _row(main: dict | None, returns: dict | None) -> dict:
    main, returns = main or {}, returns or {}
    row = {"orders": main.get("orders", 0)}
    for code in _CONDITIONS:
        source = returns if code in _RETURN_CODES else main
        num, den = source.get(f"{code}_num", 0), source.get(f"{code}_den", 0)
        row[code] = {"num": num, "den": den, "rate": _rate(num, den)}
    return row


def _sums(codes) -> dict:
    out = {"orders": Sum("orders")}
    for code in codes:
        out[f"{code}_num"], out[f"{code}_den"] = Sum(f"{code}_num"), Sum(f"{code}_den")
    return out


def _rolled(qs, key, codes) -> dict:
    """Like :func:`_grouped`, from the daily rollup: ``key`` is "key" (the dimension's value) or a day bucket."""
    rows = qs.order_by().values(k=F(key) if isinstance(key, str) else key).annotate(**_sums(codes))
    return {(row.pop("k") or None) if key == "key" else row.pop("k"): row for row in rows}


def _from_rollup(period: Period, main_dim: str, return_dim: str, key) -> dict:
    days = DailyRollup.objects.filter(day__gte=period.start, day__lte=period.end)
    if main_dim == return_dim:
        both = _rolled(days.filter(dim=main_dim), key, list(_CONDITIONS))
        return {k: _row(v, v) for k, v in both.items()}
    main = _rolled(days.filter(dim=main_dim), key, _MAIN_CODES)
    returns = _rolled(days.filter(dim=return_dim), key, list(_RETURN_CODES))
    return {k: _row(main.get(k), returns.get(k)) for k in dict.fromkeys([*main, *returns])}


def _compute(period: Period, main_key, return_key, *, unit, street, category, dims=None, bucket=None) -> dict:
    """Group value → row.

    With no narrowing (no unit scope, street or category) and ``dims`` given, the
    daily rollup answers (a few rows per day); otherwise the facts do, in one query
    when both halves group and scope alike, else two.
    """
    if dims is not None and unit is None and street is None and category is None and USE_ROLLUP:
        return _from_rollup(period, *dims, bucket if bucket is not None else "key")
    base = _base(period, street=street, category=category)
    if unit is None and (main_key == return_key):
        both = _grouped(base, main_key, list(_CONDITIONS))
        return {k: _row(v, v) for k, v in both.items()}
    main = _grouped(base.filter(unit_id=unit) if unit is not None else base, main_key, _MAIN_CODES)
    returns = _grouped(base.filter(first_unit_id=unit) if unit is not None else base, return_key, list(_RETURN_CODES))
    return {k: _row(main.get(k), returns.get(k)) for k in dict.fromkeys([*main, *returns])}


def _sum(rows) -> dict:
    total = {"orders": 0}
    for code in _CONDITIONS:
        num = sum(r[code]["num"] for r in rows)
        den = sum(r[code]["den"] for r in rows)
        total[code] = {"num": num, "den": den, "rate": _rate(num, den)}
    total["orders"] = sum(r["orders"] for r in rows)
    return total


def _names(by: str, keys) -> dict:
    ids = [k for k in keys if k is not None]
    model = {"unit": Unit, "street": Street, "category": Category}.get(by)
    if model is None or not ids:
        return {}
    return dict(model.objects.filter(pk__in=ids).values_list("pk", "name"))


def kpis(period: Period, *, by: str = "total", unit: int | None = None, street: int | None = None,
         category: int | None = None) -> dict:
    """The six KPIs over ``period``, one row per unit/street/top-level category (or one total).

    ``unit`` scopes everything to one unit (a unit leader's view); ``street`` and
    ``category`` (a level-1 category id) narrow the orders counted. Rows come
    largest first; ``total`` covers every order counted, including those with no
    unit/street/category (shown as a row of their own).
    """
    if by not in BY:
        raise Invalid(f"分组「{by}」无效，可选：{'、'.join(BY)}", field="by")
    main_key, return_key = _GROUP[by]
    grouped = _compute(period, main_key, return_key, unit=unit, street=street, category=category, dims=_DIMS[by])
    names = _names(by, grouped)
    rows = []
    for key, row in grouped.items():
        label = BY["total"] if by == "total" else names.get(key, NONE_LABEL.get(by, "—") if key is None else str(key))
        rows.append({"key": key, "name": label, **row})
    rows.sort(key=lambda r: (r["key"] is None, -r["orders"], r["name"]))
    total = _sum(rows) if rows else _row(None, None)
    return {"period": period.as_dict(), "by": by, "rows": [] if by == "total" else rows, "total": total}


def trend(period: Period, *, every: str = "week", unit: int | None = None, street: int | None = None,
          category: int | None = None) -> list[dict]:
    """The six KPIs per week (Monday first) or month of registration, oldest first."""
    if every not in EVERY:
        raise Invalid(f"趋势粒度「{every}」无效，可选：week、month", field="every")
    bucket = _TRUNC[every]("day")
    grouped = _compute(period, bucket, bucket, unit=unit, street=street, category=category,
                       dims=_DIMS["total"], bucket=bucket)
    out = []
    for key in sorted(k for k in grouped if k is not None):
        start = key.date() if isinstance(key, dt.datetime) else key
        out.append({"bucket": start.isoformat(), **grouped[key]})
    return out
