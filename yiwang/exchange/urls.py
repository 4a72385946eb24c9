from django.urls import path

from . import views

app_name = "exchange"

urlpatterns = [
    path("orders/export.xlsx", views.export_orders, name="export"),
    path("imports/", views.import_page, name="import"),
    path("imports/<int:pk>/", views.import_run_page, name="run"),
    path("imports/<int:pk>/status.json", views.import_run_status, name="run-status"),
    path("imports/<int:pk>/errors.xlsx", views.import_run_errors, name="run-errors"),
]
