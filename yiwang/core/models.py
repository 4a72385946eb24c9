"""Shared tables: the working-day calendar overrides and the audit trail."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models

from .calendar import WorkingCalendar


class CalendarDay(models.Model):
    """A date whose working status the data bureau has set by hand.

    Used for years the calendar library does not know yet (its data stop at
    2026) and to correct it: a rest day (holiday) or an adjusted working day (调休上班).
    """

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", "休息日（节假日）"
        WORKDAY = "workday", "工作日（调休上班）"

    date = models.DateField("日期", unique=True)
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    name = models.CharField("名称", max_length=64, blank=True, help_text="如：春节、国庆节调休")

    class Meta:
        ordering = ["date"]
        verbose_name = "工作日历调整"
        verbose_name_plural = "工作日历调整"

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.name}".strip()


def load_calendar(start: dt.date | None = None, days: int = 400) -> WorkingCalendar:
    """A calendar with the table's overrides for ``days`` days from ``start``.

    One indexed query; deadlines never reach further than a few months, and the
    window is generous so arithmetic near its end still sees every override.
    """
    start = start or dt.date.today() - dt.timedelta(days=31)
    rows = CalendarDay.objects.filter(date__gte=start, date__lt=start + dt.timedelta(days=days))
    overrides = {row.date: row.kind == CalendarDay.Kind.WORKDAY for row in rows.only("date", "kind")}
    return WorkingCalendar(
        overrides, start_hour=settings.WORKDAY_START_HOUR, end_hour=settings.WORKDAY_END_HOUR
    )


class AuditEntry(models.Model):
    """Who saw or changed what: personal-data views, writes, logins of systems."""

    class Action(models.TextChoices):
        VIEW_PERSONAL_DATA = "view_pii", "查看个人信息"
        CREATE = "create", "新建"
        UPDATE = "update", "修改"
        TRANSITION = "transition", "流转"
        EXPORT = "export", "导出"

    created_at = models.DateTimeField("时间", auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="操作人", null=True, blank=True, on_delete=models.SET_NULL
    )
    action = models.CharField("动作", max_length=16, choices=Action.choices)
    object_type = models.CharField("对象类型", max_length=64)
    object_id = models.CharField("对象", max_length=64, blank=True)
    summary = models.CharField("摘要", max_length=255, blank=True)
    changes = models.JSONField("变更", default=dict, blank=True)
    ip = models.GenericIPAddressField("IP", null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["object_type", "object_id"])]
        verbose_name = "审计记录"
        verbose_name_plural = "审计记录"

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.object_type}#{self.object_id}"


def calendar_gaps(today: dt.date | None = None) -> list[int]:
    """Years within the next 400 days that deadlines may reach but nobody has entered.

    A year counts as entered once the table has any row for it (the data bureau
    enters the State Council's notice as a whole).
    """
    from .calendar import uncovered_years

    today = today or dt.date.today()
    years = range(today.year, (today + dt.timedelta(days=400)).year + 1)
    entered = set(CalendarDay.objects.filter(date__year__in=list(years)).dates("date", "year").values_list("date__year", flat=True))
    return uncovered_years(years, entered)
