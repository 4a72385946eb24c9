from django.urls import path

from . import views

app_name = "spaces"

urlpatterns = [
    path("", views.space_list, name="list"),
    path("new/", views.space_new, name="new"),
    path("import/", views.import_page, name="import"),
    path("import/template.xlsx", views.import_template, name="import_template"),
    path("import/sample.xlsx", views.import_sample, name="import_sample"),
    path("import/errors.xlsx", views.import_errors, name="import_errors"),
    path("sheet.pdf", views.street_sheet, name="sheet"),
    path("<str:code>/", views.space_detail, name="detail"),
    path("<str:code>/edit/", views.space_edit, name="edit"),
    path("<str:code>/qr.svg", views.space_qr, name="qr"),
    path("<str:code>/label.pdf", views.space_label, name="label"),
]
