"""Intelligent dispatch (智能派单): model versions, suggestions, feedback, settings, gazetteer.

Only :mod:`yiwang.smartdispatch.services` writes these tables (the admin edits
settings and places, and activates versions through the services too).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class ModelVersion(models.Model):
    """One trained classifier saved on disk; exactly one version is active once any exists."""

    number = models.PositiveIntegerField("版本号", unique=True)
    directory = models.CharField("模型目录", max_length=255, help_text="相对于模型根目录（MODELS_DIR）的路径，或绝对路径")
    trained_at = models.DateTimeField("训练时间")
    training_data = models.TextField("训练数据说明", blank=True)
    n_train = models.PositiveIntegerField("训练样本数", default=0)
    n_feedback = models.PositiveIntegerField("其中来自派单反馈", default=0)
    evaluation = models.JSONField("评估结果", default=dict, blank=True,
                                  help_text="留出集上的 accuracy、macro_f1、各分类指标与单条耗时")
    meta = models.JSONField("模型元数据", default=dict, blank=True)
    active = models.BooleanField("当前启用", default=False)
    activated_at = models.DateTimeField("启用时间", null=True, blank=True)
    note = models.CharField("说明", max_length=255, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="发起人", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-number"]
        verbose_name = "分类模型版本"
        verbose_name_plural = "分类模型版本"
        constraints = [
            models.UniqueConstraint(fields=["active"], condition=models.Q(active=True), name="one_active_model_version")
        ]

    def __str__(self) -> str:
        return f"v{self.number}"

    @property
    def macro_f1(self) -> float | None:
        value = (self.evaluation or {}).get("macro_f1")
        return float(value) if value is not None else None


class DispatchSettings(models.Model):
    """The admin's knobs, one row (pk=1)."""

    auto_dispatch = models.BooleanField("启用自动派单", default=True)
    threshold = models.DecimalField(
        "自动派单置信度阈值", max_digits=4, decimal_places=3, default=Decimal("0.950"),
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal("1"))],
        help_text="建议分类的置信度不低于该值且派单规则能给出主办单位时，工单自动派出；否则等待派单员确认",
    )
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "智能派单设置"
        verbose_name_plural = "智能派单设置"

    def __str__(self) -> str:
        state = "开" if self.auto_dispatch else "关"
        return f"自动派单{state}，阈值 {self.threshold}"

    @classmethod
    def current(cls) -> "DispatchSettings":
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj


class Outcome(models.TextChoices):
    PENDING = "pending", "待派单员确认"
    AUTO = "auto", "已自动派单"
    CONFIRMED = "confirmed", "派单员确认"
    CORRECTED = "corrected", "派单员改派"
    RETURNED = "returned", "派出后退单"
    SKIPPED = "skipped", "未派单（工单已不在待派状态）"


class StreetSource(models.TextChoices):
    INTAKE = "intake", "登记时填写"
    GAZETTEER = "gazetteer", "地名库识别"
    AMBIGUOUS = "ambiguous", "地名跨多个街道，无法确定"
    NONE = "none", "未识别"


class DispatchSuggestion(models.Model):
    """The classifier's proposal for one work order, with the unit the routing rules give for it."""

    order = models.OneToOneField("workorders.WorkOrder", verbose_name="工单", on_delete=models.CASCADE,
                                 related_name="dispatch_suggestion")
    label = models.CharField("建议一级分类", max_length=64)
    category = models.ForeignKey("org.Category", verbose_name="建议分类", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+",
                                 help_text="分类体系中与模型给出的路径最深的匹配节点")
    path = models.JSONField("建议分类路径", default=list)
    confidence = models.FloatField("置信度")
    alternatives = models.JSONField("备选分类", default=list, help_text="[[分类, 概率], …]")
    keywords = models.JSONField("关键词", default=list)
    lead_unit = models.ForeignKey("org.Unit", verbose_name="建议主办单位", null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    co_units = models.ManyToManyField("org.Unit", verbose_name="建议协办单位", blank=True, related_name="+")
    street = models.ForeignKey("org.Street", verbose_name="街道", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    street_source = models.CharField("街道来源", max_length=12, choices=StreetSource.choices, default=StreetSource.NONE)
    street_clues = models.JSONField("地名线索", default=list, blank=True)
    model_version = models.ForeignKey(ModelVersion, verbose_name="模型版本", null=True, on_delete=models.SET_NULL,
                                      related_name="suggestions")
    outcome = models.CharField("结果", max_length=12, choices=Outcome.choices, default=Outcome.PENDING, db_index=True)
    auto_dispatched = models.BooleanField("自动派单", default=False, db_index=True)
    ms = models.FloatField("计算耗时（毫秒）", default=0)
    created_at = models.DateTimeField("生成时间", db_index=True)

    class Meta:
        verbose_name = "派单建议"
        verbose_name_plural = "派单建议"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.label} ({self.confidence:.2f})"

    @property
    def confidence_percent(self) -> int:
        return round(self.confidence * 100)


class DispatchFeedback(models.Model):
    """What a person (or a return) said about a suggestion: the raw material of retraining and of the analytics."""

    class Kind(models.TextChoices):
        CONFIRM = "confirm", "确认"
        CORRECT = "correct", "改派"
        RETURN = "return", "退单"

    order = models.ForeignKey("workorders.WorkOrder", verbose_name="工单", on_delete=models.CASCADE,
                              related_name="dispatch_feedback")
    suggestion = models.ForeignKey(DispatchSuggestion, verbose_name="建议", on_delete=models.CASCADE,
                                   related_name="feedback")
    kind = models.CharField("类型", max_length=8, choices=Kind.choices, db_index=True)
    suggested_label = models.CharField("建议一级分类", max_length=64)
    final_label = models.CharField("最终一级分类", max_length=64, blank=True,
                                   help_text="退单时为空：只知道建议错了，不知道对的是什么")
    suggested_category = models.ForeignKey("org.Category", verbose_name="建议分类", null=True, blank=True,
                                           on_delete=models.SET_NULL, related_name="+")
    final_category = models.ForeignKey("org.Category", verbose_name="最终分类", null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="+")
    suggested_unit = models.ForeignKey("org.Unit", verbose_name="建议主办单位", null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="+")
    final_unit = models.ForeignKey("org.Unit", verbose_name="最终主办单位", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    auto_dispatched = models.BooleanField("建议曾被自动派出", default=False)
    model_version = models.ForeignKey(ModelVersion, verbose_name="模型版本", null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="操作人", null=True, blank=True,
                           on_delete=models.SET_NULL, related_name="+")
    note = models.CharField("说明", max_length=255, blank=True)
    event = models.OneToOneField("workorders.Event", verbose_name="退单审批记录", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField("时间", db_index=True)

    class Meta:
        verbose_name = "派单反馈"
        verbose_name_plural = "派单反馈"
        ordering = ["-created_at"]


class Place(models.Model):
    """地名库: one name that points to a street, or to none when the name spans several streets."""

    class Kind(models.TextChoices):
        STREET = "street", "街道"
        COMMITTEE = "committee", "居委"
        ROAD = "road", "道路"
        COMPOUND = "compound", "小区"
        LANDMARK = "landmark", "地标"
        AREA = "area", "片区"

    name = models.CharField("地名", max_length=64, unique=True)
    kind = models.CharField("类型", max_length=12, choices=Kind.choices)
    street = models.ForeignKey("org.Street", verbose_name="所在街道", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="places", help_text="留空表示该地名跨多个街道或归属不确定：识别到它也不能单独定街道")
    note = models.CharField("说明", max_length=200, blank=True)
    active = models.BooleanField("启用", default=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = "地名"
        verbose_name_plural = "地名库"

    def __str__(self) -> str:
        return f"{self.name}（{self.street or '跨街道'}）"
