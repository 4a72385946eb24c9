"""The citizen's key to a web appeal: the verification code (查询码) beside the order number (受理编号)."""

from __future__ import annotations

from django.db import models


class Receipt(models.Model):
    """Lets the appellant of a web appeal follow and rate it without an account.

    Only a keyed hash of the code is stored (see :mod:`yiwang.citizen.services`);
    the code itself is shown once, on the receipt page. The counters limit how
    many wrong codes may be tried for one order in a window, across all web
    workers (the row is shared, a per-process cache would not be).
    """

    order = models.OneToOneField("workorders.WorkOrder", on_delete=models.CASCADE, related_name="citizen_receipt",
                                 verbose_name="工单")
    code_hash = models.CharField("查询码摘要", max_length=64)
    created_at = models.DateTimeField("创建时间")
    failed_attempts = models.PositiveSmallIntegerField("连续错误次数", default=0)
    first_failed_at = models.DateTimeField("首次错误时间", null=True, blank=True)

    class Meta:
        verbose_name = "市民查询凭证"
        verbose_name_plural = "市民查询凭证"

    def __str__(self) -> str:
        return f"查询凭证 {self.order_id}"
