"""REST endpoints for work orders: list, detail, intake, one POST per lifecycle action, the timeline.

Views translate HTTP to service calls and back; every rule is in :mod:`services`
(whose coded errors become 400/403/409 in ``yiwang.core.api``) and every read is
scoped by :mod:`selectors`, so an order outside the user's scope is a 404.
"""

from __future__ import annotations

from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from yiwang.core.api import KeptInput, Representer
from yiwang.core.audit import audit_personal_data_view
from yiwang.core.errors import Invalid

from . import selectors, services
from .filtersets import WorkOrderFilterSet
from .models import Event, WorkOrder
from .pagination import OrderListPagination
from .serializers import (
    AnswerInput, DecisionInput, DispatchInput, ErrorSerializer, EventSerializer, ExtensionInput, FollowUpInput,
    IntakeSerializer, LinkInput, MergeInput, NoteInput, ReasonInput, ReplyInput, ReturnInput, WorkOrderDetailSerializer,
    WorkOrderSerializer,
)

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="输入有误：errors 按字段列出原因"),
    403: OpenApiResponse(ErrorSerializer, description="当前用户无权执行该操作"),
    404: OpenApiResponse(ErrorSerializer, description="工单不存在或不在当前用户的可见范围内"),
}
ACTION_RESPONSES = {
    200: OpenApiResponse(WorkOrderDetailSerializer, description="操作后的工单"),
    **ERRORS,
    409: OpenApiResponse(ErrorSerializer, description="工单当前状态不允许该操作（code=illegal_transition）"),
}
represent_detail = Representer(WorkOrderDetailSerializer)
intake_input = KeptInput(IntakeSerializer)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="同一用户用同一键重试登记时返回第一次建立的工单（HTTP 200），不会重复建单",
)
REPLAYED = OpenApiParameter(
    "Idempotent-Replayed", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200],
    description="为 true 表示本次请求是重试，返回的是已建立的工单",
)


def _action_schema(summary: str, request):
    return extend_schema(summary=summary, request=request, responses=ACTION_RESPONSES)


@extend_schema_view(
    list=extend_schema(summary="工单列表（按当前用户的可见范围）"),
    retrieve=extend_schema(summary="工单详情", responses={200: WorkOrderDetailSerializer, 404: ERRORS[404]}),
)
class WorkOrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = WorkOrder.objects.none()  # the real one depends on the user: see get_queryset
    serializer_class = WorkOrderSerializer
    filterset_class = WorkOrderFilterSet
    pagination_class = OrderListPagination

    def get_queryset(self):
        if self.action in ("list", "retrieve"):
            return selectors.order_list(self.request.user)
        return selectors.visible_orders(self.request.user)

    def get_serializer_class(self):
        return WorkOrderSerializer if self.action == "list" else WorkOrderDetailSerializer

    # --- reads: every unmasked appellant shown is audited, one insert per request ---

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        rows = self.get_serializer(page, many=True).data
        self._audit_shown(page, rows)
        return self.get_paginated_response(rows)

    def retrieve(self, request, *args, **kwargs):
        return self._respond(self.get_object())

    def _respond(self, order: WorkOrder, *, status_code: int = status.HTTP_200_OK, audit: bool = True) -> Response:
        data = represent_detail(order, self.get_serializer_context())
        if audit:
            self._audit_shown([order], [data])
        return Response(data, status=status_code)

    def _audit_shown(self, orders, rows) -> None:
        shown = [order for order, row in zip(orders, rows) if not row["personal_data"]["masked"]]
        audit_personal_data_view(actor=self.request.user, objects=shown, request=self.request,
                                 summary=f"{self.request.method} {self.request.path}")

    def _reload(self, pk: int) -> WorkOrder:
        """The order after a write, with what the detail shows prefetched."""
        order = selectors.order_list(self.request.user).filter(pk=pk).first()
        if order is None:  # the write took it out of the user's scope; show what they just did
            order = WorkOrder.objects.select_related("category", "street", "committee", "lead_unit").get(pk=pk)
            order.active_assignments = list(order.assignments.filter(active=True).select_related("unit"))
        return order

    # --- intake ---

    @extend_schema(
        summary="登记工单（幂等）", request=IntakeSerializer, parameters=[IDEMPOTENCY_KEY, REPLAYED],
        responses={
            201: OpenApiResponse(WorkOrderDetailSerializer, description="新建的工单"),
            200: OpenApiResponse(WorkOrderDetailSerializer, description="重试：返回第一次建立的工单"),
            **ERRORS,
        },
    )
    def create(self, request, *args, **kwargs):
        with intake_input(request.data) as serializer:
            serializer.is_valid(raise_exception=True)
            data, intake = serializer.validated_data, serializer.to_intake()
        # register's own transaction is the only one: a new order writes nothing after it
        # (one commit, no savepoint), and a replay's audit row commits on its own.
        order, created = services.register(
            intake, actor=request.user, channel=data["channel"],
            # From META: reading request.headers would build all of them (core.negotiation).
            idempotency_key=request.META.get("HTTP_IDEMPOTENCY_KEY") or data.get("idempotency_key"),
            city_number=data.get("city_number"), city_deadline=data.get("city_deadline"),
            direct_answer=data.get("direct_answer"),
        )
        if created and data.get("direct_answer") is None:
            # Just written with its references in hand and not dispatched yet: nothing to reload.
            order.active_assignments = []
        else:
            order = self._reload(order.pk)
        # A new order's answer shows the client only the personal data it has just sent
        # (the register event records who wrote it), so it is no disclosure to audit;
        # a replay shows what is stored, which may differ, and is audited.
        response = self._respond(order, status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
                                 audit=not created)
        if not created:
            response["Idempotent-Replayed"] = "true"
        return response

    # --- lifecycle actions ---

    def _act(self, request, input_class, perform) -> Response:
        """Validate the body, call the service on the scoped order, answer with the order as it is now."""
        order = self.get_object()
        data = {}
        if input_class is not None:
            body = input_class(data=request.data)
            body.is_valid(raise_exception=True)
            data = body.validated_data
        perform(order, request.user, data)
        return self._respond(self._reload(order.pk))

    @_action_schema("派单（不指定主办单位时按派单规则）", DispatchInput)
    @action(detail=True, methods=["post"], url_path="dispatch", url_name="dispatch")
    def dispatch_order(self, request, pk=None):
        return self._act(request, DispatchInput, lambda order, user, d: services.dispatch(
            order, actor=user, lead_unit=d.get("lead_unit"), co_units=d.get("co_units", []), reason=d["reason"]))

    @_action_schema("签收（主办单位推进工单；协办单位签收本单位派单）", None)
    @action(detail=True, methods=["post"])
    def sign(self, request, pk=None):
        return self._act(request, None, lambda order, user, d: services.sign(order, actor=user))

    @_action_schema("办理记录（协办单位为协办意见）", NoteInput)
    @action(detail=True, methods=["post"])
    def progress(self, request, pk=None):
        return self._act(request, NoteInput, lambda order, user, d: services.record_progress(
            order, actor=user, note=d["note"]))

    @_action_schema("申请退单", ReturnInput)
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_order(self, request, pk=None):
        return self._act(request, ReturnInput, lambda order, user, d: services.request_return(
            order, actor=user, reason_code=d["reason_code"], reason=d["reason"],
            suggested_unit=d.get("suggested_unit")))

    @_action_schema("退单仲裁", DecisionInput)
    @action(detail=True, methods=["post"], url_path="return-decision", url_name="return-decision")
    def return_decision(self, request, pk=None):
        return self._act(request, DecisionInput, lambda order, user, d: services.decide_return(
            order, actor=user, approve=d["approve"], note=d["note"]))

    @_action_schema("申请延期", ExtensionInput)
    @action(detail=True, methods=["post"])
    def extension(self, request, pk=None):
        return self._act(request, ExtensionInput, lambda order, user, d: services.request_extension(
            order, actor=user, hours=d["hours"], reason=d["reason"]))

    @_action_schema("延期审批", DecisionInput)
    @action(detail=True, methods=["post"], url_path="extension-decision", url_name="extension-decision")
    def extension_decision(self, request, pk=None):
        return self._act(request, DecisionInput, lambda order, user, d: services.decide_extension(
            order, actor=user, approve=d["approve"], note=d["note"]))

    @_action_schema("答复", ReplyInput)
    @action(detail=True, methods=["post"])
    def reply(self, request, pk=None):
        return self._act(request, ReplyInput, lambda order, user, d: services.reply(order, actor=user, text=d["text"]))

    @_action_schema("审核答复", DecisionInput)
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        return self._act(request, DecisionInput, lambda order, user, d: services.review_reply(
            order, actor=user, approve=d["approve"], note=d["note"]))

    @_action_schema("回访", FollowUpInput)
    @action(detail=True, methods=["post"], url_path="follow-up", url_name="follow-up")
    def follow_up(self, request, pk=None):
        return self._act(request, FollowUpInput, lambda order, user, d: services.follow_up(
            order, actor=user, satisfaction=d["satisfaction"], resolved=d["resolved"], note=d["note"]))

    @_action_schema("重办", ReasonInput)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        return self._act(request, ReasonInput, lambda order, user, d: services.reopen(
            order, actor=user, reason=d["reason"]))

    @_action_schema("归档", ReasonInput)
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        return self._act(request, ReasonInput, lambda order, user, d: services.archive(
            order, actor=user, reason=d["reason"]))

    @_action_schema("督办", NoteInput)
    @action(detail=True, methods=["post"])
    def escalate(self, request, pk=None):
        return self._act(request, NoteInput, lambda order, user, d: services.escalate(
            order, actor=user, note=d["note"]))

    @_action_schema("合并到主工单", MergeInput)
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        return self._act(request, MergeInput, lambda order, user, d: services.merge(
            order, actor=user, master=self._master(d["master"]), reason=d["reason"]))

    @_action_schema("关联到主工单（重复来电，工单照常办理）", LinkInput)
    @action(detail=True, methods=["post"])
    def link(self, request, pk=None):
        return self._act(request, LinkInput, lambda order, user, d: services.link(
            order, actor=user, master=self._master(d["master"]), reason=d["reason"]))

    @_action_schema("取消关联（不再计为重复来电）", ReasonInput)
    @action(detail=True, methods=["post"])
    def unlink(self, request, pk=None):
        return self._act(request, ReasonInput, lambda order, user, d: services.unlink(
            order, actor=user, reason=d["reason"]))

    @_action_schema("直办（咨询类当场答复并办结）", AnswerInput)
    @action(detail=True, methods=["post"])
    def answer(self, request, pk=None):
        return self._act(request, AnswerInput, lambda order, user, d: services.answer_directly(
            order, actor=user, answer=d["answer"]))

    def _master(self, ref: str) -> WorkOrder:
        """The merge target by id or number, within what the user may see."""
        ref = ref.strip()
        match = Q(number=ref) | Q(pk=int(ref)) if ref.isdigit() else Q(number=ref)
        master = selectors.visible_orders(self.request.user).filter(match).first()
        if master is None:
            raise Invalid(f"主工单「{ref}」不存在或不在可见范围内", field="master")
        return master

    # --- timeline ---

    @extend_schema(summary="流转记录", responses={200: EventSerializer(many=True), 404: ERRORS[404]})
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def events(self, request, pk=None):
        order = self.get_object()
        events = Event.objects.filter(order=order).select_related("actor", "unit")
        return Response(EventSerializer(events, many=True).data)


def register_routes(router):
    router.register("workorders", WorkOrderViewSet, basename="workorder")
