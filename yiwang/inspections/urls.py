from django.urls import path

from . import views

app_name = "inspections"

urlpatterns = [
    path("", views.home, name="home"),
    path("tasks/", views.tasks, name="tasks"),
    path("spaces/<str:code>/inspect/", views.inspect, name="inspect"),
    path("records/", views.records, name="records"),
    path("records/<int:pk>/", views.record, name="record"),
    path("rectifications/", views.rectifications, name="rectifications"),
    path("rectifications/<int:pk>/", views.rectification, name="rectification"),
    path("rectifications/<int:pk>/submit/", views.rectification_submit, name="rectification-submit"),
    path("rectifications/<int:pk>/verify/", views.rectification_verify, name="rectification-verify"),
    path("evidence/<int:pk>/", views.evidence, name="evidence"),
    path("checklists/", views.checklists, name="checklists"),
    path("checklists/<int:pk>/", views.checklist, name="checklist"),
    path("district/", views.district, name="district"),
    path("district/export.xlsx", views.district_export, name="district-export"),
]
