"""The REST API root: each app registers its routes here; OpenAPI at /api/v1/openapi.json."""

from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from yiwang.inspections.api import register_routes as register_inspections
from yiwang.org.api import register_routes as register_org
from yiwang.workorders.api import register_routes as register_workorders

router = DefaultRouter()
register_org(router)
register_workorders(router)
register_inspections(router)

urlpatterns = [
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="openapi"), name="api-docs"),
    path("", include("yiwang.accounts.api")),
    path("", include(router.urls)),
]
