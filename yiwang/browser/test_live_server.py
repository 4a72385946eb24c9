"""The browser tests' live server under concurrent requests, as the dashboard makes them."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.request import Request, urlopen

from django.conf import settings
from django.core.servers.basehttp import WSGIRequestHandler
from django.test import Client

from yiwang.demo import factories
from yiwang.kpi import facts
from yiwang.workorders import services

from .conftest import SerializedWSGIServer

PANELS = ("volumes", "rates", "categories", "streets", "overdue", "map")


def _overlap_of(server_kwargs: dict) -> int:
    """The most application calls that ran at once while 6 requests arrived together."""
    running, most, lock = 0, 0, threading.Lock()

    def app(environ, start_response):
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    server = SerializedWSGIServer(("127.0.0.1", 0), WSGIRequestHandler, **server_kwargs)
    server.set_app(app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            bodies = list(pool.map(lambda _: urlopen(url, timeout=10).read(), range(6)))
    finally:
        server.shutdown()
        server.server_close()
    assert bodies == [b"ok"] * 6
    return most


class _SharedConnection:
    """Stands in for the test thread's connection that every request thread borrows."""

    def close(self):
        pass


def test_shared_connection_means_one_request_at_a_time():
    """Concurrent requests on one shared sqlite3 connection can deadlock the process."""
    assert _overlap_of({"connections_override": {"default": _SharedConnection()}}) == 1
    assert _overlap_of({}) > 1


def test_concurrent_dashboard_panels_answer(live_server, django_db_serialized_rollback, world):
    for _ in range(3):
        order = factories.make_order(world.operator, channel="web")
        services.dispatch(order, actor=world.dispatcher)
    facts.refresh_recent()
    client = Client()
    client.force_login(world.supervisor)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"

    def get(name: str) -> int:
        request = Request(f"{live_server.url}/dashboard/panels/{name}.json", headers={"Cookie": cookie})
        with urlopen(request, timeout=30) as response:
            response.read()
            return response.status

    with ThreadPoolExecutor(max_workers=len(PANELS)) as pool:
        statuses = list(pool.map(get, PANELS * 5))
    assert statuses == [200] * len(PANELS) * 5
