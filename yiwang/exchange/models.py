"""An import of a spreadsheet of historical orders, from upload to report; a large export in the background."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from yiwang.workorders.importers import ALL_OR_NOTHING, VALID_ROWS
from yiwang.workorders.models import PrivateMediaStorage


class ImportRun(models.Model):
    """One uploaded file and what became of it.

    The file itself is kept in the row, not on a disk: the web worker that
    receives it and the job worker that imports it share only the database.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "排队中"
        CHECKING = "checking", "校验中"
        WRITING = "writing", "写入中"
        DONE = "done", "已完成"
        FAILED = "failed", "未导入"
        ERROR = "error", "出错"

    class Mode(models.TextChoices):
        VALID_ROWS = VALID_ROWS, "导入有效行，报告其余行的问题"
        ALL_OR_NOTHING = ALL_OR_NOTHING, "全部无误才导入（任何一行有误则不导入）"

    FINISHED = (Status.DONE, Status.FAILED, Status.ERROR)

    file_name = models.CharField("文件名", max_length=255)
    content = models.BinaryField("文件内容")
    size = models.PositiveIntegerField("大小（字节）")
    sha256 = models.CharField("SHA-256", max_length=64, db_index=True)
    mode = models.CharField("导入方式", max_length=16, choices=Mode.choices, default=Mode.VALID_ROWS)
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.QUEUED)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="导入人", null=True,
                                   on_delete=models.SET_NULL, related_name="import_runs")
    created_at = models.DateTimeField("上传时间", auto_now_add=True, db_index=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)
    # Touched with every progress report: a run whose job died shows it by going quiet.
    heartbeat_at = models.DateTimeField("最近进度时间", null=True, blank=True)
    rows_total = models.PositiveIntegerField("数据行数", default=0)
    rows_checked = models.PositiveIntegerField("已校验行数", default=0)
    rows_to_write = models.PositiveIntegerField("待写入行数", default=0)
    rows_written = models.PositiveIntegerField("已写入行数", default=0)
    created = models.PositiveIntegerField("新建工单", default=0)
    existing = models.PositiveIntegerField("此前已导入", default=0)
    skipped = models.PositiveIntegerField("未导入行数", default=0)
    errors = models.JSONField("问题", default=list, blank=True)  # [{"row": 3, "column": "时间", "problem": "…"}]
    message = models.CharField("说明", max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "导入记录"
        verbose_name_plural = "导入记录"

    def __str__(self) -> str:
        return f"{self.file_name}（{self.get_status_display()}）"

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def indeterminate(self) -> bool:
        """An all-or-nothing write is one transaction: nobody can see how far it got."""
        return self.status == self.Status.WRITING and self.mode == self.Mode.ALL_OR_NOTHING

    @property
    def percent(self) -> int:
        """Checking is the first half of the bar, writing the second."""
        if self.finished:
            return 100
        if self.status == self.Status.CHECKING and self.rows_total:
            return min(50, 50 * self.rows_checked // self.rows_total)
        if self.status == self.Status.WRITING:
            done = self.rows_written / self.rows_to_write if self.rows_to_write else 0
            return 50 + min(50, int(50 * done))
        return 0


def _export_path(instance, filename: str) -> str:
    # A random name: the file holds personal data and its path must not be guessable.
    return f"exports/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.xlsx"


class ExportJob(models.Model):
    """A large list export written by the job worker (a small one is sent at once, in the request).

    The file is kept in private storage (no URL); only the user who asked for it
    may fetch it, through a view that checks so.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "排队中"
        WRITING = "writing", "导出中"
        DONE = "done", "已完成"
        ERROR = "error", "出错"

    FINISHED = (Status.DONE, Status.ERROR)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="导出人", on_delete=models.CASCADE,
                                   related_name="export_jobs")
    query = models.TextField("筛选条件", blank=True)  # the list's query string, filtered again by the job
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField("提交时间", auto_now_add=True, db_index=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)
    heartbeat_at = models.DateTimeField("最近进度时间", null=True, blank=True)
    rows_total = models.PositiveIntegerField("工单数", default=0)
    rows_written = models.PositiveIntegerField("已写入", default=0)
    file = models.FileField("文件", storage=PrivateMediaStorage(), upload_to=_export_path, max_length=200, blank=True)
    file_name = models.CharField("下载文件名", max_length=100, blank=True)
    message = models.CharField("说明", max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "导出任务"
        verbose_name_plural = "导出任务"

    def __str__(self) -> str:
        return f"导出 {self.rows_total} 条（{self.get_status_display()}）"

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if self.rows_total:
            return min(99, 100 * self.rows_written // self.rows_total)
        return 0
