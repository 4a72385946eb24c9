"""Stored weekly reports: the Monday job (or a person) generated them, leaders download past weeks."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from yiwang.workorders.models import PrivateMediaStorage


def _file_path(instance, filename: str) -> str:
    # Random names in private storage: files go out only through the permission-checked view.
    suffix = filename.rsplit(".", 1)[-1]
    return f"reports/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{suffix}"


class WeeklyReport(models.Model):
    """The district-wide weekly analysis report of one ISO week, as generated at ``generated_at``.

    One row per week: generating a week again replaces its files and numbers
    (the outcomes of a week's orders keep arriving for weeks after it).
    """

    class Status(models.TextChoices):
        DONE = "done", "已生成"
        ERROR = "error", "生成出错"

    week_start = models.DateField("周一", unique=True)
    week_code = models.CharField("周次", max_length=8)  # 2026-W48
    status = models.CharField("状态", max_length=8, choices=Status.choices, default=Status.DONE)
    generated_at = models.DateTimeField("生成时间")
    generated_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="生成人", null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+",
                                     help_text="为空表示每周一定时生成")
    elapsed_ms = models.PositiveIntegerField("耗时（毫秒）", default=0)
    data = models.JSONField("报告数据", default=dict, blank=True)
    pdf = models.FileField("PDF", storage=PrivateMediaStorage(), upload_to=_file_path, max_length=200, blank=True)
    xlsx = models.FileField("Excel", storage=PrivateMediaStorage(), upload_to=_file_path, max_length=200, blank=True)
    message = models.CharField("说明", max_length=255, blank=True)

    class Meta:
        ordering = ["-week_start"]
        verbose_name = "热线分析周报"
        verbose_name_plural = "热线分析周报"

    def __str__(self) -> str:
        return f"热线分析周报 {self.week_code}"

    @property
    def total(self) -> int | None:
        return (self.data.get("volumes") or {}).get("total")
