"""A request's objects are freed when the server closes its response, not left to the collector.

Called through Django's WSGI handler as the web server calls it (the test client keeps
objects of its own in reference cycles), with the collector stopped and told to keep
what it finds: what a request leaves for it shows up in ``gc.garbage``.
"""

from __future__ import annotations

import gc
import io
import json
import sys
from collections import Counter

import pytest
from django.core.handlers.wsgi import WSGIHandler

from yiwang.accounts.services import create_api_key
from yiwang.org.models import Category, Street

# Outside a test transaction, as requests run: the API key is then read once and kept
# (accounts.models), as in production, rather than queried on every request.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def call(handler: WSGIHandler, method: str, path: str, body: bytes = b"", **headers) -> str:
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "testserver",
        "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "testserver", "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, **headers,
    }
    status = []
    response = handler(environ, lambda s, h, exc_info=None: status.append(s))
    b"".join(response)
    response.close()  # PEP 3333: the server's last call
    return status[0]


def left_for_the_collector(request) -> Counter:
    """Types of the objects ``request()`` leaves in reference cycles."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        request()
        gc.collect()
        return Counter(type(o).__qualname__ for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def test_an_api_intake_leaves_nothing_for_the_collector(world):
    _, raw = create_api_key(name="gc", username=world.operator.username)
    handler = WSGIHandler()
    street = Street.objects.order_by("code").values_list("code", flat=True).first()
    category = Category.objects.filter(level=3, active=True).order_by("code").values_list("code", flat=True).first()
    n = iter(range(100))

    def intake():
        i = next(n)
        body = json.dumps({"title": f"夜间施工噪音扰民 {i}", "content": "晚上十点以后还在施工。", "street": street,
                           "category": category, "appeal_type": "complaint", "appellant_name": "张先生",
                           "appellant_phone": "13800000000"}, ensure_ascii=False).encode()
        status = call(handler, "POST", "/api/v1/workorders/", body, HTTP_X_API_KEY=raw,
                      HTTP_IDEMPOTENCY_KEY=f"gc-{i}")
        assert status.startswith("201"), status

    intake()  # the first request loads what every later one shares
    assert left_for_the_collector(intake) == Counter()


def test_a_page_request_is_not_in_a_cycle_of_its_own():
    """Django's own: ``request.auser`` is a partial of the request, its message storage holds it.

    A page's template context still makes cycles of Django's template engine, which
    reach the request, so what is checked is that none of the request's own are left.
    """
    handler = WSGIHandler()

    def page():
        assert call(handler, "GET", "/public/").startswith("200")

    page()
    left = left_for_the_collector(page)
    assert not left.keys() & {"partial", "FallbackStorage", "CookieStorage", "SessionStorage"}, left
