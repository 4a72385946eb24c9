from django.contrib import admin
from django.urls import include, path

from yiwang.exchange.api import ExportJobFileView, ExportJobView, OrderExportView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    # Before the API root: its router would read "export.xlsx" as order "export" in format "xlsx".
    path("api/v1/workorders/export.xlsx", OrderExportView.as_view(), name="api-workorders-export"),
    path("api/v1/exports/<int:pk>/", ExportJobView.as_view(), name="api-export-job"),
    path("api/v1/exports/<int:pk>/file.xlsx", ExportJobFileView.as_view(), name="api-export-file"),
    path("api/v1/", include("yiwang.api")),
    path("open311/v2/", include("yiwang.open311.urls")),
    path("dispatch/", include("yiwang.smartdispatch.urls")),
    path("reports/", include("yiwang.reports.urls")),
    path("alerts/", include("yiwang.alerts.urls")),
    path("kpi/", include("yiwang.kpi.urls")),
    path("dashboard/", include("yiwang.kpi.urls_dashboard")),
    path("clusters/", include("yiwang.clusters.urls")),
    path("public/spaces/", include("yiwang.spaces.urls_public")),
    path("public/", include("yiwang.citizen.urls")),
    path("spaces/", include("yiwang.spaces.urls")),
    path("inspections/", include("yiwang.inspections.urls")),
    path("attachments/", include("yiwang.citizen.urls_staff")),
    path("", include("yiwang.exchange.urls")),
    path("", include("yiwang.workorders.urls")),
]
