"""随申查 inspections: checklists (XLSForm, versioned), self-inspections and spot checks,
rectifications (整改) and their verification (复查), and each space's schedule state.

Writes go through :mod:`services`; reads through :mod:`selectors`.
"""

from __future__ import annotations

import os
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from yiwang.spaces.models import RiskGrade, SpaceType
from yiwang.workorders.models import PrivateMediaStorage

from . import scoring


class ChecklistForm(models.Model):
    """One checklist, identified by the XLSForm's ``form_id``; each upload adds a version."""

    form_id = models.CharField("表单编号", max_length=64, unique=True)
    title = models.CharField("名称", max_length=128)
    space_types = models.JSONField("适用空间类型", default=list, help_text="SpaceType 值的列表")
    active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        ordering = ["form_id"]
        verbose_name = "检查表"
        verbose_name_plural = "检查表"

    def __str__(self) -> str:
        return self.title

    def space_type_labels(self) -> list[str]:
        names = dict(SpaceType.choices)
        return [names.get(t, t) for t in self.space_types]


class ChecklistVersion(models.Model):
    """A parsed upload. Inspections point at the version they used, so later uploads never change them."""

    form = models.ForeignKey(ChecklistForm, verbose_name="检查表", on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField("版本号")
    label = models.CharField("表内版本", max_length=64, blank=True, help_text="settings 表的 version 列")
    definition = models.JSONField("解析结果")
    source = models.BinaryField("原始文件")
    source_name = models.CharField("文件名", max_length=200)
    sha256 = models.CharField(max_length=64)
    item_count = models.PositiveIntegerField("计分项数")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="上传人", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField("上传时间", default=timezone.now)

    class Meta:
        ordering = ["form", "-number"]
        verbose_name = "检查表版本"
        verbose_name_plural = "检查表版本"
        constraints = [models.UniqueConstraint(fields=["form", "number"], name="checklist_version_unique_number")]

    def __str__(self) -> str:
        return f"{self.form.title} v{self.number}"


class InspectionInterval(models.Model):
    """How often a space of a risk grade must be self-inspected, and how long failures may take to fix.

    Editable in the admin; migration 0002 loads the defaults (high monthly,
    medium quarterly, low half-yearly).
    """

    risk_grade = models.CharField("风险等级", max_length=8, choices=RiskGrade.choices, unique=True)
    months = models.PositiveSmallIntegerField("自查周期（月）", help_text="须整除 12：1、2、3、4、6 或 12")
    rectify_days = models.PositiveSmallIntegerField("一般问题整改时限（工作日）", default=10)
    critical_rectify_days = models.PositiveSmallIntegerField("否决项整改时限（工作日）", default=3)

    class Meta:
        ordering = ["months"]
        verbose_name = "自查周期设置"
        verbose_name_plural = "自查周期设置"

    def __str__(self) -> str:
        return f"{self.get_risk_grade_display()}：每 {self.months} 个月"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.months not in (1, 2, 3, 4, 6, 12):  # cycles are aligned on the calendar year
            raise ValidationError({"months": "自查周期须整除 12：1、2、3、4、6 或 12 个月"})


class Inspection(models.Model):
    """One filled checklist: a using unit's self-inspection (自查) or an officer's spot check (抽查)."""

    class Kind(models.TextChoices):
        SELF = "self", "自查"
        SPOT = "spot", "抽查"

    class Colour(models.TextChoices):
        GREEN = scoring.GREEN, "绿"
        YELLOW = scoring.YELLOW, "黄"
        RED = scoring.RED, "红"

    space = models.ForeignKey("spaces.Space", verbose_name="地下空间", on_delete=models.PROTECT,
                              related_name="inspections")
    kind = models.CharField("类型", max_length=8, choices=Kind.choices)
    version = models.ForeignKey(ChecklistVersion, verbose_name="检查表版本", on_delete=models.PROTECT,
                                related_name="inspections")
    inspector = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="检查人", on_delete=models.PROTECT,
                                  related_name="+")
    inspected_on = models.DateField("检查日期", db_index=True)
    submitted_at = models.DateTimeField("提交时间", default=timezone.now)
    answers = models.JSONField("检查结果", default=dict, help_text="项 → {answer, note}")
    extra = models.JSONField("其他填报", default=dict, blank=True)
    score = models.DecimalField("得分", max_digits=5, decimal_places=1)
    colour = models.CharField("风险颜色", max_length=8, choices=Colour.choices)
    passed = models.BooleanField("合格")
    vetoed = models.BooleanField("否决项不合格", default=False)
    failed_count = models.PositiveIntegerField("不合格项数", default=0)
    overrules = models.OneToOneField("self", verbose_name="推翻的自查", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="overruled_by")
    overrule_reason = models.TextField("推翻理由", blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = "检查记录"
        verbose_name_plural = "检查记录"
        indexes = [models.Index(fields=["space", "kind", "inspected_on"], name="insp_space_kind_day")]
        constraints = [
            models.CheckConstraint(condition=models.Q(overrules__isnull=True) | models.Q(kind="spot"),
                                   name="inspection_only_spot_overrules"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.space_id} {self.inspected_on}"


class Rectification(models.Model):
    """整改: one failed item of an inspection, to be fixed by the using unit and verified by the street."""

    class Status(models.TextChoices):
        OPEN = "open", "待整改"
        SUBMITTED = "submitted", "待复查"
        CLOSED = "closed", "已销项"

    inspection = models.ForeignKey(Inspection, verbose_name="检查记录", on_delete=models.PROTECT,
                                   related_name="rectifications")
    space = models.ForeignKey("spaces.Space", verbose_name="地下空间", on_delete=models.PROTECT,
                              related_name="rectifications")
    item = models.CharField("检查项编号", max_length=64)
    item_label = models.CharField("检查项", max_length=255)
    section = models.CharField("类别", max_length=128, blank=True)
    critical = models.BooleanField("否决项", default=False)
    legal_basis = models.CharField("法律依据", max_length=255, blank=True)
    problem = models.TextField("问题描述", blank=True)
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.OPEN, db_index=True)
    deadline = models.DateTimeField("整改期限", db_index=True)
    overdue = models.BooleanField("已逾期", default=False, db_index=True)
    fix_note = models.TextField("整改说明", blank=True)
    submitted_at = models.DateTimeField("提交整改时间", null=True, blank=True)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="复查人", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    verified_at = models.DateTimeField("复查时间", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", default=timezone.now)

    class Meta:
        ordering = ["deadline", "id"]
        verbose_name = "整改任务"
        verbose_name_plural = "整改任务"
        constraints = [models.UniqueConstraint(fields=["inspection", "item"], name="rectification_one_per_item")]

    def __str__(self) -> str:
        return f"{self.space_id} {self.item_label}"


class RectificationEvent(models.Model):
    """Every move of a rectification: submitted, accepted, rejected (with the note), flagged overdue."""

    rectification = models.ForeignKey(Rectification, on_delete=models.CASCADE, related_name="events")
    action = models.CharField("动作", max_length=16)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    note = models.TextField("说明", blank=True)
    at = models.DateTimeField("时间", default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = "整改记录"
        verbose_name_plural = "整改记录"


def _evidence_path(instance, filename: str) -> str:
    # A random name: the uploader's file name may say who took it or where.
    suffix = os.path.splitext(filename)[1].lower()
    return f"inspections/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


class Evidence(models.Model):
    """A photo: of an inspected item, or of the fixed problem when a rectification is submitted."""

    inspection = models.ForeignKey(Inspection, null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="photos")
    rectification = models.ForeignKey(Rectification, null=True, blank=True, on_delete=models.CASCADE,
                                      related_name="photos")
    item = models.CharField("检查项编号", max_length=64, blank=True)
    file = models.FileField("文件", storage=PrivateMediaStorage(), upload_to=_evidence_path, max_length=200)
    content_type = models.CharField("类型", max_length=32)
    size = models.PositiveIntegerField("大小（字节）")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    uploaded_at = models.DateTimeField("上传时间", default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = "照片佐证"
        verbose_name_plural = "照片佐证"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(inspection__isnull=False, rectification__isnull=True)
                | models.Q(inspection__isnull=True, rectification__isnull=False),
                name="evidence_belongs_to_one",
            )
        ]


class SpaceStatus(models.Model):
    """A space's inspection state, kept as columns so lists filter on it in SQL.

    ``next_due`` follows :mod:`schedule`; ``overdue`` is flipped by the sweep
    (:func:`services.sweep`); ``current`` is the result the public page shows:
    the latest inspection, or the spot check that overruled it.
    """

    space = models.OneToOneField("spaces.Space", primary_key=True, on_delete=models.CASCADE,
                                 related_name="inspection_status")
    next_due = models.DateField("下次自查截止", db_index=True)
    overdue = models.BooleanField("自查逾期", default=False, db_index=True)
    last_self_on = models.DateField("最近自查", null=True, blank=True)
    current = models.ForeignKey(Inspection, verbose_name="当前结果", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "自查状态"
        verbose_name_plural = "自查状态"
