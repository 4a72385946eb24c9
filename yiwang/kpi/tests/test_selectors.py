"""The six KPIs on the hand-built week (numbers in conftest.kpi_world's table)."""

import datetime as dt

import pytest

from yiwang.core.errors import Invalid
from yiwang.kpi import facts
from yiwang.kpi.selectors import Period, kpis, trend
from yiwang.org.models import Street

pytestmark = pytest.mark.django_db

WEEK1 = Period(dt.date(2026, 11, 23), dt.date(2026, 11, 29))
TWO_WEEKS = Period(dt.date(2026, 11, 23), dt.date(2026, 12, 6))


def rates(row):
    return {code: (row[code]["num"], row[code]["den"]) for code in
            ("sign", "resolution", "satisfaction", "closure", "return", "repeat")}


@pytest.fixture
def built(kpi_world):
    facts.rebuild()
    return kpi_world


def test_district_totals_by_hand(built):
    data = kpis(WEEK1)
    assert data["rows"] == []
    assert data["total"]["orders"] == 6
    assert rates(data["total"]) == {
        "sign": (2, 4),          # A, C on time; B and D overdue
        "resolution": (1, 3),    # A of A, B, C
        "satisfaction": (2, 3),  # A 满意, B 基本满意; C 不满意
        "closure": (2, 3),       # A, B on time; C late; D not due yet
        "return": (1, 4),        # D of the four dispatched
        "repeat": (1, 6),        # E
    }
    assert data["total"]["sign"]["rate"] == 0.5
    assert data["total"]["resolution"]["rate"] == 0.3333


def test_period_includes_both_ends_and_nothing_else(built):
    assert kpis(TWO_WEEKS)["total"]["orders"] == 7
    assert kpis(Period(dt.date(2026, 11, 24), dt.date(2026, 11, 30)))["total"]["orders"] == 1  # G
    assert kpis(Period(dt.date(2026, 11, 24), dt.date(2026, 11, 29)))["total"]["orders"] == 0
    assert kpis(Period(dt.date(2026, 11, 24), dt.date(2026, 11, 29)))["total"]["sign"]["rate"] is None


def test_by_unit_puts_returns_on_the_first_unit(built):
    w = built.world
    rows = {r["key"]: r for r in kpis(WEEK1, by="unit")["rows"]}
    office, scjg = rows[w.street_office.pk], rows[w.other_unit.pk]
    assert office["name"] == w.street_office.name
    assert office["orders"] == 3 and rates(office)["sign"] == (2, 3) and rates(office)["return"] == (1, 4)
    assert scjg["orders"] == 1 and rates(scjg)["sign"] == (0, 1) and rates(scjg)["return"] == (0, 0)
    assert scjg["return"]["rate"] is None
    assert rows[None]["name"] == "（未派单）" and rows[None]["orders"] == 2 and rates(rows[None])["repeat"] == (1, 2)
    # The rows add up to the district total.
    assert rates(kpis(WEEK1, by="unit")["total"]) == rates(kpis(WEEK1)["total"])


def test_by_street_and_category_and_filters(built):
    quyang, ouyang = Street.objects.get(name="曲阳路"), Street.objects.get(name="欧阳路")
    rows = {r["name"]: r for r in kpis(WEEK1, by="street")["rows"]}
    assert rows["曲阳路"]["orders"] == 5 and rows["欧阳路"]["orders"] == 1
    assert kpis(WEEK1, street=ouyang.pk)["total"]["orders"] == 1
    assert rates(kpis(WEEK1, street=quyang.pk)["total"])["sign"] == (2, 4)
    by_cat = kpis(WEEK1, by="category")["rows"]
    top = built.a.category.lineage()[-1]
    assert [(r["key"], r["orders"]) for r in by_cat] == [(top.pk, 6)]  # every order has the intake's category
    assert kpis(WEEK1, category=top.pk)["total"]["orders"] == 6
    assert kpis(WEEK1, category=top.pk + 1000)["total"]["orders"] == 0


def test_a_unit_scope_counts_only_that_units_orders(built):
    w = built.world
    scoped = kpis(WEEK1, by="street", unit=w.street_office.pk)
    assert scoped["total"]["orders"] == 3
    assert rates(scoped["total"])["return"] == (1, 4)  # D was first dispatched to the office
    assert rates(kpis(WEEK1, unit=w.other_unit.pk)["total"])["return"] == (0, 0)


def test_weekly_and_monthly_trend(built):
    weeks = trend(TWO_WEEKS, every="week")
    assert [w["bucket"] for w in weeks] == ["2026-11-23", "2026-11-30"]
    assert [w["orders"] for w in weeks] == [6, 1]
    assert rates(weeks[0])["satisfaction"] == (2, 3)
    months = trend(Period(dt.date(2026, 11, 1), dt.date(2026, 12, 31)), every="month")
    assert [(m["bucket"], m["orders"]) for m in months] == [("2026-11-01", 7)]


def test_bad_periods_and_groupings_are_refused_with_the_field():
    with pytest.raises(Invalid) as err:
        Period.parse("2026-12-01", "2026-11-01")
    assert err.value.field == "from"
    with pytest.raises(Invalid) as err:
        Period.parse("2026-13-01", None)
    assert err.value.field == "from"
    with pytest.raises(Invalid) as err:
        Period.parse(None, "yesterday")
    assert err.value.field == "to"
    with pytest.raises(Invalid) as err:
        kpis(WEEK1, by="committee")
    assert err.value.field == "by"
    assert Period.parse("2026-11-01", "2026-11-30") == Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30))


@pytest.mark.parametrize("by", ["total", "unit", "street", "category"])
def test_the_daily_rollup_answers_as_the_facts_do(built, monkeypatch, by):
    from yiwang.kpi import selectors

    from_rollup = kpis(TWO_WEEKS, by=by), trend(TWO_WEEKS, every="week"), trend(TWO_WEEKS, every="month")
    monkeypatch.setattr(selectors, "USE_ROLLUP", False)
    from_facts = kpis(TWO_WEEKS, by=by), trend(TWO_WEEKS, every="week"), trend(TWO_WEEKS, every="month")
    assert from_rollup == from_facts
    assert from_rollup[0]["total"]["orders"] == 7


def test_the_rollup_follows_the_minute_job(built):
    from yiwang.kpi.models import DailyRollup
    from yiwang.workorders import services

    from .conftest import at

    o, w = built, built.world
    assert rates(kpis(WEEK1)["total"])["repeat"] == (1, 6)
    services.merge(o.g, actor=w.operator, master=o.d, now=at(11, 30, 10))  # G (week 2) becomes a repeat call
    facts.refresh_recent(lookback=0)
    assert rates(kpis(TWO_WEEKS)["total"])["repeat"] == (2, 7)
    assert DailyRollup.objects.get(dim="total", day=dt.date(2026, 11, 30)).repeat_num == 1
