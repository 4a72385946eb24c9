"""A URLconf under ``i18n_patterns``, for the locale middleware's tests (ours have none)."""

from django.conf.urls.i18n import i18n_patterns
from django.http import HttpResponse
from django.urls import path

urlpatterns = i18n_patterns(path("public/", lambda request: HttpResponse(request.LANGUAGE_CODE)))
