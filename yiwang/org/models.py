"""The district's organisation: streets, neighbourhood committees, handling units,
the three-level category taxonomy and the routing rules between them."""

from __future__ import annotations

from django.db import models


class Street(models.Model):
    """街道 (sub-district). Codes are the National Bureau of Statistics codes."""

    code = models.CharField("代码", max_length=12, unique=True)
    name = models.CharField("名称", max_length=32, unique=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "街道"
        verbose_name_plural = "街道"

    def __str__(self) -> str:
        return self.name


class Committee(models.Model):
    """居委 (neighbourhood committee) within a street."""

    code = models.CharField("代码", max_length=16, unique=True)
    name = models.CharField("名称", max_length=64)
    street = models.ForeignKey(Street, verbose_name="街道", on_delete=models.PROTECT, related_name="committees")

    class Meta:
        ordering = ["code"]
        verbose_name = "居委"
        verbose_name_plural = "居委"

    def __str__(self) -> str:
        return f"{self.street.name}/{self.name}"


class Unit(models.Model):
    """承办单位: a department (委办局), a street office, a utility or the NPC deputies' station."""

    class Kind(models.TextChoices):
        DEPARTMENT = "department", "委办局"
        STREET = "street", "街道"
        UTILITY = "utility", "公用事业单位"
        NPC_STATION = "npc_station", "人大代表联络站"
        OTHER = "other", "其他"

    code = models.CharField("代码", max_length=32, unique=True)
    name = models.CharField("名称", max_length=64, unique=True)
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    street = models.ForeignKey(
        Street, verbose_name="所属街道", null=True, blank=True, on_delete=models.PROTECT, related_name="units",
        help_text="街道办事处填写其街道",
    )
    active = models.BooleanField("启用", default=True)

    class Meta:
        ordering = ["kind", "code"]
        verbose_name = "承办单位"
        verbose_name_plural = "承办单位"

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    """One node of the three-level appeal taxonomy (一级/二级/三级分类)."""

    code = models.CharField("代码", max_length=16, unique=True, help_text="一级2位+二级2位+三级3位")
    name = models.CharField("名称", max_length=64)
    level = models.PositiveSmallIntegerField("层级")
    parent = models.ForeignKey(
        "self", verbose_name="上级", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField("完整路径", max_length=200, unique=True)
    active = models.BooleanField("启用", default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "诉求分类"
        verbose_name_plural = "诉求分类"

    def __str__(self) -> str:
        return self.path

    def lineage(self) -> list["Category"]:
        """This node and its ancestors, most specific first (at most three queries)."""
        chain, node = [], self
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain

    @property
    def top_level(self) -> "Category":
        return self.lineage()[-1]


class RoutingRule(models.Model):
    """Category × street → lead unit and co-units (派单规则).

    The most specific rule wins: a rule for the order's own category beats one
    for its parent, and a rule for the order's street beats one for any street.
    "Street office" flags route to the office of the order's street, so one rule
    covers all eight streets.
    """

    category = models.ForeignKey(Category, verbose_name="分类", on_delete=models.CASCADE, related_name="routing_rules")
    street = models.ForeignKey(
        Street, verbose_name="街道", null=True, blank=True, on_delete=models.CASCADE, help_text="留空表示所有街道"
    )
    lead_unit = models.ForeignKey(
        Unit, verbose_name="主办单位", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lead_is_street_office = models.BooleanField("主办为所在街道", default=False)
    co_units = models.ManyToManyField(Unit, verbose_name="协办单位", blank=True, related_name="+")
    co_street_office = models.BooleanField("所在街道协办", default=False)
    active = models.BooleanField("启用", default=True)
    note = models.CharField("说明", max_length=200, blank=True)

    class Meta:
        verbose_name = "派单规则"
        verbose_name_plural = "派单规则"
        constraints = [
            models.UniqueConstraint(fields=["category", "street"], name="routing_rule_unique_category_street"),
            models.UniqueConstraint(
                fields=["category"], condition=models.Q(street__isnull=True), name="routing_rule_unique_category_any_street"
            ),
            models.CheckConstraint(
                condition=models.Q(lead_unit__isnull=False) | models.Q(lead_is_street_office=True),
                name="routing_rule_has_lead",
            ),
        ]

    def __str__(self) -> str:
        lead = "所在街道" if self.lead_is_street_office else str(self.lead_unit)
        return f"{self.category.path} @ {self.street or '全部街道'} → {lead}"
