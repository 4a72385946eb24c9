"""Pages: the ranked list, a cluster with its members (masked per role), decisions, governance tasks."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from yiwang.clusters import engine
from yiwang.clusters.models import CaseCluster, ClusterStatus, GovernanceTask, Placement, TaskStatus
from yiwang.core.models import AuditEntry

from .conftest import FUMES, NOISE

pytestmark = pytest.mark.django_db


@pytest.fixture
def clustered(order_at):
    fumes = [order_at(t, i, appellant_name="王小明") for i, t in enumerate(FUMES)]
    [order_at(t, 3 + i) for i, t in enumerate(NOISE)]
    engine.run()
    return Placement.objects.get(order=fumes[0]).cluster, fumes


def as_(client, user):
    client.force_login(user)
    return client


def test_list_ranks_by_heat_with_the_formula_tooltip(client, world, clustered):
    cluster, _ = clustered
    page = as_(client, world.supervisor).get(reverse("clusters:list"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "热度 = ln(1+工单数)" in html and cluster.label in html
    heats = [c.heat for c in page.context["page"]]
    assert heats == sorted(heats, reverse=True) and len(heats) == 2
    data = as_(client, world.dispatcher).get(reverse("clusters:list"), {"format": "json"}).json()
    assert data["count"] == 2 and data["results"][0]["heat"] >= data["results"][1]["heat"]
    assert data["results"][0]["street"] == "曲阳路"


def test_list_filters_reject_bad_input_with_400(client, world, clustered):
    response = as_(client, world.supervisor).get(reverse("clusters:list"), {"street": "x", "status": "nope"})
    assert response.status_code == 400
    assert set(response.context["errors"]) == {"street", "status"}


@pytest.mark.parametrize("role", ["operator", "handler", "citizen", "deputy"])
def test_roles_outside_perception_get_403(client, world, clustered, role):
    cluster, _ = clustered
    user = getattr(world, role)
    assert as_(client, user).get(reverse("clusters:list")).status_code == 403
    assert client.get(reverse("clusters:detail", args=[cluster.pk])).status_code == 403
    assert client.post(reverse("clusters:confirm", args=[cluster.pk])).status_code == 403
    cluster.refresh_from_db()
    assert cluster.status == ClusterStatus.AUTO


def test_detail_masks_appellants_for_supervisors_and_audits_clear_views_for_dispatchers(client, world, clustered):
    cluster, fumes = clustered
    html = as_(client, world.supervisor).get(reverse("clusters:detail", args=[cluster.pk])).content.decode()
    assert "王小明" not in html and "王**" in html and fumes[0].number in html
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.VIEW_PERSONAL_DATA).exists()
    html = as_(client, world.dispatcher).get(reverse("clusters:detail", args=[cluster.pk])).content.decode()
    assert "王小明" in html
    assert AuditEntry.objects.filter(action=AuditEntry.Action.VIEW_PERSONAL_DATA, actor=world.dispatcher).count() == 3


def test_split_and_confirm_through_the_page(client, world, clustered):
    cluster, fumes = clustered
    c = as_(client, world.supervisor)
    response = c.post(reverse("clusters:split", args=[cluster.pk]), {"orders": [fumes[2].pk], "split_label": "另一件"})
    new = CaseCluster.objects.get(label="另一件")
    assert response.status_code == 302 and response["Location"] == reverse("clusters:detail", args=[new.pk])
    response = c.post(reverse("clusters:confirm", args=[cluster.pk]), {"label": "玉田新村饭店油烟"})
    assert response.status_code == 302
    cluster.refresh_from_db()
    assert cluster.status == ClusterStatus.CONFIRMED and cluster.label == "玉田新村饭店油烟"


def test_bad_split_and_merge_show_the_page_again_with_the_field_message(client, world, clustered):
    cluster, fumes = clustered
    c = as_(client, world.supervisor)
    response = c.post(reverse("clusters:split", args=[cluster.pk]), {"orders": [o.pk for o in fumes]})
    assert response.status_code == 400 and "至少留下一件" in response.content.decode()
    response = c.post(reverse("clusters:merge", args=[cluster.pk]), {"other": "abc"})
    assert response.status_code == 400 and response.context["errors"] == {"other": "类案「abc」不存在"}
    assert CaseCluster.objects.count() == 2


def test_remove_and_merge_through_the_page(client, world, clustered):
    cluster, fumes = clustered
    other = CaseCluster.objects.exclude(pk=cluster.pk).get()
    c = as_(client, world.dispatcher)
    assert c.post(reverse("clusters:remove", args=[cluster.pk, fumes[1].pk])).status_code == 302
    assert Placement.objects.get(order=fumes[1]).cluster is None
    assert c.post(reverse("clusters:merge", args=[cluster.pk]), {"other": f"#{other.pk}"}).status_code == 302
    cluster.refresh_from_db()
    assert cluster.size == 4


def test_open_a_task_then_the_owner_unit_works_it_and_sees_the_volume_chart(client, world, clustered):
    cluster, _ = clustered
    # Dispatchers curate clusters but do not open governance tasks.
    assert as_(client, world.dispatcher).post(reverse("clusters:open_task", args=[cluster.pk]), {}).status_code == 403
    c = as_(client, world.supervisor)
    bad = c.post(reverse("clusters:open_task", args=[cluster.pk]),
                 {"title": "", "description": "d", "owner_unit": world.street_office.pk, "working_days": "5"})
    assert bad.status_code == 400 and bad.context["errors"] == {"title": "请填写任务名称"}
    response = c.post(reverse("clusters:open_task", args=[cluster.pk]),
                      {"title": "饭店油烟整治", "description": "约谈饭店并加装净化器",
                       "owner_unit": world.street_office.pk, "working_days": "5"})
    task = GovernanceTask.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("clusters:task", args=[task.pk])

    h = as_(client, world.handler)
    page = h.get(reverse("clusters:task", args=[task.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and "echarts.min.js" in html and 'id="cl-volume"' in html
    assert reverse("clusters:detail", args=[cluster.pk]) not in html  # unit staff do not browse clusters
    assert h.get(reverse("clusters:tasks")).context["page"].paginator.count == 1
    volume = h.get(reverse("clusters:task_volume", args=[task.pk]), {"weeks": "4"}).json()
    assert len(volume["labels"]) == 8 and volume["before"]["members"] == 0
    assert h.get(reverse("clusters:task_volume", args=[task.pk]), {"weeks": "99"}).status_code == 400
    assert h.post(reverse("clusters:task_move", args=[task.pk, "in_progress"]), {"note": "已约谈"}).status_code == 302
    done = h.post(reverse("clusters:task_move", args=[task.pk, "done"]), {"note": ""})
    assert done.status_code == 400 and "办理结果" in done.content.decode()
    assert h.post(reverse("clusters:task_move", args=[task.pk, "done"]), {"note": "已整改"}).status_code == 302
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE

    # Another unit's staff neither see nor move it.
    o = as_(client, world.outsider)
    assert o.get(reverse("clusters:task", args=[task.pk])).status_code == 404
    assert o.get(reverse("clusters:tasks")).context["page"].paginator.count == 0


def test_nav_links_by_role(client, world, clustered):
    assert "类案治理" in as_(client, world.supervisor).get(reverse("clusters:list")).content.decode()
    html = as_(client, world.handler).get(reverse("clusters:tasks")).content.decode()
    assert "治理任务" in html and reverse("clusters:list") + '"' not in html


def test_admin_run_button_queues_the_job(client, world, clustered):
    response = as_(client, world.admin).post(reverse("admin:clusters_casecluster_run"))
    assert response.status_code == 302
    from django_q.models import OrmQ

    assert any(json.dumps(q.task.get("func", "")).find("clusters.jobs.assign") >= 0 for q in OrmQ.objects.all())
