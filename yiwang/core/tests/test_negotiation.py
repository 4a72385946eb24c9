"""The API's content negotiation chooses as DRF's does, without building every header of the request."""

from __future__ import annotations

import json

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.http import Http404
from django.http import request as django_request
from django.test import RequestFactory
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request

from yiwang.accounts.services import create_api_key
from yiwang.core.negotiation import ContentNegotiation
from yiwang.core.tests.test_release_request import call
from yiwang.org.models import Category, Street

ACCEPTS = [
    None, "*/*", "application/json", "text/html", "application/json; indent=4", "image/png",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "application/json, " * 400,
]


def _choice(negotiator, accept: str | None, query: str = ""):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(RequestFactory().get(f"/api/v1/workorders/{query}", **headers))
    try:
        renderer, media_type = negotiator.select_renderer(request, [JSONRenderer(), BrowsableAPIRenderer()])
    except NotAcceptable as exc:
        return "refused", str(exc.detail), request
    except Http404:
        return "no such format", None, request
    return type(renderer), media_type, request


@pytest.mark.parametrize("query", ["", "?format=json", "?format=api", "?format=xml"])
@pytest.mark.parametrize("accept", ACCEPTS)
def test_the_renderer_chosen_is_drfs(accept, query):
    drf = _choice(DefaultContentNegotiation(), accept, query)
    ours = _choice(ContentNegotiation(), accept, query)
    assert ours[:2] == drf[:2]
    assert "headers" not in vars(ours[2]._request)  # Django's HttpHeaders never built


# Outside a test transaction, as requests run through the WSGI handler: at the end of
# each, Django closes a connection it finds inside a transaction.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_api_intake_builds_no_header_dict(world, monkeypatch):
    _, raw = create_api_key(name="negotiation", username=world.operator.username)
    street = Street.objects.order_by("code").values_list("code", flat=True).first()
    category = Category.objects.filter(level=3, active=True).order_by("code").values_list("code", flat=True).first()
    built = []
    original = django_request.HttpHeaders.__init__

    def counting(self, environ):
        built.append(environ.get("PATH_INFO"))
        original(self, environ)

    monkeypatch.setattr(django_request.HttpHeaders, "__init__", counting)
    body = json.dumps({"title": "夜间施工噪音扰民", "content": "晚上十点以后还在施工。", "street": street,
                       "category": category, "appeal_type": "complaint"}, ensure_ascii=False).encode()
    handler = WSGIHandler()
    for _ in range(2):  # the second is a replay of the first, found by its idempotency key
        status = call(handler, "POST", "/api/v1/workorders/", body, HTTP_X_API_KEY=raw,
                      HTTP_IDEMPOTENCY_KEY="negotiation-1", HTTP_ACCEPT="application/json")
        assert status[:3] in ("201", "200")
    assert status.startswith("200") and built == []
