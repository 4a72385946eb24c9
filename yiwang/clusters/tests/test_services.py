"""People's decisions (confirm, split, merge, remove), governance tasks and the before/after volume."""

from __future__ import annotations

import datetime as dt

import pytest

from yiwang.clusters import engine, selectors, services
from yiwang.clusters.models import (
    CaseCluster, ClusterDecision, ClusterStatus, Exclusion, GovernanceTask, Placement, TaskEvent, TaskStatus,
)
from yiwang.core.calendar import SHANGHAI
from yiwang.core.errors import Forbidden, IllegalTransition, Invalid
from yiwang.core.models import AuditEntry

from .conftest import FUMES, NOISE, OTHER, T0

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(order_at):
    fumes = [order_at(t, i) for i, t in enumerate(FUMES)]
    noise = [order_at(t, 3 + i) for i, t in enumerate(NOISE)]
    engine.run()
    return (Placement.objects.get(order=fumes[0]).cluster, fumes, Placement.objects.get(order=noise[0]).cluster, noise)


def test_confirm_stores_the_decision_and_audits(two, world):
    cluster, *_ = two
    services.confirm(cluster, actor=world.supervisor, note="同一饭店")
    cluster.refresh_from_db()
    assert cluster.status == ClusterStatus.CONFIRMED and cluster.confirmed_by == world.supervisor and cluster.locked
    assert ClusterDecision.objects.get(cluster=cluster).kind == "confirm"
    assert AuditEntry.objects.filter(object_type="clusters.casecluster", object_id=str(cluster.pk)).exists()
    with pytest.raises(IllegalTransition):
        services.confirm(cluster, actor=world.supervisor)


def test_roles_without_the_right_change_nothing(two, world):
    cluster, fumes, other, _ = two
    for actor in (world.operator, world.handler, world.citizen):
        with pytest.raises(Forbidden):
            services.confirm(cluster, actor=actor)
        with pytest.raises(Forbidden):
            services.split(cluster, [fumes[0].pk], actor=actor)
        with pytest.raises(Forbidden):
            services.merge(cluster, other, actor=actor)
    with pytest.raises(Forbidden):
        services.open_task(cluster, actor=world.dispatcher, title="t", description="d", owner_unit=world.jgw,
                           working_days=5)
    cluster.refresh_from_db()
    assert cluster.status == ClusterStatus.AUTO and not cluster.edited
    assert not ClusterDecision.objects.exists() and not GovernanceTask.objects.exists()
    assert CaseCluster.objects.filter(status=ClusterStatus.AUTO).count() == 2


def test_split_moves_the_picked_members_into_a_new_locked_cluster(two, world):
    cluster, fumes, *_ = two
    new = services.split(cluster, [fumes[2].pk], actor=world.supervisor, label="第三件")
    cluster.refresh_from_db()
    assert (cluster.size, new.size) == (2, 1) and cluster.edited and new.edited and new.label == "第三件"
    assert Placement.objects.get(order=fumes[2]).cluster == new
    assert Exclusion.objects.filter(order=fumes[2], cluster=cluster).exists()
    decision = ClusterDecision.objects.get(kind="split")
    assert decision.data == {"orders": [fumes[2].pk], "new_cluster": new.pk}


def test_split_refuses_all_none_or_foreign_members(two, world):
    cluster, fumes, _, noise = two
    with pytest.raises(Invalid) as e:
        services.split(cluster, [o.pk for o in fumes], actor=world.supervisor)
    assert e.value.field == "orders"
    with pytest.raises(Invalid):
        services.split(cluster, [], actor=world.supervisor)
    with pytest.raises(Invalid):
        services.split(cluster, [noise[0].pk], actor=world.supervisor)
    with pytest.raises(Invalid):
        services.split(cluster, ["x"], actor=world.supervisor)
    assert CaseCluster.objects.count() == 2 and not Exclusion.objects.exists()


def test_merge_moves_members_and_tasks_and_closes_the_other(two, world):
    cluster, fumes, other, noise = two
    task = services.open_task(other, actor=world.supervisor, title="工地夜间施工整治", description="联合执法",
                              owner_unit=world.jgw, working_days=5)
    services.merge(cluster, other, actor=world.dispatcher)
    cluster.refresh_from_db()
    other.refresh_from_db()
    assert cluster.size == 5 and other.status == ClusterStatus.MERGED and other.merged_into == cluster
    assert GovernanceTask.objects.get(pk=task.pk).cluster == cluster
    with pytest.raises(IllegalTransition):
        services.merge(cluster, other, actor=world.dispatcher)
    with pytest.raises(Invalid):
        services.merge(cluster, cluster, actor=world.dispatcher)


def test_remove_member_leaves_the_order_unclustered(two, world):
    cluster, fumes, *_ = two
    services.remove_member(cluster, fumes[1].pk, actor=world.supervisor, note="另一家饭店")
    assert Placement.objects.get(order=fumes[1]).cluster is None
    cluster.refresh_from_db()
    assert cluster.size == 2
    with pytest.raises(Invalid):
        services.remove_member(cluster, fumes[1].pk, actor=world.supervisor)


# --- governance tasks -------------------------------------------------------------------

def test_task_deadline_counts_working_days_and_skips_the_national_day_holiday(two, world):
    cluster, *_ = two
    opened = dt.datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI)  # the day before the 国庆 holiday
    task = services.open_task(cluster, actor=world.supervisor, title="饭店油烟整治", description="约谈并加装净化器",
                              owner_unit=world.street_office, working_days=2, now=opened)
    # 9/30 10:00 + 16 working hours: 7 h left on 9/30, holiday 10/1-10/7 (10/10 is a 调休 Saturday), 8 h on 10/8,
    # the last hour on 10/9.
    assert task.deadline == dt.datetime(2026, 10, 9, 10, 0, tzinfo=SHANGHAI)
    cluster.refresh_from_db()
    assert cluster.edited and task.status == TaskStatus.OPEN
    assert TaskEvent.objects.get(task=task).to_status == TaskStatus.OPEN


def test_task_input_errors_name_their_field(two, world):
    cluster, *_ = two
    base = dict(actor=world.supervisor, title="整治", description="说明", owner_unit=world.jgw, working_days=5)
    for change, field in ((dict(title=" "), "title"), (dict(description=""), "description"),
                          (dict(working_days="x"), "working_days"), (dict(working_days=0), "working_days"),
                          (dict(working_days=500), "working_days"), (dict(owner_person=world.handler), "owner_person")):
        with pytest.raises(Invalid) as e:
            services.open_task(cluster, **{**base, **change})
        assert e.value.field == field
    assert not GovernanceTask.objects.exists()


def test_task_lifecycle_and_who_may_move_it(two, world, monday_morning):
    cluster, *_ = two
    task = services.open_task(cluster, actor=world.supervisor, title="饭店油烟整治", description="约谈",
                              owner_unit=world.street_office, working_days=5, now=monday_morning)
    assert task.deadline == monday_morning + dt.timedelta(days=7)
    with pytest.raises(Forbidden):
        services.start_task(task, actor=world.outsider)
    later = monday_morning + dt.timedelta(hours=2)
    task = services.start_task(task, actor=world.handler, note="已约谈", now=later)
    assert task.status == TaskStatus.IN_PROGRESS and task.started_at
    with pytest.raises(IllegalTransition):
        services.start_task(task, actor=world.handler)
    with pytest.raises(Invalid):
        services.complete_task(task, actor=world.leader, result="")
    task = services.complete_task(task, actor=world.leader, result="已加装油烟净化器并复查",
                                  now=later + dt.timedelta(days=2))
    assert task.status == TaskStatus.DONE and task.result.startswith("已加装")
    assert [e.to_status for e in task.events.all()] == ["open", "in_progress", "done"]
    assert AuditEntry.objects.filter(object_type="clusters.governancetask", action="transition").count() == 2


def test_sweep_flips_overdue_tasks_once(two, world, monday_morning):
    cluster, *_ = two
    task = services.open_task(cluster, actor=world.supervisor, title="整治", description="d",
                              owner_unit=world.street_office, working_days=1, now=monday_morning)
    assert services.sweep_overdue(now=task.deadline - dt.timedelta(minutes=1)) == 0
    assert services.sweep_overdue(now=task.deadline + dt.timedelta(minutes=1)) == 1
    assert services.sweep_overdue(now=task.deadline + dt.timedelta(minutes=2)) == 0
    task.refresh_from_db()
    assert task.status == TaskStatus.OVERDUE
    task = services.complete_task(task, actor=world.handler, result="逾期完成",
                                  now=task.deadline + dt.timedelta(days=1))
    assert task.status == TaskStatus.DONE


def test_volume_before_and_after_counts_weeks_from_recorded_times(order_at, world):
    # 3 fumes orders in the two weeks before the task, 1 in the week after; one unrelated order of the street.
    orders = [order_at(FUMES[0], 0), order_at(FUMES[1], 6), order_at(FUMES[2], 9)]
    order_at(OTHER, 10)
    engine.run()
    cluster = Placement.objects.get(order=orders[0]).cluster
    opened = T0 + dt.timedelta(days=14)
    task = services.open_task(cluster, actor=world.supervisor, title="整治", description="d",
                              owner_unit=world.street_office, working_days=10, now=opened)
    order_at(FUMES[1], 16)
    engine.run()
    v = selectors.volume_around(task, weeks=4, now=opened + dt.timedelta(days=10))
    assert v["series"]["members"] == [0, 0, 2, 1, 1, 0, None, None]
    assert v["before"]["members"] == 3 and v["after"]["members"] == 1 and v["weeks_after"] == 2
    assert v["weekly_mean_before"]["members"] == 0.75 and v["weekly_mean_after"]["members"] == 0.5
    # Same street and categories: the unrelated order has the same category in these tests.
    assert v["before"]["kind"] == 4 and v["after"]["kind"] == 1
