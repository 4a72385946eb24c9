"""``GET /api/v1/workorders/export.xlsx``: the REST list's filters, as a spreadsheet."""

from __future__ import annotations

from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from yiwang.workorders import selectors
from yiwang.workorders.filtersets import WorkOrderFilterSet
from yiwang.workorders.models import WorkOrder

from . import export
from .models import ExportJob
from .views import XLSX, export_response


class ExportJobSerializer(serializers.ModelSerializer):
    """A background export; it and its file are for the user who asked for it only."""

    status_url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField(help_text="完成后可下载；之前为 null")
    page_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = ["id", "status", "rows_total", "rows_written", "message", "status_url", "download_url", "page_url"]

    def _url(self, name: str, job: ExportJob) -> str:
        return self.context["request"].build_absolute_uri(reverse(name, args=[job.pk]))

    def get_status_url(self, job: ExportJob) -> str:
        return self._url("api-export-job", job)

    def get_download_url(self, job: ExportJob) -> str | None:
        return self._url("api-export-file", job) if job.status == ExportJob.Status.DONE else None

    def get_page_url(self, job: ExportJob) -> str:
        return self._url("exchange:export-job", job)


class OwnExportJobMixin:
    queryset = ExportJob.objects.none()  # the real one depends on the user: see get_queryset
    pagination_class = None
    filter_backends = []

    def get_queryset(self):
        return ExportJob.objects.filter(created_by=self.request.user)


@extend_schema(summary="后台导出任务的进度（仅限本人）",
               responses={200: ExportJobSerializer, 404: OpenApiResponse(description="不存在或非本人的任务")})
class ExportJobView(OwnExportJobMixin, generics.RetrieveAPIView):
    serializer_class = ExportJobSerializer


class ExportJobFileView(OwnExportJobMixin, generics.GenericAPIView):
    serializer_class = ExportJobSerializer

    @extend_schema(
        summary="下载后台导出的 Excel 文件（仅限本人）",
        responses={
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description="不存在、非本人的任务，或文件尚未生成"),
        },
    )
    def get(self, request, *args, **kwargs):
        job = self.get_object()
        if job.status != ExportJob.Status.DONE or not job.file:
            raise NotFound("导出文件尚未生成")
        return FileResponse(job.file.open("rb"), as_attachment=True, filename=job.file_name, content_type=XLSX)


class OrderExportView(generics.GenericAPIView):
    queryset = WorkOrder.objects.none()  # the real one depends on the user: see get_queryset
    filterset_class = WorkOrderFilterSet
    pagination_class = None

    def get_queryset(self):
        return selectors.order_list(self.request.user)

    @extend_schema(
        summary="导出工单列表为 Excel（筛选条件同工单列表；个人信息按当前用户权限脱敏）",
        responses={
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiTypes.BINARY,
            202: OpenApiResponse(ExportJobSerializer, description=(
                f"超过 {export.SYNC_MAX_ROWS:,} 条：已转入后台导出，按 status_url 查询进度，完成后从 download_url 下载"
                "（仅限本人）")),
            400: OpenApiResponse(description="筛选条件有误，或结果超过上限"),
        },
    )
    def get(self, request, *args, **kwargs):
        # The filter backend raises a 400 with field messages for bad filters, as the list does.
        filterset = WorkOrderFilterSet(request.query_params, queryset=self.get_queryset(), request=request)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        response = export_response(request, filterset)
        if response is None:
            raise ValidationError({"detail": f"符合条件的工单超过 {export.MAX_ROWS:,} 条，请缩小筛选范围后再导出"})
        if isinstance(response, ExportJob):
            return Response(ExportJobSerializer(response, context={"request": request}).data,
                            status=status.HTTP_202_ACCEPTED)
        return response
