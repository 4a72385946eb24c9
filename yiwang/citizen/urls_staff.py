"""The staff side of the citizen app: photos behind sign-in and the order's access rules."""

from django.urls import path

from . import views

app_name = "attachments"

urlpatterns = [
    path("<int:pk>/", views.attachment, name="show"),
]
