from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", include("yiwang.api")),
    path("open311/v2/", include("yiwang.open311.urls")),
    path("public/", include("yiwang.citizen.urls")),
    path("attachments/", include("yiwang.citizen.urls_staff")),
    path("", include("yiwang.workorders.urls")),
]
