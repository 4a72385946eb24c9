"""The weekly report page in a real browser: the daily chart draws offline, the downloads are offered."""

from __future__ import annotations

import datetime as dt

from yiwang.demo import factories
from yiwang.kpi import facts
from yiwang.reports.weeks import Week
from yiwang.workorders import services


def test_weekly_report_page_draws_its_chart(ui, world):
    week = Week.last_complete()
    for day, channel in ((0, "phone"), (0, "web"), (2, "phone"), (6, "phone")):
        order = factories.make_order(world.operator, channel=channel,
                                     now=week.start + dt.timedelta(days=day, hours=10))
    services.dispatch(order, actor=world.dispatcher, now=week.start + dt.timedelta(days=6, hours=11))
    facts.rebuild()

    sup = ui.login(world.supervisor)
    sup.goto("/reports/", "picker")
    sup.goto(f"/reports/{week.code}/", "week")
    page = sup.page
    page.wait_for_selector("#report-daily canvas")
    assert "共受理工单 4 件" in sup.text(".report-summary")
    assert page.query_selector(f"a[href='/reports/{week.code}/report.pdf']") is not None
    assert page.query_selector(f"a[href='/reports/{week.code}/report.xlsx']") is not None
    sup.shoot("week-drawn")
