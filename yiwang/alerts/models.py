"""Sudden-issue alerts (突发预警) and what the live detector keeps between runs.

Only :mod:`yiwang.alerts.services` writes these tables. Every number an alert
shows is recomputable from the orders' recorded ``created_at``: the detector
keeps no state in memory, so a restart loses nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Kind(models.TextChoices):
    STREET = "street", "街道"
    CATEGORY = "category", "分类"
    TOPIC = "topic", "话题"


class AlertStatus(models.TextChoices):
    OPEN = "open", "待处置"
    ACKNOWLEDGED = "acknowledged", "已确认"
    ESCALATED = "escalated", "已督办"
    DISMISSED = "dismissed", "误报"


class Alert(models.Model):
    """One burst of orders under one key (a street, a category or a topic), with its evidence.

    While the burst goes on (``ongoing``) later checks grow this row instead of
    raising another; at most one ongoing alert per key is a database constraint,
    so two checks running at once cannot both raise.
    """

    kind = models.CharField("类型", max_length=12, choices=Kind.choices)
    key = models.CharField("键", max_length=64, help_text="街道或分类的编号，或话题名称")
    label = models.CharField("对象", max_length=128)
    street = models.ForeignKey("org.Street", verbose_name="街道", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    category = models.ForeignKey("org.Category", verbose_name="分类", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    status = models.CharField("状态", max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    ongoing = models.BooleanField("持续中", default=True)

    raised_at = models.DateTimeField("预警时间")
    updated_at = models.DateTimeField("更新时间")
    first_order_at = models.DateTimeField("首件登记时间")
    last_order_at = models.DateTimeField("末件登记时间")

    # The evidence of the strongest check so far.
    window_hours = models.PositiveSmallIntegerField("统计窗口（小时）")
    observed = models.PositiveIntegerField("实际件数")
    expected = models.FloatField("常态件数")
    daily_rate = models.FloatField("同类型日日均件数")
    baseline_days = models.PositiveSmallIntegerField("基线天数", help_text="过去28天中与预警日同类型（工作日/休息日）的天数")
    workday = models.BooleanField("工作日")
    p_value = models.FloatField("泊松尾概率")
    callers = models.PositiveIntegerField("来电人数")
    detail = models.JSONField("说明数据", default=dict, blank=True)

    orders = models.ManyToManyField("workorders.WorkOrder", through="AlertOrder", related_name="alerts")

    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="处置人", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    handled_at = models.DateTimeField("处置时间", null=True, blank=True)
    handling_note = models.TextField("处置说明", blank=True)

    class Meta:
        verbose_name = "突发预警"
        verbose_name_plural = "突发预警"
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], condition=models.Q(ongoing=True),
                                    name="alert_one_ongoing_per_key"),
        ]
        indexes = [
            models.Index(fields=["status", "-raised_at"], name="alert_status_raised"),
            models.Index(fields=["-raised_at"], name="alert_raised"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} {self.label}"

    @property
    def ratio(self) -> float:
        return self.observed / self.expected if self.expected else 0.0

    @property
    def is_open(self) -> bool:
        return self.status == AlertStatus.OPEN


class AlertOrder(models.Model):
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="links")
    order = models.ForeignKey("workorders.WorkOrder", on_delete=models.CASCADE, related_name="alert_links")
    added_at = models.DateTimeField("加入时间")

    class Meta:
        verbose_name = "预警工单"
        verbose_name_plural = "预警工单"
        constraints = [models.UniqueConstraint(fields=["alert", "order"], name="alert_order_once")]


class AlertAction(models.Model):
    """The alert's timeline: raised, grown, acknowledged, dismissed, escalated (督办 note), ended."""

    class Action(models.TextChoices):
        RAISE = "raise", "预警"
        GROW = "grow", "新增工单"
        ACKNOWLEDGE = "acknowledge", "确认"
        DISMISS = "dismiss", "标记误报"
        ESCALATE = "escalate", "督办"
        END = "end", "平息"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="actions")
    action = models.CharField("动作", max_length=16, choices=Action.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="操作人", null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    note = models.TextField("说明", blank=True)
    data = models.JSONField("数据", default=dict, blank=True)
    at = models.DateTimeField("时间")

    class Meta:
        verbose_name = "预警记录"
        verbose_name_plural = "预警记录"
        ordering = ["at", "id"]


class OrderTopic(models.Model):
    """A place or entity named in an order (:func:`yiwang.insight.entities.extract`), with its time.

    Derived data: the detector writes the rows for orders it has not read yet, so a
    topic's history is one indexed range query instead of a text scan.
    """

    order = models.ForeignKey("workorders.WorkOrder", on_delete=models.CASCADE, related_name="+")
    name = models.CharField("名称", max_length=32)
    created_at = models.DateTimeField("登记时间")
    caller = models.CharField("来电人", max_length=40, blank=True)

    class Meta:
        verbose_name = "工单话题"
        verbose_name_plural = "工单话题"
        constraints = [models.UniqueConstraint(fields=["order", "name"], name="order_topic_once")]
        indexes = [
            models.Index(fields=["name", "created_at"], name="order_topic_name_time"),
            models.Index(fields=["created_at"], name="order_topic_time"),
        ]


class DetectorState(models.Model):
    """One row: the topic reader's watermark and the last check (the follower paces itself by it)."""

    topics_through = models.BigIntegerField("话题已读至工单ID", default=0)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_run_ms = models.FloatField(null=True, blank=True)
    # A check in progress holds this lease (wall-clock time); see jobs.run_check.
    checking_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "检测器状态"
        verbose_name_plural = "检测器状态"
