from django.urls import path

from . import views

app_name = "kpi"

urlpatterns = [
    path("", views.kpi_page, name="kpis"),
    path("data.json", views.kpi_data, name="data"),
    path("export.xlsx", views.kpi_export, name="export"),
]
