"""Work orders (工单) and everything recorded about them.

Only :mod:`yiwang.workorders.services` writes these tables; reads that depend
on who is asking go through :mod:`yiwang.workorders.selectors`.
"""

from __future__ import annotations

import os
import uuid

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from .states import Action, Status


class Channel(models.TextChoices):
    PHONE = "phone", "电话"
    WEB = "web", "网站"
    API = "api", "接口"
    OPEN311 = "open311", "Open311 应用"
    ENTERPRISE = "enterprise", "企业诉求"
    QR = "qr", "扫码"
    IOT = "iot", "物联感知"
    CITY = "city", "市级转派"
    IMPORT = "import", "批量导入"


class AppealType(models.TextChoices):
    CONSULTATION = "consultation", "咨询"
    REQUEST = "request", "求助"
    COMPLAINT = "complaint", "投诉"
    REPORT = "report", "举报"
    SUGGESTION = "suggestion", "建议"
    PRAISE = "praise", "表扬"


class Urgency(models.TextChoices):
    NORMAL = "normal", "一般"
    URGENT = "urgent", "紧急"
    CRITICAL = "critical", "特急"


class SlaState(models.TextChoices):
    NORMAL = "normal", "正常"
    YELLOW = "yellow", "黄灯预警"
    RED = "red", "红灯超期"


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", "满意"
    BASICALLY = "basically", "基本满意"
    DISSATISFIED = "dissatisfied", "不满意"


class SlaRule(models.Model):
    """Sign-for and handling time limits by appeal type and urgency, in working hours."""

    appeal_type = models.CharField("诉求类型", max_length=16, choices=AppealType.choices)
    urgency = models.CharField("紧急程度", max_length=16, choices=Urgency.choices)
    sign_hours = models.DecimalField("签收时限（工作小时）", max_digits=6, decimal_places=2, validators=[MinValueValidator(0)])
    handle_hours = models.DecimalField("办理时限（工作小时）", max_digits=7, decimal_places=2, validators=[MinValueValidator(0.5)])
    warn_ratio = models.DecimalField(
        "黄灯比例", max_digits=3, decimal_places=2, default=0.8,
        validators=[MinValueValidator(0.1), MaxValueValidator(0.99)],
        help_text="已用时限达到该比例时亮黄灯；到期亮红灯",
    )

    class Meta:
        verbose_name = "时限规则"
        verbose_name_plural = "时限规则"
        constraints = [models.UniqueConstraint(fields=["appeal_type", "urgency"], name="sla_rule_unique")]
        ordering = ["appeal_type", "urgency"]

    def __str__(self) -> str:
        return f"{self.get_appeal_type_display()}/{self.get_urgency_display()}: 签收{self.sign_hours}h 办理{self.handle_hours}h"


class WorkOrder(models.Model):
    number = models.CharField("工单编号", max_length=24, unique=True, null=True, blank=True)
    channel = models.CharField("渠道", max_length=16, choices=Channel.choices)
    appeal_type = models.CharField("诉求类型", max_length=16, choices=AppealType.choices)
    urgency = models.CharField("紧急程度", max_length=16, choices=Urgency.choices, default=Urgency.NORMAL)
    title = models.CharField("标题", max_length=200)
    content = models.TextField("诉求内容")
    # No single-column index on category, street or lead unit: the list indexes in Meta
    # lead with them and serve the same lookups, and every index costs each intake a write.
    category = models.ForeignKey("org.Category", verbose_name="分类", null=True, blank=True, on_delete=models.PROTECT,
                                 db_index=False)
    street = models.ForeignKey("org.Street", verbose_name="街道", null=True, blank=True, on_delete=models.PROTECT,
                               db_index=False)
    committee = models.ForeignKey("org.Committee", verbose_name="居委", null=True, blank=True, on_delete=models.PROTECT)
    address = models.CharField("地址", max_length=255, blank=True)
    latitude = models.DecimalField("纬度", max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField("经度", max_digits=9, decimal_places=6, null=True, blank=True)

    appellant_name = models.CharField("诉求人", max_length=64, blank=True)
    appellant_phone = models.CharField("联系电话", max_length=32, blank=True)
    appellant_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="诉求人账号", null=True, blank=True,
        on_delete=models.SET_NULL, related_name="appeals",
    )

    status = models.CharField("状态", max_length=20, choices=Status.choices, default=Status.REGISTERED)
    lead_unit = models.ForeignKey(
        "org.Unit", verbose_name="主办单位", null=True, blank=True, on_delete=models.PROTECT, related_name="lead_orders",
        db_index=False,
    )
    master = models.ForeignKey(
        "self", verbose_name="主工单", null=True, blank=True, on_delete=models.PROTECT, related_name="duplicates"
    )
    # How many orders have this one as their master (linked or merged): its repeat calls
    # (see workorders/repeats.py). Kept by services in the transaction that changes a
    # ``master``; recomputable from the event log (repeats.recount_from_events).
    repeat_count = models.PositiveIntegerField("重复来电数", default=0)

    city_number = models.CharField("市级工单编号", max_length=40, null=True, blank=True)
    city_deadline = models.DateTimeField("市级办结时限", null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, editable=False)
    external_ref = models.CharField("外部编号", max_length=64, blank=True)

    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="登记人", null=True, blank=True,
        on_delete=models.SET_NULL, related_name="registered_orders",
    )
    created_at = models.DateTimeField("登记时间")
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    dispatched_at = models.DateTimeField("派单时间", null=True, blank=True)
    signed_at = models.DateTimeField("签收时间", null=True, blank=True)
    replied_at = models.DateTimeField("答复时间", null=True, blank=True)
    closed_at = models.DateTimeField("归档时间", null=True, blank=True)

    # Deadlines are stored (computed from the calendar at dispatch and on
    # extension) so the sweep is an indexed range query and KPIs can be recomputed.
    sign_deadline = models.DateTimeField("签收时限", null=True, blank=True, db_index=True)
    handle_deadline = models.DateTimeField("办结时限", null=True, blank=True, db_index=True)
    yellow_at = models.DateTimeField("黄灯时间", null=True, blank=True, db_index=True)
    sla_state = models.CharField("时限状态", max_length=8, choices=SlaState.choices, default=SlaState.NORMAL)
    sign_overdue = models.BooleanField("签收超时", default=False)
    extension_hours = models.DecimalField("已批延期（工作小时）", max_digits=7, decimal_places=2, default=0)

    reply = models.TextField("答复内容", blank=True)
    direct_answer = models.BooleanField("直办", default=False)
    satisfaction = models.CharField("满意度", max_length=16, choices=Satisfaction.choices, blank=True)
    resolved = models.BooleanField("实际解决", null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField("重办次数", default=0)
    escalation_count = models.PositiveSmallIntegerField("督办次数", default=0)

    class Meta:
        verbose_name = "工单"
        verbose_name_plural = "工单"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "handle_deadline"]),
            models.Index(fields=["lead_unit", "status"]),
            models.Index(fields=["appellant_phone"]),
            # Declared here rather than with unique=/db_index= on the field: on PostgreSQL
            # those add a second, LIKE-pattern index per column, and these columns are only
            # ever compared for equality.
            models.Index(fields=["external_ref"], name="wo_external_ref"),
            models.Index(fields=["sla_state"], name="wo_sla_state"),
            # Each list filter with the lists' newest-first order, so a filtered page of a
            # million orders reads its fifty rows from one index (bench/list_latency.py).
            # They replace the single-column indexes of channel, status and created_at:
            # every index costs each intake a write.
            models.Index(fields=["street", "-created_at", "-id"], name="wo_street_created"),
            models.Index(fields=["lead_unit", "-created_at", "-id"], name="wo_unit_created"),
            models.Index(fields=["category", "-created_at", "-id"], name="wo_category_created"),
            models.Index(fields=["channel", "-created_at", "-id"], name="wo_channel_created"),
            models.Index(fields=["status", "-created_at", "-id"], name="wo_status_created"),
            models.Index(fields=["-created_at", "-id"], name="wo_created"),
            # Repeat calls (orders with a master) by the time they came in: the period
            # counts per master, unit and street read only these rows (repeats.py).
            models.Index(fields=["created_at", "master"], name="wo_repeat_created",
                         condition=models.Q(master__isnull=False)),
        ]
        constraints = [
            models.UniqueConstraint(fields=["city_number"], name="wo_city_number_unique"),
            models.UniqueConstraint(fields=["idempotency_key"], name="wo_idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.number or '#' + str(self.pk)} {self.title}"


class Assignment(models.Model):
    """A unit's part in a work order: the lead unit (主办) or a co-unit (协办)."""

    class Role(models.TextChoices):
        LEAD = "lead", "主办"
        CO = "co", "协办"

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="assignments")
    unit = models.ForeignKey("org.Unit", verbose_name="单位", on_delete=models.PROTECT, related_name="assignments")
    role = models.CharField("角色", max_length=4, choices=Role.choices)
    active = models.BooleanField("有效", default=True)
    dispatched_at = models.DateTimeField("派单时间")
    dispatched_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    signed_at = models.DateTimeField("签收时间", null=True, blank=True)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    opinion = models.TextField("协办意见", blank=True)

    class Meta:
        verbose_name = "派单"
        verbose_name_plural = "派单"
        constraints = [
            models.UniqueConstraint(
                fields=["order", "unit"], condition=models.Q(active=True), name="assignment_one_active_per_unit"
            ),
            models.UniqueConstraint(
                fields=["order"], condition=models.Q(active=True, role="lead"), name="assignment_one_active_lead"
            ),
        ]
        indexes = [
            models.Index(fields=["unit", "active"]),
            # A unit's orders (selectors.visible_orders) as an index-only scan.
            models.Index(fields=["unit", "order"], name="assignment_unit_order"),
        ]


class Event(models.Model):
    """One row per action on a work order: who, when, from which status to which, why."""

    # No index of its own: the (order, created_at) index below serves every lookup by order,
    # and one index fewer is one write fewer for every event, the registration included.
    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="events", db_index=False)
    action = models.CharField("动作", max_length=24, choices=Action.choices)
    from_status = models.CharField("原状态", max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField("新状态", max_length=20, choices=Status.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="操作人", null=True, blank=True, on_delete=models.SET_NULL)
    unit = models.ForeignKey("org.Unit", verbose_name="单位", null=True, blank=True, on_delete=models.SET_NULL)
    reason = models.TextField("说明", blank=True)
    data = models.JSONField("数据", default=dict, blank=True)
    created_at = models.DateTimeField("时间", db_index=True)

    class Meta:
        verbose_name = "流转记录"
        verbose_name_plural = "流转记录"
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["order", "created_at"])]


class ReturnReason(models.TextChoices):
    NOT_OUR_DUTY = "not_our_duty", "非本单位职责"
    WRONG_LOCATION = "wrong_location", "地址不在辖区"
    INSUFFICIENT_INFO = "insufficient_info", "信息不全无法办理"
    DUPLICATE = "duplicate", "重复工单"
    JUDICIAL = "judicial", "已进入司法/信访程序"
    OTHER = "other", "其他"


class Decision(models.TextChoices):
    PENDING = "pending", "待审"
    APPROVED = "approved", "同意"
    REJECTED = "rejected", "驳回"


class ReturnRequest(models.Model):
    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="return_requests")
    unit = models.ForeignKey("org.Unit", on_delete=models.PROTECT, related_name="+")
    reason_code = models.CharField("退单原因", max_length=24, choices=ReturnReason.choices)
    reason = models.TextField("退单说明")
    suggested_unit = models.ForeignKey("org.Unit", verbose_name="建议承办单位", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField()
    previous_status = models.CharField(max_length=20, choices=Status.choices)
    decision = models.CharField("仲裁结果", max_length=10, choices=Decision.choices, default=Decision.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField("仲裁意见", blank=True)

    class Meta:
        verbose_name = "退单申请"
        verbose_name_plural = "退单申请"
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=models.Q(decision="pending"), name="one_pending_return")
        ]


class ExtensionRequest(models.Model):
    """延期: an approved request pauses the handling clock for ``hours`` working hours."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="extension_requests")
    unit = models.ForeignKey("org.Unit", on_delete=models.PROTECT, related_name="+")
    hours = models.DecimalField("延期时长（工作小时）", max_digits=7, decimal_places=2)
    reason = models.TextField("延期理由")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField()
    decision = models.CharField("审批结果", max_length=10, choices=Decision.choices, default=Decision.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField("审批意见", blank=True)

    class Meta:
        verbose_name = "延期申请"
        verbose_name_plural = "延期申请"
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=models.Q(decision="pending"), name="one_pending_extension")
        ]


class FollowUp(models.Model):
    """回访: the hotline calls the appellant back after the reply."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="follow_ups")
    round = models.PositiveSmallIntegerField("轮次", help_text="重办次数+1")
    satisfaction = models.CharField("满意度", max_length=16, choices=Satisfaction.choices)
    resolved = models.BooleanField("实际解决")
    note = models.TextField("回访记录", blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()

    class Meta:
        verbose_name = "回访"
        verbose_name_plural = "回访"
        ordering = ["at"]


class Notification(models.Model):
    """An inbox item for a unit's staff or for everyone in a role (e.g. dispatchers)."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="notifications")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="notifications")
    unit = models.ForeignKey("org.Unit", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    role = models.CharField(max_length=16, blank=True)
    message = models.CharField("消息", max_length=255)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "通知"
        verbose_name_plural = "通知"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["event", "unit", "role"], name="notification_once_per_event_audience")
        ]


class PrivateMediaStorage(FileSystemStorage):
    """Files that must never be served by URL: appellants' photos.

    The folder is read from ``settings.PRIVATE_MEDIA_ROOT`` on every use (not
    cached at import) so tests and deployments can point it elsewhere; ``url()``
    refuses, because these files go out only through a permission-checked view.
    """

    @property
    def base_location(self):
        return self._value_or_setting(self._location, settings.PRIVATE_MEDIA_ROOT)

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    def url(self, name):
        raise ValueError("private media has no public URL")


def _attachment_path(instance, filename: str) -> str:
    # A random name: the appellant's file name may carry personal data and must not be guessable.
    suffix = os.path.splitext(filename)[1].lower()
    return f"attachments/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


class Attachment(models.Model):
    """A photo handed in with an appeal, re-encoded on intake (no EXIF, no trailing bytes)."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField("文件", storage=PrivateMediaStorage(), upload_to=_attachment_path, max_length=200)
    content_type = models.CharField("类型", max_length=32)
    size = models.PositiveIntegerField("大小（字节）")
    width = models.PositiveIntegerField("宽")
    height = models.PositiveIntegerField("高")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    uploaded_at = models.DateTimeField("上传时间")

    class Meta:
        verbose_name = "附件"
        verbose_name_plural = "附件"
        ordering = ["uploaded_at", "id"]
