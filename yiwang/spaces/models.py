"""随申查: the register of the district's underground spaces and the units that use them.

A space is identified publicly by its code, printed as a QR code at the site. Inspections,
rectifications and supervision (the ``inspections`` app) hang off this register.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords


class SpaceType(models.TextChoices):
    CIVIL_DEFENCE = "civil_defence", "人防工程"
    GARAGE = "garage", "地下车库"
    BASEMENT = "basement", "地下室"
    MALL = "mall", "地下商场"
    OTHER = "other", "其他地下空间"


class CivilDefenceGrade(models.TextChoices):
    """防护等级 of a civil-defence work; ordinary basements have none."""

    NONE = "none", "非人防"
    N5 = "n5", "核5级"
    N6 = "n6", "核6级"
    N6B = "n6b", "核6B级"
    C5 = "c5", "常5级"
    C6 = "c6", "常6级"


class RiskGrade(models.TextChoices):
    """Registered risk grade; it sets how often the using unit must inspect itself."""

    HIGH = "high", "高风险"
    MEDIUM = "medium", "中风险"
    LOW = "low", "低风险"


class UsingUnit(models.Model):
    """使用单位: the organisation that uses (and must self-inspect) one or more spaces.

    Its accounts (enterprise users) see only its own spaces.
    """

    name = models.CharField("单位名称", max_length=128, unique=True)
    credit_code = models.CharField("统一社会信用代码", max_length=18, blank=True)
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name="单位账号", blank=True, related_name="using_units"
    )
    history = HistoricalRecords(excluded_fields=["users"])

    class Meta:
        ordering = ["name"]
        verbose_name = "使用单位"
        verbose_name_plural = "使用单位"

    def __str__(self) -> str:
        return self.name


class Space(models.Model):
    """地下空间: one registered underground space."""

    code = models.CharField("编码", max_length=32, unique=True, help_text="现场二维码上的编码，如 HK-DX-0001")
    name = models.CharField("名称", max_length=128)
    address = models.CharField("地址", max_length=200)
    street = models.ForeignKey("org.Street", verbose_name="街道", on_delete=models.PROTECT, related_name="spaces")
    latitude = models.DecimalField("纬度", max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField("经度", max_digits=9, decimal_places=6, null=True, blank=True)
    space_type = models.CharField("类型", max_length=16, choices=SpaceType.choices)
    area_m2 = models.DecimalField("面积(㎡)", max_digits=10, decimal_places=1, null=True, blank=True)
    floors = models.PositiveSmallIntegerField("地下层数", default=1)
    using_unit = models.ForeignKey(
        UsingUnit, verbose_name="使用单位", null=True, blank=True, on_delete=models.PROTECT, related_name="spaces"
    )
    safety_contact = models.CharField("安全负责人", max_length=64, blank=True)
    safety_phone = models.CharField("安全负责人电话", max_length=20, blank=True)
    civil_defence_grade = models.CharField(
        "防护等级", max_length=8, choices=CivilDefenceGrade.choices, default=CivilDefenceGrade.NONE
    )
    risk_grade = models.CharField("风险等级", max_length=8, choices=RiskGrade.choices, default=RiskGrade.MEDIUM)
    active = models.BooleanField("在册", default=True)
    created_at = models.DateTimeField("登记时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        verbose_name = "地下空间"
        verbose_name_plural = "地下空间"
        indexes = [models.Index(fields=["street", "space_type"], name="space_street_type")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class SpaceReport(models.Model):
    """A citizen's hazard report made by scanning a space's site code: the work order it became.

    The order carries the report (text, photos, reporter); this row only ties it to
    the space, so staff see a space's reports and their status on its page.
    """

    space = models.ForeignKey(Space, verbose_name="地下空间", on_delete=models.PROTECT, related_name="reports")
    order = models.OneToOneField(
        "workorders.WorkOrder", verbose_name="工单", on_delete=models.CASCADE, related_name="space_report"
    )
    created_at = models.DateTimeField("反映时间", db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "扫码反映"
        verbose_name_plural = "扫码反映"

    def __str__(self) -> str:
        return f"{self.space.code} → {self.order_id}"
