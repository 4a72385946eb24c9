"""GeoReport v2 routes; the format is the path's extension (``services.xml``, ``requests.json``)."""

from django.urls import re_path

from . import views

app_name = "open311"

FMT = r"(?P<fmt>[^./]+)"

urlpatterns = [
    re_path(rf"^discovery\.{FMT}$", views.discovery, name="discovery"),
    re_path(rf"^services\.{FMT}$", views.service_list, name="services"),
    # The spec writes both "services/{code}" and "service/{code}"; clients use either.
    re_path(rf"^services/(?P<code>[^/]+)\.{FMT}$", views.service_definition, name="service-definition"),
    re_path(rf"^service/(?P<code>[^/]+)\.{FMT}$", views.service_definition, name="service-definition-singular"),
    re_path(rf"^requests\.{FMT}$", views.request_collection, name="requests"),
    re_path(rf"^requests/(?P<number>[^/]+)\.{FMT}$", views.request_detail, name="request"),
    re_path(r"^(?P<path>.*)$", views.not_found),
]
