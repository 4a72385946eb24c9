from django.urls import path

from . import api, views

app_name = "alerts"

urlpatterns = [
    path("", views.alert_list, name="list"),
    path("<int:pk>/", views.alert_detail, name="detail"),
    path("<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("<int:pk>/dismiss/", views.dismiss, name="dismiss"),
    path("<int:pk>/escalate/", views.escalate, name="escalate"),
    path("api/alerts/", api.AlertList.as_view(), name="api-list"),
    path("api/alerts/<int:pk>/", api.AlertDetail.as_view(), name="api-detail"),
    path("api/alerts/<int:pk>/<str:action>/", api.AlertAct.as_view(), name="api-act"),
]
