"""The week's case clusters and alerts, read from the clusters and alerts apps when they are installed."""

import datetime as dt

import pytest
from django.apps import apps

from yiwang.core.calendar import SHANGHAI
from yiwang.demo import factories
from yiwang.reports import selectors

from .conftest import W48, at

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 12, 10, 9, tzinfo=SHANGHAI)


@pytest.mark.skipif(not apps.is_installed("yiwang.clusters"), reason="clusters app not installed")
def test_clusters_with_orders_in_the_week_hottest_first(report_world):
    from yiwang.clusters.models import CaseCluster, GovernanceTask, Placement

    o, w = report_world, report_world.world
    quyang = factories.street("曲阳路")

    def cluster(label, heat, members):
        c = CaseCluster.objects.create(label=label, heat=heat, size=len(members), street=quyang, created_at=NOW)
        for order in members:
            Placement.objects.create(order=order, cluster=c, placed_at=NOW)
        return c

    lamps = cluster("曲阳路路灯不亮", 12.5, [o.a, o.b, o.c, o.p1])
    cluster("上周的类案", 30.0, [o.p2, o.p3])           # hotter, but nothing in W48
    noise = cluster("欧阳路夜间噪音", 4.0, [o.i, o.g])  # one order in W48, one in W49
    GovernanceTask.objects.create(cluster=lamps, title="路灯专项整治", description="排查", owner_unit=w.street_office,
                                  working_days=10, deadline=at(12, 7, 18), opened_at=at(11, 26, 9))
    section = selectors.clusters(W48)
    assert section["available"] is True
    assert [(i["label"], i["week_count"], i["size"]) for i in section["items"]] == [
        ("曲阳路路灯不亮", 3, 4), ("欧阳路夜间噪音", 1, 2)]
    assert section["items"][0]["task"] == {"title": "路灯专项整治", "status": "待办", "owner": w.street_office.name,
                                           "deadline": "2026-12-07 18:00"}
    assert section["items"][1]["task"] is None and section["items"][1]["street"] == "曲阳路"
    data = selectors.weekly_report(W48, now=NOW)
    assert "热度最高的类案「曲阳路路灯不亮」（热度 12.5，本周 3 件）" in data["summary"][-1]
    assert noise.pk == section["items"][1]["id"]


@pytest.mark.skipif(not apps.is_installed("yiwang.alerts"), reason="alerts app not installed")
def test_alerts_raised_in_the_week(report_world):
    from yiwang.alerts.models import Alert, AlertOrder

    o = report_world
    quyang = factories.street("曲阳路")

    def alert(raised, status, observed, expected, **kw):
        a = Alert.objects.create(raised_at=raised, updated_at=raised, first_order_at=raised, last_order_at=raised,
                                 status=status, ongoing=False, window_hours=3, observed=observed, expected=expected,
                                 daily_rate=1.0, baseline_days=20, workday=True, p_value=1e-6, callers=observed, **kw)
        return a

    inside = alert(at(11, 23, 9, 10), "open", 5, 0.5, kind="street", key=str(quyang.pk), label="曲阳路", street=quyang)
    for order in (o.a, o.b, o.c):
        AlertOrder.objects.create(alert=inside, order=order, added_at=at(11, 23, 9, 10))
    alert(at(11, 29, 20), "dismissed", 4, 1.0, kind="topic", key="某小区", label="某小区")
    alert(at(11, 30, 0, 1), "open", 9, 1.0, kind="topic", key="下周", label="下周")     # W49
    alert(at(11, 22, 23, 59), "open", 9, 1.0, kind="topic", key="上周", label="上周")   # W47
    section = selectors.alerts(W48)
    assert [(i["raised_at"], i["what"], i["where"], i["ratio"], i["orders"], i["status"]) for i in section["items"]] == [
        ("2026-11-23 09:10", "曲阳路", "曲阳路", 10.0, 3, "待处置"),
        ("2026-11-29 20:00", "某小区", "全区", 4.0, 0, "误报")]
    assert section["by_status"] == {"待处置": 1, "误报": 1}
    assert "本周突发预警 2 起，其中 1 起待处置" in selectors.weekly_report(W48, now=NOW)["summary"][-1]


def test_sections_report_unavailable_without_their_apps(report_world, monkeypatch):
    monkeypatch.setattr(selectors.apps, "is_installed", lambda name: False)
    data = selectors.weekly_report(W48, now=NOW)
    assert data["clusters"] == {"available": False, "items": []}
    assert data["alerts"] == {"available": False, "items": [], "by_status": {}}
    assert "类案" not in data["summary"][-1] and "预警" not in data["summary"][-1]
