"""REST endpoints of inspections: list and read inspections and rectifications within the
caller's scope, submit a filled checklist as JSON, verify (复查) a rectification.

The same services and selectors as the pages; coded errors become 4xx in ``yiwang.core.api``.
Photos are handed in through the pages (multipart); the JSON API carries answers only.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from yiwang.core.errors import Invalid
from yiwang.spaces.access import visible_spaces

from . import rules, selectors, services
from .models import ChecklistVersion, Inspection, Rectification


class InspectionSerializer(serializers.ModelSerializer):
    space = serializers.CharField(source="space.code", read_only=True)
    # A plain string: an enum named after "kind" would collide with the organisation's unit kinds.
    kind = serializers.CharField(read_only=True, help_text="self=自查，spot=抽查")
    form_id = serializers.CharField(source="version.form.form_id", read_only=True)
    version_number = serializers.IntegerField(source="version.number", read_only=True)

    class Meta:
        model = Inspection
        fields = ["id", "space", "kind", "form_id", "version", "version_number", "inspected_on", "submitted_at",
                  "score", "colour", "passed", "vetoed", "failed_count", "overrules", "overrule_reason", "answers",
                  "extra"]
        read_only_fields = fields


class ItemAnswerInput(serializers.Serializer):
    answer = serializers.ChoiceField(choices=["pass", "fail", "na"])
    note = serializers.CharField(required=False, allow_blank=True, max_length=services.MAX_NOTE, default="")


class InspectionSubmitInput(serializers.Serializer):
    space = serializers.CharField(help_text="空间编码")
    version = serializers.IntegerField(help_text="检查表版本 id（GET 表单时得到）")
    answers = serializers.DictField(child=ItemAnswerInput(), help_text="检查项编号 → {answer, note}")
    extra = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, default=dict)
    overrules = serializers.IntegerField(required=False, allow_null=True, help_text="抽查推翻的自查 id")
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class RectificationSerializer(serializers.ModelSerializer):
    space = serializers.CharField(source="space.code", read_only=True)

    class Meta:
        model = Rectification
        fields = ["id", "space", "inspection", "item", "item_label", "section", "critical", "legal_basis", "problem",
                  "status", "deadline", "overdue", "fix_note", "submitted_at", "verified_at"]
        read_only_fields = fields


class RectificationVerifyInput(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["accept", "reject"])
    note = serializers.CharField(required=False, allow_blank=True, default="")


@extend_schema_view(
    list=extend_schema(summary="检查记录（当前用户可见的空间）"),
    retrieve=extend_schema(summary="检查记录详情"),
    create=extend_schema(summary="提交自查或抽查（服务器计分）", request=InspectionSubmitInput,
                         responses={201: InspectionSerializer, 400: OpenApiResponse(description="输入有误"),
                                    403: OpenApiResponse(description="无权检查该空间")}),
)
class InspectionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                        viewsets.GenericViewSet):
    queryset = Inspection.objects.none()
    serializer_class = InspectionSerializer

    def get_queryset(self):
        p = self.request.query_params
        return selectors.inspection_list(self.request.user, kind=p.get("kind", ""), colour=p.get("colour", ""),
                                         street=p.get("street", ""), space=p.get("space", ""))

    def create(self, request, *args, **kwargs):
        data = InspectionSubmitInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        space = get_object_or_404(visible_spaces(request.user), code=v["space"])
        kind = Inspection.Kind.SELF if rules.can_self_inspect(request.user, space) else Inspection.Kind.SPOT
        version = ChecklistVersion.objects.filter(pk=v["version"]).select_related("form").first()
        if version is None:
            raise Invalid("检查表版本不存在", field="version")
        target = None
        if v.get("overrules"):
            target = get_object_or_404(Inspection, pk=v["overrules"], space=space)
        submission = services.Submission(
            answers={k: a["answer"] for k, a in v["answers"].items()},
            notes={k: a["note"] for k, a in v["answers"].items()}, extra=v["extra"])
        inspection = services.submit_inspection(space, version, submission, actor=request.user, kind=kind,
                                                overrules=target, reason=v["reason"], request=request)
        return Response(InspectionSerializer(inspection).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="整改任务（当前用户可见的空间；status、overdue=1 筛选）"),
    retrieve=extend_schema(summary="整改任务详情"),
)
class RectificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Rectification.objects.none()
    serializer_class = RectificationSerializer

    def get_queryset(self):
        p = self.request.query_params
        return selectors.rectification_list(self.request.user, status=p.get("status", ""),
                                            overdue=p.get("overdue") == "1", street=p.get("street", ""),
                                            space=p.get("space", ""))

    @extend_schema(summary="复查：通过（销项）或退回", request=RectificationVerifyInput,
                   responses={200: RectificationSerializer, 403: OpenApiResponse(description="无权复查"),
                              409: OpenApiResponse(description="当前状态不能复查")})
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        rect = self.get_object()
        data = RectificationVerifyInput(data=request.data)
        data.is_valid(raise_exception=True)
        rect = services.verify_fix(rect, actor=request.user, accept=data.validated_data["decision"] == "accept",
                                   note=data.validated_data["note"], request=request)
        return Response(RectificationSerializer(rect).data)


def register_routes(router):
    router.register("inspections", InspectionViewSet, basename="inspection")
    router.register("rectifications", RectificationViewSet, basename="rectification")
