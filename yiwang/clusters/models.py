"""Case clusters (类案) kept live over the work orders, the human decisions on them, and governance tasks.

Only :mod:`yiwang.clusters.engine` (the scheduled job) and :mod:`yiwang.clusters.services`
(people's decisions) write these tables. The job places every order once
(:class:`Placement`, with or without a cluster) and never moves an order a second
time; what people decided is stored (:class:`Exclusion`, :class:`ClusterDecision`,
``CaseCluster.edited`` / ``status``) so the next run can respect it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ClusterStatus(models.TextChoices):
    AUTO = "auto", "自动聚合"
    CONFIRMED = "confirmed", "已确认"
    MERGED = "merged", "已并入其他类案"
    EMPTY = "empty", "已清空"


LIVE = (ClusterStatus.AUTO, ClusterStatus.CONFIRMED)


class CaseCluster(models.Model):
    status = models.CharField("状态", max_length=12, choices=ClusterStatus.choices, default=ClusterStatus.AUTO)
    # Set by any human edit (split, merge, removal, a governance task): the job then
    # only adds new orders to the cluster and never merges it with another.
    edited = models.BooleanField("人工调整过", default=False)
    label = models.CharField("名称", max_length=200, blank=True)
    label_by_person = models.BooleanField("名称由人工填写", default=False)
    place = models.CharField("地点/对象", max_length=64, blank=True)
    keywords = models.JSONField("关键词", default=list, blank=True)
    representative = models.ForeignKey("workorders.WorkOrder", verbose_name="代表工单", null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="+")
    street = models.ForeignKey("org.Street", verbose_name="主要街道", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    committee = models.ForeignKey("org.Committee", verbose_name="主要居委", null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    category_mix = models.JSONField("分类构成", default=list, blank=True)  # [[path, count], ...] largest first

    size = models.PositiveIntegerField("工单数", default=0)
    recent = models.PositiveIntegerField("近30天", default=0)
    repeats = models.PositiveIntegerField("重复来电", default=0)
    callers = models.PositiveIntegerField("诉求人数", default=0)
    dissatisfied = models.PositiveIntegerField("不满意", default=0)
    heat = models.FloatField("热度", default=0.0)
    first_at = models.DateTimeField("最早", null=True, blank=True)
    last_at = models.DateTimeField("最近", null=True, blank=True)

    merged_into = models.ForeignKey("self", verbose_name="并入", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="absorbed")
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    confirmed_at = models.DateTimeField("确认时间", null=True, blank=True)
    created_at = models.DateTimeField("生成时间")
    refreshed_at = models.DateTimeField("统计时间", null=True, blank=True)

    class Meta:
        verbose_name = "类案"
        verbose_name_plural = "类案"
        ordering = ["-heat", "-id"]
        indexes = [
            models.Index(fields=["status", "-heat", "-id"], name="cluster_status_heat"),
            models.Index(fields=["street", "status", "-heat"], name="cluster_street_heat"),
        ]

    def __str__(self) -> str:
        return f"类案#{self.pk} {self.label}"

    @property
    def locked(self) -> bool:
        """A person has confirmed or edited it: the job adds to it but never merges or splits it."""
        return self.status == ClusterStatus.CONFIRMED or self.edited

    @property
    def live(self) -> bool:
        return self.status in LIVE


class Placement(models.Model):
    """Where the job (or a person) put one order: a cluster, or none. One row per order seen."""

    class Source(models.TextChoices):
        AUTO = "auto", "自动"
        MANUAL = "manual", "人工"

    order = models.OneToOneField("workorders.WorkOrder", primary_key=True, on_delete=models.CASCADE,
                                 related_name="case_placement")
    cluster = models.ForeignKey(CaseCluster, null=True, blank=True, on_delete=models.SET_NULL, related_name="placements")
    source = models.CharField("来源", max_length=8, choices=Source.choices, default=Source.AUTO)
    repeat = models.BooleanField("重复来电", default=False, help_text="与类案中更早的工单为同一诉求")
    score = models.FloatField("关联分", default=0.0)
    placed_at = models.DateTimeField("归类时间")

    class Meta:
        verbose_name = "类案归属"
        verbose_name_plural = "类案归属"
        indexes = [models.Index(fields=["cluster", "order"], name="placement_cluster_order")]


class Exclusion(models.Model):
    """A person took ``order`` out of ``cluster`` (removal or split): the job never puts it back."""

    order = models.ForeignKey("workorders.WorkOrder", on_delete=models.CASCADE, related_name="+")
    cluster = models.ForeignKey(CaseCluster, on_delete=models.CASCADE, related_name="exclusions")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()

    class Meta:
        verbose_name = "移出记录"
        verbose_name_plural = "移出记录"
        constraints = [models.UniqueConstraint(fields=["order", "cluster"], name="exclusion_once")]


class ClusterDecision(models.Model):
    """The log of people's decisions on clusters (what the job must respect, and who decided)."""

    class Kind(models.TextChoices):
        CONFIRM = "confirm", "确认"
        SPLIT = "split", "拆分"
        MERGE = "merge", "合并"
        REMOVE = "remove", "移出工单"
        RELABEL = "relabel", "修改名称"

    cluster = models.ForeignKey(CaseCluster, on_delete=models.CASCADE, related_name="decisions")
    other = models.ForeignKey(CaseCluster, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField("决定", max_length=10, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField("时间")
    note = models.CharField("说明", max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "类案决定"
        verbose_name_plural = "类案决定"
        ordering = ["at", "id"]


class JobState(models.Model):
    """The clustering job's bookkeeping: one row (``key='clusters'``)."""

    key = models.CharField(max_length=32, unique=True)
    watermark = models.BigIntegerField("已处理至工单ID", default=0)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_stats = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "聚合任务状态"
        verbose_name_plural = "聚合任务状态"


class TaskStatus(models.TextChoices):
    OPEN = "open", "待办"
    IN_PROGRESS = "in_progress", "办理中"
    DONE = "done", "已完成"
    OVERDUE = "overdue", "已超期"


# The allowed status edges of a governance task; anything else is refused (409).
TASK_EDGES = {
    ("open", "in_progress"), ("open", "done"), ("in_progress", "done"),
    ("open", "overdue"), ("in_progress", "overdue"), ("overdue", "done"),
}


class GovernanceTask(models.Model):
    """治理任务: an owner unit works on the problem behind a cluster by a deadline in working days."""

    cluster = models.ForeignKey(CaseCluster, verbose_name="类案", on_delete=models.PROTECT, related_name="tasks")
    title = models.CharField("任务名称", max_length=120)
    description = models.TextField("任务说明")
    owner_unit = models.ForeignKey("org.Unit", verbose_name="责任单位", on_delete=models.PROTECT, related_name="+")
    owner_person = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="责任人", null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="governance_tasks")
    working_days = models.PositiveSmallIntegerField("期限（工作日）")
    deadline = models.DateTimeField("截止时间", db_index=True)
    status = models.CharField("状态", max_length=12, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    opened_at = models.DateTimeField("开启时间")
    started_at = models.DateTimeField("开始办理", null=True, blank=True)
    done_at = models.DateTimeField("完成时间", null=True, blank=True)
    result = models.TextField("办理结果", blank=True)

    class Meta:
        verbose_name = "治理任务"
        verbose_name_plural = "治理任务"
        ordering = ["-opened_at", "-id"]
        indexes = [models.Index(fields=["status", "deadline"], name="govtask_status_deadline"),
                   models.Index(fields=["owner_unit", "status"], name="govtask_unit_status")]

    def __str__(self) -> str:
        return self.title


class TaskEvent(models.Model):
    """Every status change of a governance task (the sweep's overdue flips included)."""

    task = models.ForeignKey(GovernanceTask, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=12, choices=TaskStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=TaskStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    at = models.DateTimeField()
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = "治理任务记录"
        verbose_name_plural = "治理任务记录"
