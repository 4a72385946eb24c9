"""``GET /api/v1/workorders/export.xlsx``: the REST list's filters, as a spreadsheet."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.exceptions import ValidationError

from yiwang.workorders import selectors
from yiwang.workorders.filtersets import WorkOrderFilterSet
from yiwang.workorders.models import WorkOrder

from . import export
from .views import export_response


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
        return response
