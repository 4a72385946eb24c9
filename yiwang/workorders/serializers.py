"""REST shapes of work orders: what clients send to the actions and what they get back.

Serializers only translate. Rules live in :mod:`services`; who sees what in
:mod:`selectors` (the appellant's data passes through ``selectors.personal_data``).
"""

from __future__ import annotations


from django.db.models import Q
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from yiwang.core.api import ChoiceLabelField, FieldsBuiltOnce
from yiwang.org.api import CategoryRefSerializer, CommitteeRefSerializer, StreetSerializer, UnitRefSerializer
from yiwang.org.models import Unit

from . import refcache, selectors, services
from .models import AppealType, Assignment, Channel, Event, ReturnReason, Satisfaction, Urgency, WorkOrder
from .states import Action

# The endpoint under /api/v1/workorders/{id}/ that performs each action a person may take.
ACTION_ENDPOINTS = {
    Action.ANSWER_DIRECTLY: "answer",
    Action.DISPATCH: "dispatch",
    Action.SIGN: "sign",
    Action.RECORD_PROGRESS: "progress",
    Action.REQUEST_RETURN: "return",
    Action.APPROVE_RETURN: "return-decision",
    Action.REJECT_RETURN: "return-decision",
    Action.REQUEST_EXTENSION: "extension",
    Action.APPROVE_EXTENSION: "extension-decision",
    Action.REFUSE_EXTENSION: "extension-decision",
    Action.REPLY: "reply",
    Action.APPROVE_REPLY: "review",
    Action.REJECT_REPLY: "review",
    Action.FOLLOW_UP: "follow-up",
    Action.REOPEN: "reopen",
    Action.ARCHIVE: "archive",
    Action.ESCALATE: "escalate",
    Action.MERGE: "merge",
    Action.LINK: "link",
    Action.UNLINK: "unlink",
}


# --- input: reference data by code ---------------------------------------------

class CodeField(serializers.SlugRelatedField):
    """A reference object named by its code, with a message that says which code is unknown."""

    def __init__(self, noun: str, **kwargs):
        kwargs.setdefault("slug_field", "code")
        kwargs.setdefault("error_messages", {
            "does_not_exist": f"{noun}代码「{{value}}」不存在",
            "invalid": f"{noun}代码格式无效",
        })
        super().__init__(**kwargs)


class CachedCodeField(CodeField):
    """A CodeField that asks the per-process reference cache first (see :mod:`.refcache`)."""

    table: refcache.ReferenceTable  # a class attribute: field kwargs are deep-copied, the cache must not be

    def __init__(self, noun: str, **kwargs):
        super().__init__(noun, queryset=self.table.queryset, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            return super().to_internal_value(data)  # numbers and bad types as before
        row = self.table.get(data, lambda rows: rows.filter(code=data).first())
        if row is None:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return row


class CategoryField(CachedCodeField):
    table = refcache.categories


class CommitteeField(CachedCodeField):
    table = refcache.committees


class StreetField(CachedCodeField):
    """A street by its statistics code (310109010) or its name, with or without 街道 (曲阳路, 曲阳路街道)."""

    table = refcache.streets

    def __init__(self, **kwargs):
        kwargs.setdefault("error_messages", {"does_not_exist": "街道「{value}」不存在（可填代码或名称）",
                                             "invalid": "街道格式无效"})
        super().__init__("街道", **kwargs)

    def to_internal_value(self, data):
        value = str(data).strip()
        names = {value, value.removesuffix("街道")}
        street = self.table.get(value, lambda rows: rows.filter(Q(code=value) | Q(name__in=names)).first())
        if street is None:
            self.fail("does_not_exist", slug_name=self.slug_field, value=value)
        return street


class IntakeSerializer(FieldsBuiltOnce, serializers.Serializer):
    """A new appeal. ``street`` takes a code or a name; the other references take codes."""

    title = serializers.CharField(max_length=200)
    content = serializers.CharField(max_length=20000)
    appeal_type = serializers.ChoiceField(AppealType.choices, default=AppealType.REQUEST)
    urgency = serializers.ChoiceField(Urgency.choices, default=Urgency.NORMAL)
    category = CategoryField("分类", required=False, allow_null=True)
    street = StreetField(required=False, allow_null=True)
    committee = CommitteeField("居委", required=False, allow_null=True)
    address = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    latitude = serializers.DecimalField(max_digits=None, decimal_places=None, required=False, allow_null=True)
    longitude = serializers.DecimalField(max_digits=None, decimal_places=None, required=False, allow_null=True)
    appellant_name = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    appellant_phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    external_ref = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    channel = serializers.ChoiceField(Channel.choices, default=Channel.API)
    city_number = serializers.CharField(max_length=40, required=False, allow_null=True,
                                        help_text="市级工单编号（channel=city 时必填）")
    city_deadline = serializers.DateTimeField(required=False, allow_null=True,
                                              help_text="市级办结时限（channel=city 时必填）")
    direct_answer = serializers.CharField(required=False, allow_null=True,
                                          help_text="直办答复：咨询类诉求登记即办结")
    idempotency_key = serializers.CharField(max_length=180, required=False, allow_blank=True,
                                            help_text="也可用请求头 Idempotency-Key 传入（请求头优先）")

    INTAKE_FIELDS = ("title", "content", "appeal_type", "urgency", "category", "street", "committee", "address",
                     "latitude", "longitude", "appellant_name", "appellant_phone", "external_ref")

    def to_intake(self) -> services.Intake:
        data = self.validated_data
        return services.Intake(**{name: data.get(name) for name in self.INTAKE_FIELDS if name in data})


# --- input: one serializer per action -------------------------------------------

class DispatchInput(serializers.Serializer):
    lead_unit = CodeField("单位", queryset=Unit.objects.all(), required=False, allow_null=True,
                          help_text="主办单位代码；不填则按派单规则")
    co_units = CodeField("单位", queryset=Unit.objects.all(), many=True, required=False,
                         help_text="协办单位代码列表")
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class NoteInput(serializers.Serializer):
    note = serializers.CharField()


class ReturnInput(serializers.Serializer):
    reason_code = serializers.ChoiceField(ReturnReason.choices)
    reason = serializers.CharField()
    suggested_unit = CodeField("单位", queryset=Unit.objects.all(), required=False, allow_null=True)


class DecisionInput(serializers.Serializer):
    approve = serializers.BooleanField()
    note = serializers.CharField(required=False, allow_blank=True, default="",
                                 help_text="驳回、拒绝或退回时必填")


class ExtensionInput(serializers.Serializer):
    hours = serializers.DecimalField(max_digits=7, decimal_places=2, help_text="延期时长（工作小时）")
    reason = serializers.CharField()


class ReplyInput(serializers.Serializer):
    text = serializers.CharField()


class FollowUpInput(serializers.Serializer):
    satisfaction = serializers.ChoiceField(Satisfaction.choices)
    resolved = serializers.BooleanField()
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField()


class MergeInput(serializers.Serializer):
    master = serializers.CharField(help_text="主工单的 id 或工单编号")
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class LinkInput(MergeInput):
    """关联: the order stays open and counts as a repeat call of the master (its root, if it is one itself)."""


class AnswerInput(serializers.Serializer):
    answer = serializers.CharField()


# --- output ---------------------------------------------------------------------

class ErrorSerializer(serializers.Serializer):
    """The body of every 4xx answer."""

    code = serializers.CharField(help_text="稳定的错误代码，如 invalid、forbidden、illegal_transition、not_found")
    detail = serializers.CharField()
    field = serializers.CharField(required=False)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


class PersonalDataSerializer(FieldsBuiltOnce, serializers.Serializer):
    """The appellant's data, in clear or masked depending on the asking user's role."""

    appellant_name = serializers.CharField()
    appellant_phone = serializers.CharField()
    address = serializers.CharField()
    masked = serializers.BooleanField()

    def to_representation(self, order):
        return selectors.personal_data(self.context["request"].user, order)


class AssignmentSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    unit = UnitRefSerializer(read_only=True)
    role_label = ChoiceLabelField("role")

    class Meta:
        model = Assignment
        fields = ["unit", "role", "role_label", "dispatched_at", "signed_at", "opinion"]


class AllowedActionSerializer(serializers.Serializer):
    action = serializers.CharField()
    label = serializers.CharField()
    endpoint = serializers.CharField(help_text="POST /api/v1/workorders/{id}/{endpoint}/")


class WorkOrderSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    """A work order as lists show it. Expects the queryset of ``selectors.order_list``."""

    status_label = ChoiceLabelField("status")
    channel_label = ChoiceLabelField("channel")
    appeal_type_label = ChoiceLabelField("appeal_type")
    urgency_label = ChoiceLabelField("urgency")
    sla_state_label = ChoiceLabelField("sla_state")
    category = CategoryRefSerializer(read_only=True)
    street = StreetSerializer(read_only=True)
    committee = CommitteeRefSerializer(read_only=True)
    lead_unit = UnitRefSerializer(read_only=True)
    assignments = AssignmentSerializer(source="active_assignments", many=True, read_only=True)
    personal_data = PersonalDataSerializer(source="*", read_only=True)

    class Meta:
        model = WorkOrder
        fields = [
            "id", "number", "title", "status", "status_label", "channel", "channel_label",
            "appeal_type", "appeal_type_label", "urgency", "urgency_label", "category", "street", "committee",
            "lead_unit", "assignments", "personal_data",
            "sla_state", "sla_state_label", "sign_overdue", "sign_deadline", "handle_deadline", "yellow_at",
            "city_deadline", "created_at", "dispatched_at", "signed_at", "replied_at", "closed_at",
            "repeat_count",
        ]


class WorkOrderDetailSerializer(WorkOrderSerializer):
    """One work order with its content, outcome and the actions the asking user may take now."""

    master = serializers.SlugRelatedField(slug_field="number", read_only=True)
    satisfaction_label = ChoiceLabelField("satisfaction")
    allowed_actions = serializers.SerializerMethodField()

    class Meta(WorkOrderSerializer.Meta):
        fields = WorkOrderSerializer.Meta.fields + [
            "content", "latitude", "longitude", "city_number", "external_ref", "master",
            "extension_hours", "reply", "direct_answer", "satisfaction", "satisfaction_label", "resolved",
            "reopen_count", "escalation_count", "updated_at", "allowed_actions",
        ]

    @extend_schema_field(AllowedActionSerializer(many=True))
    def get_allowed_actions(self, order) -> list[dict]:
        actions = selectors.available_actions(self.context["request"].user, order)
        return [{"action": a, "label": Action(a).label, "endpoint": ACTION_ENDPOINTS[a]} for a in actions]


class EventSerializer(serializers.ModelSerializer):
    action_label = ChoiceLabelField("action")
    from_status_label = ChoiceLabelField("from_status")
    to_status_label = ChoiceLabelField("to_status")
    actor = serializers.SerializerMethodField()
    unit = UnitRefSerializer(read_only=True)

    class Meta:
        model = Event
        fields = ["id", "action", "action_label", "from_status", "from_status_label", "to_status",
                  "to_status_label", "actor", "unit", "reason", "data", "created_at"]

    def get_actor(self, event) -> str | None:
        return str(event.actor) if event.actor_id else None
