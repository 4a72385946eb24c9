from django.urls import path

from . import views

app_name = "dashboard"

urlpatterns = [
    path("", views.dashboard_page, name="page"),
    path("panels/<slug:name>.json", views.dashboard_panel, name="panel"),
]
