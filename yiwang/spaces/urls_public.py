"""The public site-code page (no sign-in): what a phone opens after scanning a space's QR code."""

from django.urls import path

from . import views

app_name = "spaces_public"

urlpatterns = [
    path("<str:code>/", views.public_space, name="space"),
]
