import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from yiwang.accounts.roles import Role
from yiwang.alerts import jobs, selectors
from yiwang.alerts.models import Alert, AlertAction, AlertOrder, AlertStatus
from yiwang.core.models import AuditEntry
from yiwang.demo import factories
from yiwang.workorders.models import Event
from yiwang.workorders.states import Action

from .conftest import at
from .test_detector import burst

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert(world, street, workday_history):
    orders = burst(world, street, at(2025, 10, 2, 10, 0))
    jobs.run_check(now=orders[-1].created_at)
    return Alert.objects.get()


def login(client, user):
    client.force_login(user)
    return client


def test_list_shows_open_alerts_first_with_the_false_alarm_rate(client, world, alert):
    closed = Alert.objects.create(kind="topic", key="旧话题", label="旧话题", status=AlertStatus.DISMISSED, ongoing=False,
                                  raised_at=alert.raised_at + dt.timedelta(hours=1), updated_at=alert.raised_at,
                                  first_order_at=alert.raised_at, last_order_at=alert.raised_at, window_hours=1,
                                  observed=3, expected=0.1, daily_rate=0.15, baseline_days=9, workday=False,
                                  p_value=1e-6, callers=3)
    page = login(client, world.supervisor).get(reverse("alerts:list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index(f"#{alert.pk}<") < html.index(f"#{closed.pk}<")  # open first although older
    assert [a.pk for a in page.context["page"]] == [alert.pk, closed.pk]


def test_false_alarm_rate_counts_dismissed_among_decided(world, alert):
    since, until = alert.raised_at - dt.timedelta(days=1), alert.raised_at + dt.timedelta(days=6)
    assert selectors.false_alarm_stats(since=since, until=until)["rate"] is None  # nothing decided yet
    from yiwang.alerts import services

    services.dismiss(alert, actor=world.dispatcher, note="施工计划内的集中反映")
    stats = selectors.false_alarm_stats(since=since, until=until)
    assert (stats["raised"], stats["decided"], stats["dismissed"], stats["rate"]) == (1, 1, 1, 1.0)
    assert stats["per_week"] == pytest.approx(1.0)


def test_detail_explains_what_where_how_far_and_which_orders(client, world, alert, street):
    page = login(client, world.dispatcher).get(reverse("alerts:detail", args=[alert.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert street.name in html and "1小时内4件诉求" in html and "休息日" in html and "倍" in html
    for order in alert.orders.all():
        assert order.number in html
    assert "13700" not in html  # no caller's phone on the page
    chart = page.context["chart"]
    assert sum(chart["observed"]) == 4 and len(chart["expected"]) == len(chart["labels"])
    assert chart["labels"][0].endswith(":00") and max(chart["expected"]) < 1  # a quiet rest day for this street
    assert json.loads(page.context["chart"] and html.split('id="alert-chart-data" type="application/json">')[1]
                      .split("</script>")[0]) == chart
    assert "echarts.min.js" in html


def test_acknowledge_is_audited(client, world, alert):
    response = login(client, world.supervisor).post(reverse("alerts:acknowledge", args=[alert.pk]), {"note": "已联系街道"})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert (alert.status, alert.handled_by, alert.handling_note) == (AlertStatus.ACKNOWLEDGED, world.supervisor, "已联系街道")
    entry = AuditEntry.objects.get(object_type="alerts.alert", object_id=str(alert.pk))
    assert entry.actor == world.supervisor and entry.changes["status"] == ["open", "acknowledged"]


def test_escalate_needs_a_note_and_presses_every_open_order(client, world, alert):
    c = login(client, world.supervisor)
    response = c.post(reverse("alerts:escalate", args=[alert.pk]), {"note": "  "})
    assert response.status_code == 400 and "请填写督办意见" in response.content.decode()
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN and not Event.objects.filter(action=Action.ESCALATE).exists()
    response = c.post(reverse("alerts:escalate", args=[alert.pk]), {"note": "请街道今日内排查"})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ESCALATED
    escalations = Event.objects.filter(action=Action.ESCALATE, order__alert_links__alert=alert)
    assert escalations.count() == 4
    assert all(e.reason == f"突发预警#{alert.pk}：请街道今日内排查" for e in escalations)
    # Escalated is final: dismissing it now is refused with 409 and changes nothing.
    response = c.post(reverse("alerts:dismiss", args=[alert.pk]), {"note": "x"})
    assert response.status_code == 409
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ESCALATED
    assert alert.actions.filter(action=AlertAction.Action.DISMISS).count() == 0


def test_roles_without_the_alerts_are_refused_and_nothing_changes(client, world, alert):
    assert login(client, world.handler).get(reverse("alerts:list")).status_code == 403
    assert client.get(reverse("alerts:detail", args=[alert.pk])).status_code == 403
    # The data bureau's admins read alerts but are not duty officers (a superuser may do anything).
    login(client, factories.make_user("bureau", Role.ADMIN, is_superuser=False))
    assert client.get(reverse("alerts:list")).status_code == 200
    assert client.post(reverse("alerts:dismiss", args=[alert.pk])).status_code == 403
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN and not AuditEntry.objects.filter(object_type="alerts.alert").exists()
    client.logout()
    assert client.get(reverse("alerts:list")).status_code == 302  # to the login page


def test_bad_filter_is_a_400_with_the_field(client, world):
    response = login(client, world.supervisor).get(reverse("alerts:list"), {"status": "gone"})
    assert response.status_code == 400 and "状态「gone」不存在" in response.content.decode()


def test_nav_link_for_duty_officers_only(client, world):
    assert reverse("alerts:list") in login(client, world.dispatcher).get("/").content.decode()
    assert reverse("alerts:list") not in login(client, world.operator).get("/").content.decode()


def test_api_lists_and_acts(client, world, alert):
    c = login(client, world.dispatcher)
    body = c.get("/alerts/api/alerts/?status=open").json()
    assert body["count"] == 1 and body["results"][0]["id"] == alert.pk
    assert "倍" in body["results"][0]["reason"] and len(body["results"][0]["order_ids"]) == 4
    assert c.get("/alerts/api/alerts/?kind=nope").status_code == 400
    response = c.post(f"/alerts/api/alerts/{alert.pk}/dismiss/", {"note": "重复统计"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "dismissed"
    response = c.post(f"/alerts/api/alerts/{alert.pk}/acknowledge/", {}, content_type="application/json")
    assert response.status_code == 409 and response.json()["code"] == "illegal_transition"
    login(client, world.operator)
    assert client.get("/alerts/api/alerts/").status_code == 403


def test_api_list_reads_the_order_ids_of_a_page_in_one_query(client, world, alert):
    c = login(client, world.dispatcher)
    with CaptureQueriesContext(connection) as one:
        assert c.get("/alerts/api/alerts/").json()["count"] == 1
    order_ids = list(alert.links.values_list("order_id", flat=True))
    other = Alert.objects.get(pk=alert.pk)
    other.pk, other.key, other.ongoing = None, "another", False
    other.save()
    AlertOrder.objects.bulk_create([AlertOrder(alert=other, order_id=pk, added_at=other.raised_at)
                                    for pk in order_ids[:2]])
    with CaptureQueriesContext(connection) as two:
        results = c.get("/alerts/api/alerts/").json()["results"]
    assert {r["id"]: r["order_ids"] for r in results} == {alert.pk: sorted(order_ids), other.pk: sorted(order_ids[:2])}
    assert len(two) == len(one)  # no query per alert


def test_grown_alert_shows_new_orders(client, world, alert, street):
    more = burst(world, street, at(2025, 10, 2, 10, 50), n=2)
    jobs.run_check(now=more[-1].created_at)
    page = login(client, world.supervisor).get(reverse("alerts:detail", args=[alert.pk]))
    assert len(page.context["orders"]) == 6
