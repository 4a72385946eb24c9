from django.urls import path

from . import views

app_name = "citizen"

urlpatterns = [
    path("", views.index, name="index"),
    path("appeal/", views.appeal_new, name="appeal"),
    path("receipt/", views.receipt, name="receipt"),
    path("follow/", views.follow, name="follow"),
    path("follow/<str:number>/", views.progress, name="progress"),
    path("follow/<str:number>/rate/", views.rate, name="rate"),
]
