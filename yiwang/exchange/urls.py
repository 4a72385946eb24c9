from django.urls import path

from . import views

app_name = "exchange"

urlpatterns = [
    path("orders/export.xlsx", views.export_orders, name="export"),
    path("exports/<int:pk>/", views.export_job_page, name="export-job"),
    path("exports/<int:pk>/status.json", views.export_job_status, name="export-job-status"),
    path("exports/<int:pk>/file.xlsx", views.export_job_file, name="export-file"),
    path("imports/", views.import_page, name="import"),
    path("imports/<int:pk>/", views.import_run_page, name="run"),
    path("imports/<int:pk>/status.json", views.import_run_status, name="run-status"),
    path("imports/<int:pk>/errors.xlsx", views.import_run_errors, name="run-errors"),
]
