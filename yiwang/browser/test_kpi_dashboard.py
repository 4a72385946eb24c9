"""The KPI page and the dashboard in a real browser: every chart draws, offline."""

from __future__ import annotations

from yiwang.demo import factories
from yiwang.kpi import facts
from yiwang.workorders import services


def test_dashboard_panels_and_kpi_trend_draw(ui, world):
    order = factories.make_order(world.operator, channel="web")
    services.dispatch(order, actor=world.dispatcher)
    services.sign(order, actor=world.handler)
    facts.refresh_recent()

    sup = ui.login(world.supervisor)
    sup.goto("/dashboard/")
    page = sup.page
    # Each panel stamps its load time when it has drawn; an error would say 加载失败.
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-time]')].every(e => / ms$/.test(e.textContent))")
    assert page.inner_text("#vol-today") == "1"
    for name in ("volumes", "rates", "categories", "streets", "overdue", "map"):
        assert page.query_selector(f"#panel-{name} canvas") is not None, name
    assert "示意" in page.inner_text("#map-note")
    sup.shoot("dashboard-drawn")

    sup.goto("/kpi/?by=street")
    page.wait_for_selector("#kpi-trend canvas")
    assert "曲阳路" in sup.text(".kpi-table")
