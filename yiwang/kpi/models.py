"""The KPI rollup: one fact row per work order, derived from the engine's event log.

Nothing here is a source of truth. Every column is recomputed by
:func:`yiwang.kpi.facts.refresh` from the order's Event rows (dispatch, sign,
sign_overdue, reply, sla_red, request_return, merge, answer_directly), its
FollowUp rows and the order's own dimensions; ``yiwang manage kpi_rebuild``
rebuilds the whole table, and the minute job (:func:`yiwang.kpi.jobs.refresh_recent`)
keeps it current by refreshing every order with new events. The table exists so
that a KPI over a million orders reads one narrow, indexed row per order instead of
joining the event log (docs/kpis.md).
"""

from __future__ import annotations

from django.db import models


class OrderFact(models.Model):
    """What the KPIs need to know about one work order; ``None`` means "not yet known"."""

    order = models.OneToOneField("workorders.WorkOrder", on_delete=models.CASCADE, primary_key=True,
                                 related_name="kpi_fact", verbose_name="工单")
    day = models.DateField("登记日期")  # Shanghai calendar day of registration: the period dimension
    channel = models.CharField("渠道", max_length=16)
    street = models.ForeignKey("org.Street", null=True, on_delete=models.DO_NOTHING, db_constraint=False,
                               related_name="+", verbose_name="街道")
    category = models.ForeignKey("org.Category", null=True, on_delete=models.DO_NOTHING, db_constraint=False,
                                 related_name="+", verbose_name="分类")
    top_category = models.ForeignKey("org.Category", null=True, on_delete=models.DO_NOTHING, db_constraint=False,
                                     related_name="+", verbose_name="一级分类")
    # The unit that handled the order last (the lead unit of the last dispatch or reopen)
    # carries sign-for, closure, resolution and satisfaction; the unit the order was first
    # dispatched to carries the return rate (did the first dispatch stick?).
    unit = models.ForeignKey("org.Unit", null=True, on_delete=models.DO_NOTHING, db_constraint=False,
                             related_name="+", verbose_name="承办单位")
    first_unit = models.ForeignKey("org.Unit", null=True, on_delete=models.DO_NOTHING, db_constraint=False,
                                   related_name="+", verbose_name="首派单位")
    dispatched = models.BooleanField("已派单", default=False)
    direct = models.BooleanField("直办", default=False)
    sign_on_time = models.BooleanField("签收及时", null=True)
    closed_on_time = models.BooleanField("按时办结", null=True)
    satisfied = models.BooleanField("满意", null=True)
    resolved = models.BooleanField("实际解决", null=True)
    returned = models.BooleanField("退单", default=False)
    repeat = models.BooleanField("重复来电", default=False)
    computed_at = models.DateTimeField("计算时间")

    class Meta:
        verbose_name = "工单绩效事实"
        verbose_name_plural = "工单绩效事实"
        # Each grouping with the period, so a period's rows of one unit/street/category
        # are one index range (bench/dashboard_latency.py).
        indexes = [
            models.Index(fields=["day"], name="kpi_fact_day"),
            models.Index(fields=["unit", "day"], name="kpi_fact_unit_day"),
            models.Index(fields=["first_unit", "day"], name="kpi_fact_first_unit_day"),
            models.Index(fields=["street", "day"], name="kpi_fact_street_day"),
            models.Index(fields=["top_category", "day"], name="kpi_fact_topcat_day"),
        ]

    def __str__(self) -> str:
        return f"fact #{self.order_id} {self.day}"


class RefreshState(models.Model):
    """The newest Event id the minute job has folded into the facts (a single row)."""

    last_event_id = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    rebuilt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "绩效刷新状态"
        verbose_name_plural = "绩效刷新状态"


class DailyRollup(models.Model):
    """The facts of one registration day summed per unit, first unit, street, category, and in total.

    Derived from :class:`OrderFact` only (``yiwang.kpi.rollup``): rebuilt whole by
    ``kpi_rebuild`` and day by day whenever a fact of that day is refreshed. A KPI
    query with one grouping and no narrowing filter reads these rows (a few per
    day) instead of every order of the period; narrowed queries read the facts.
    """

    class Dim(models.TextChoices):
        TOTAL = "total", "合计"
        UNIT = "unit", "承办单位"
        FIRST_UNIT = "first_unit", "首派单位"
        STREET = "street", "街道"
        CATEGORY = "category", "一级分类"

    day = models.DateField("登记日期")
    dim = models.CharField("维度", max_length=12, choices=Dim.choices)
    key = models.BigIntegerField("维度取值", default=0, help_text="单位/街道/分类的 id；0 表示无（或合计）")
    orders = models.PositiveIntegerField(default=0)
    sign_num = models.PositiveIntegerField(default=0)
    sign_den = models.PositiveIntegerField(default=0)
    resolution_num = models.PositiveIntegerField(default=0)
    resolution_den = models.PositiveIntegerField(default=0)
    satisfaction_num = models.PositiveIntegerField(default=0)
    satisfaction_den = models.PositiveIntegerField(default=0)
    closure_num = models.PositiveIntegerField(default=0)
    closure_den = models.PositiveIntegerField(default=0)
    return_num = models.PositiveIntegerField(default=0)
    return_den = models.PositiveIntegerField(default=0)
    repeat_num = models.PositiveIntegerField(default=0)
    repeat_den = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "绩效日汇总"
        verbose_name_plural = "绩效日汇总"
        constraints = [models.UniqueConstraint(fields=["dim", "key", "day"], name="kpi_rollup_unique")]
        indexes = [models.Index(fields=["dim", "day"], name="kpi_rollup_dim_day")]
