"""People's decisions on case clusters, and governance tasks (治理任务). The only writers besides the job.

Every function takes the acting user, checks the role, runs in one transaction
with the rows locked, stores the decision (:class:`~.models.ClusterDecision` or
:class:`~.models.TaskEvent`), writes an audit row and raises a coded
:class:`~yiwang.core.errors.DomainError` when refused (nothing is written then).
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from yiwang.accounts import roles
from yiwang.core.audit import audit
from yiwang.core.errors import Forbidden, IllegalTransition, Invalid
from yiwang.core.models import AuditEntry, load_calendar
from yiwang.org.models import Unit

from . import engine
from .models import (
    LIVE, TASK_EDGES, CaseCluster, ClusterDecision, ClusterStatus, Exclusion, GovernanceTask, Placement, TaskEvent,
    TaskStatus,
)

MAX_TASK_DAYS = 120
MAX_NOTE = 200


def _now(now):
    return now or timezone.now()


def _require(actor, allowed, what: str) -> None:
    if actor is None or not actor.is_authenticated or not (actor.is_superuser or actor.role in allowed):
        raise Forbidden(f"当前角色无权{what}")


def _lock(cluster: CaseCluster | int) -> CaseCluster:
    pk = getattr(cluster, "pk", cluster)
    found = CaseCluster.objects.select_for_update().filter(pk=pk).first()
    if found is None:
        raise Invalid("类案不存在", field="cluster")
    if found.status not in LIVE:
        raise IllegalTransition(f"类案#{found.pk}「{found.get_status_display()}」，不能再调整", code="cluster_closed")
    return found


def _decide(cluster, kind, actor, now, *, other=None, note="", data=None, request=None) -> ClusterDecision:
    decision = ClusterDecision.objects.create(cluster=cluster, other=other, kind=kind, actor=actor, at=now,
                                              note=note[:MAX_NOTE], data=data or {})
    audit(actor=actor, action=AuditEntry.Action.UPDATE, obj=cluster,
          summary=f"类案{decision.get_kind_display()} #{cluster.pk}"[:255], changes={"kind": kind, **(data or {})},
          request=request)
    return decision


def _label(value) -> str:
    label = (value or "").strip()
    if len(label) > 120:
        raise Invalid("名称不能超过 120 个字", field="label")
    return label


def confirm(cluster: CaseCluster, *, actor, label: str = "", note: str = "", now=None, request=None) -> CaseCluster:
    """确认: the members are one class of case; the job will add new orders but never merge or split it."""
    _require(actor, roles.CAN_CURATE_CLUSTERS, "确认类案")
    now, label = _now(now), _label(label)
    with transaction.atomic():
        cluster = _lock(cluster)
        if cluster.status == ClusterStatus.CONFIRMED and not label:
            raise IllegalTransition("该类案已确认", code="already_confirmed")
        cluster.status, cluster.confirmed_by, cluster.confirmed_at = ClusterStatus.CONFIRMED, actor, now
        if label:
            cluster.label, cluster.label_by_person = label, True
        cluster.save(update_fields=["status", "confirmed_by", "confirmed_at", "label", "label_by_person"])
        _decide(cluster, ClusterDecision.Kind.CONFIRM, actor, now, note=note, data={"label": label}, request=request)
    return cluster


def _members(cluster: CaseCluster, order_ids) -> list[int]:
    try:
        wanted = sorted({int(pk) for pk in order_ids})
    except (TypeError, ValueError):
        raise Invalid("所选工单无效", field="orders") from None
    found = set(Placement.objects.filter(cluster=cluster, order_id__in=wanted).values_list("order_id", flat=True))
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        raise Invalid(f"工单 {', '.join(map(str, missing[:5]))} 不在该类案中", field="orders")
    return wanted


def _exclude(order_ids, cluster, actor, now) -> None:
    Exclusion.objects.bulk_create([Exclusion(order_id=pk, cluster=cluster, by=actor, at=now) for pk in order_ids],
                                  ignore_conflicts=True)


def remove_member(cluster: CaseCluster, order_id: int, *, actor, note: str = "", now=None,
                  request=None) -> CaseCluster:
    """移出: the order does not belong here; it stays unclustered and the job never puts it back."""
    _require(actor, roles.CAN_CURATE_CLUSTERS, "调整类案")
    now = _now(now)
    with transaction.atomic():
        cluster = _lock(cluster)
        [pk] = _members(cluster, [order_id])
        Placement.objects.filter(order_id=pk).update(cluster=None, source=Placement.Source.MANUAL, placed_at=now)
        _exclude([pk], cluster, actor, now)
        cluster.edited = True
        cluster.save(update_fields=["edited"])
        _decide(cluster, ClusterDecision.Kind.REMOVE, actor, now, note=note, data={"order": pk}, request=request)
    engine.refresh([cluster.pk])
    cluster.refresh_from_db()
    return cluster


def split(cluster: CaseCluster, order_ids, *, actor, label: str = "", note: str = "", now=None,
          request=None) -> CaseCluster:
    """拆分: the picked members move out into a new cluster; both are locked. Returns the new cluster."""
    _require(actor, roles.CAN_CURATE_CLUSTERS, "拆分类案")
    now, label = _now(now), _label(label)
    with transaction.atomic():
        cluster = _lock(cluster)
        picked = _members(cluster, order_ids)
        if not picked:
            raise Invalid("请选择要拆出的工单", field="orders")
        if len(picked) >= cluster.placements.count():
            raise Invalid("不能拆出全部工单：至少留下一件", field="orders")
        new = CaseCluster.objects.create(created_at=now, edited=True, status=cluster.status,
                                         confirmed_by=cluster.confirmed_by, confirmed_at=cluster.confirmed_at,
                                         label=label, label_by_person=bool(label))
        Placement.objects.filter(order_id__in=picked).update(cluster=new, source=Placement.Source.MANUAL)
        _exclude(picked, cluster, actor, now)
        cluster.edited = True
        cluster.save(update_fields=["edited"])
        _decide(cluster, ClusterDecision.Kind.SPLIT, actor, now, other=new, note=note,
                data={"orders": picked, "new_cluster": new.pk}, request=request)
    engine.refresh([cluster.pk, new.pk])
    new.refresh_from_db()
    return new


def merge(target: CaseCluster, other: CaseCluster, *, actor, note: str = "", now=None, request=None) -> CaseCluster:
    """合并: ``other``'s members and governance tasks move to ``target``; ``other`` is closed as merged."""
    _require(actor, roles.CAN_CURATE_CLUSTERS, "合并类案")
    now = _now(now)
    if getattr(target, "pk", target) == getattr(other, "pk", other):
        raise Invalid("不能把类案合并到自身", field="other")
    with transaction.atomic():
        # Lock in id order so two people merging the same pair both ways cannot deadlock.
        first, second = sorted([getattr(target, "pk", target), getattr(other, "pk", other)])
        locked = {c.pk: c for c in (_lock(first), _lock(second))}
        target, other = locked[getattr(target, "pk", target)], locked[getattr(other, "pk", other)]
        moved = list(Placement.objects.filter(cluster=other).values_list("order_id", flat=True))
        Placement.objects.filter(cluster=other).update(cluster=target, source=Placement.Source.MANUAL)
        tasks = list(GovernanceTask.objects.filter(cluster=other).values_list("pk", flat=True))
        GovernanceTask.objects.filter(cluster=other).update(cluster=target)
        other.status, other.merged_into, other.size = ClusterStatus.MERGED, target, 0
        other.save(update_fields=["status", "merged_into", "size"])
        target.edited = True
        target.save(update_fields=["edited"])
        _decide(target, ClusterDecision.Kind.MERGE, actor, now, other=other, note=note,
                data={"merged": other.pk, "orders": moved, "tasks": tasks}, request=request)
    engine.refresh([target.pk])
    target.refresh_from_db()
    return target


# --- governance tasks ---------------------------------------------------------------

def _text(value, field: str, label: str, *, max_length: int, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise Invalid(f"请填写{label}", field=field)
    if len(text) > max_length:
        raise Invalid(f"{label}不能超过 {max_length} 个字", field=field)
    return text


def deadline_after(start: dt.datetime, working_days: int) -> dt.datetime:
    """``working_days`` working days after ``start`` on the working-day calendar (holidays, 调休)."""
    calendar = load_calendar(start.date() - dt.timedelta(days=1), days=working_days * 2 + 60)
    return calendar.add_working_days(start, working_days)


def open_task(cluster: CaseCluster, *, actor, title: str, description: str, owner_unit: Unit, working_days,
              owner_person=None, now=None, request=None) -> GovernanceTask:
    """开启治理任务 on a live cluster; the cluster becomes locked (a person now owns its problem)."""
    _require(actor, roles.CAN_OPEN_GOVERNANCE_TASKS, "开启治理任务")
    now = _now(now)
    title = _text(title, "title", "任务名称", max_length=120)
    description = _text(description, "description", "任务说明", max_length=2000)
    try:
        working_days = int(working_days)
    except (TypeError, ValueError):
        raise Invalid("期限必须是整数个工作日", field="working_days") from None
    if not 1 <= working_days <= MAX_TASK_DAYS:
        raise Invalid(f"期限应为 1 到 {MAX_TASK_DAYS} 个工作日", field="working_days")
    if owner_unit is None or not owner_unit.active:
        raise Invalid("请选择启用中的责任单位", field="owner_unit")
    if owner_person is not None and owner_person.unit_id != owner_unit.pk:
        raise Invalid("责任人必须是责任单位的人员", field="owner_person")
    with transaction.atomic():
        cluster = _lock(cluster)
        task = GovernanceTask.objects.create(
            cluster=cluster, title=title, description=description, owner_unit=owner_unit, owner_person=owner_person,
            working_days=working_days, deadline=deadline_after(now, working_days), opened_by=actor, opened_at=now)
        TaskEvent.objects.create(task=task, to_status=TaskStatus.OPEN, actor=actor, at=now, note=description[:200])
        if not cluster.edited:
            cluster.edited = True
            cluster.save(update_fields=["edited"])
        audit(actor=actor, action=AuditEntry.Action.CREATE, obj=task, summary=f"开启治理任务「{title}」（类案#{cluster.pk}）",
              changes={"cluster": cluster.pk, "owner_unit": owner_unit.pk, "working_days": working_days,
                       "deadline": task.deadline.isoformat()}, request=request)
    return task


def may_work_on(user, task: GovernanceTask) -> bool:
    """Supervisors (and admins), the owner person and the owner unit's staff move a task along."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser or user.role in roles.CAN_OPEN_GOVERNANCE_TASKS:
        return True
    if task.owner_person_id == user.pk:
        return True
    return user.role in roles.UNIT_ACTORS and user.unit_id == task.owner_unit_id


def _move(task: GovernanceTask, to: str, *, actor, now, note: str = "", request=None) -> GovernanceTask:
    with transaction.atomic():
        task = GovernanceTask.objects.select_for_update().get(pk=task.pk)
        if not may_work_on(actor, task):
            raise Forbidden("只有责任单位、责任人或督办人员可以办理该治理任务")
        if (task.status, to) not in TASK_EDGES:
            raise IllegalTransition(f"治理任务当前为「{task.get_status_display()}」，不能改为「{TaskStatus(to).label}」",
                                    code="illegal_transition")
        old = task.status
        task.status = to
        fields = ["status"]
        if to == TaskStatus.IN_PROGRESS:
            task.started_at, fields = now, fields + ["started_at"]
        if to == TaskStatus.DONE:
            task.done_at, task.result, fields = now, note, fields + ["done_at", "result"]
            if task.started_at is None:
                task.started_at, fields = now, fields + ["started_at"]
        task.save(update_fields=fields)
        TaskEvent.objects.create(task=task, from_status=old, to_status=to, actor=actor, at=now, note=note)
        audit(actor=actor, action=AuditEntry.Action.TRANSITION, obj=task,
              summary=f"治理任务「{task.title}」{TaskStatus(old).label}→{TaskStatus(to).label}",
              changes={"from": old, "to": to}, request=request)
    return task


def start_task(task: GovernanceTask, *, actor, note: str = "", now=None, request=None) -> GovernanceTask:
    note = _text(note, "note", "说明", max_length=1000, required=False)
    return _move(task, TaskStatus.IN_PROGRESS, actor=actor, now=_now(now), note=note, request=request)


def complete_task(task: GovernanceTask, *, actor, result: str, now=None, request=None) -> GovernanceTask:
    result = _text(result, "result", "办理结果", max_length=2000)
    return _move(task, TaskStatus.DONE, actor=actor, now=_now(now), note=result, request=request)


def sweep_overdue(now=None) -> int:
    """Flip open and in-progress tasks past their deadline to overdue (a conditional UPDATE per task).

    Safe with several workers: a task another worker flipped first is not counted
    or logged twice, because the UPDATE matches only while the status is unchanged.
    """
    now = _now(now)
    flipped = 0
    due = (GovernanceTask.objects.filter(status__in=[TaskStatus.OPEN, TaskStatus.IN_PROGRESS], deadline__lt=now)
           .order_by("deadline").values_list("pk", "status"))
    for pk, old in due:
        with transaction.atomic():
            if GovernanceTask.objects.filter(pk=pk, status=old).update(status=TaskStatus.OVERDUE):
                TaskEvent.objects.create(task_id=pk, from_status=old, to_status=TaskStatus.OVERDUE, at=now,
                                         note="超过截止时间未完成")
                flipped += 1
    return flipped


def owner_person_choice(raw: str):
    """The picked owner person, or None; a bad id is a field error (:func:`open_task` checks the unit)."""
    if not raw:
        return None
    User = get_user_model()
    try:
        return User.objects.get(pk=int(raw), is_active=True)
    except (ValueError, User.DoesNotExist):
        raise Invalid("责任人不存在", field="owner_person") from None
