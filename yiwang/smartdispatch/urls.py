from django.urls import path

from . import views

app_name = "smartdispatch"

urlpatterns = [
    path("analytics/", views.analytics, name="analytics"),
    path("orders/<int:pk>/", views.suggestion, name="suggestion"),
    path("orders/<int:pk>/confirm/", views.confirm, name="confirm"),
    path("orders/<int:pk>/correct/", views.correct, name="correct"),
]
