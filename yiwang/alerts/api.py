"""REST endpoints of the alerts, beside the pages and calling the same selectors and services.

    GET  /alerts/api/alerts/?status=open&kind=street   open first, newest first (paginated)
    GET  /alerts/api/alerts/{id}/                      one alert with its orders and evidence
    POST /alerts/api/alerts/{id}/{acknowledge|dismiss|escalate}/   body {"note": "..."}
"""

from __future__ import annotations

from django.db.models import Prefetch
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from yiwang.accounts import roles

from . import selectors, services
from .models import Alert, AlertOrder, AlertStatus, Kind

LINKS = Prefetch("links", queryset=AlertOrder.objects.only("id", "alert_id", "order_id"))


class AlertSerializer(serializers.ModelSerializer):
    # A plain string in the schema: an enum named "kind" would collide with the units' kinds.
    kind = serializers.CharField(read_only=True, help_text="street（街道）| category（分类）| topic（话题）")
    reason = serializers.SerializerMethodField()
    order_ids = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = ["id", "kind", "key", "label", "status", "ongoing", "raised_at", "updated_at", "first_order_at",
                  "last_order_at", "window_hours", "observed", "expected", "daily_rate", "baseline_days", "workday",
                  "p_value", "callers", "reason", "order_ids", "handled_at", "handling_note"]

    def get_reason(self, alert: Alert) -> str:
        return services.reason(alert, alert.label)

    def get_order_ids(self, alert: Alert) -> list[int]:
        # From the prefetched links: one query for the whole page, not one per alert.
        return sorted(link.order_id for link in alert.links.all())


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=services.NOTE_MAX, default="")


def _require(user, allowed) -> None:
    if not (user.is_superuser or user.role in allowed):
        raise PermissionDenied("当前角色无权访问突发预警")


class AlertList(generics.ListAPIView):
    serializer_class = AlertSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI generator has no user
            return Alert.objects.none()
        _require(self.request.user, roles.CAN_SEE_ALERTS)
        status, kind = self.request.query_params.get("status"), self.request.query_params.get("kind")
        errors = {}
        if status and status not in AlertStatus.values:
            errors["status"] = [f"状态「{status}」不存在"]
        if kind and kind not in Kind.values:
            errors["kind"] = [f"类型「{kind}」不存在"]
        if errors:
            raise ValidationError(errors)
        return selectors.alert_list(status=status, kind=kind).prefetch_related(LINKS)


class AlertDetail(generics.RetrieveAPIView):
    serializer_class = AlertSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Alert.objects.none()
        _require(self.request.user, roles.CAN_SEE_ALERTS)
        return Alert.objects.prefetch_related(LINKS)


class AlertAct(APIView):
    serializer_class = NoteSerializer
    actions = {"acknowledge": services.acknowledge, "dismiss": services.dismiss, "escalate": services.escalate}

    def post(self, request, pk: int, action: str):
        _require(request.user, roles.CAN_HANDLE_ALERTS)
        if action not in self.actions:
            raise NotFound(f"没有「{action}」这一处置")
        body = NoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        alert = generics.get_object_or_404(Alert, pk=pk)
        alert = self.actions[action](alert, actor=request.user, note=body.validated_data["note"], request=request)
        return Response(AlertSerializer(alert).data)
