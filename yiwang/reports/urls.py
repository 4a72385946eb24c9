from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("", views.index, name="index"),
    path("stored/<int:pk>/report.<str:kind>", views.stored_file, name="stored-file"),
    path("<str:week>/", views.week_page, name="week"),
    path("<str:week>/data.json", views.week_data, name="data"),
    path("<str:week>/report.pdf", views.week_pdf, name="pdf"),
    path("<str:week>/report.xlsx", views.week_xlsx, name="xlsx"),
    path("<str:week>/store", views.week_store, name="store"),
]
