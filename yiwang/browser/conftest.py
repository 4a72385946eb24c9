"""The browser-test harness: Debian's Chromium, driven by Playwright, against pytest-django's live server.

Use the ``ui`` fixture::

    def test_something(ui, world):
        op = ui.login(world.operator)            # a browser context signed in as that user
        op.goto("/orders/new/", "intake")        # visit a page: screenshot 01-intake.png
        with op.navigation("detail"):            # an action that loads a new page: screenshot
            op.page.keyboard.press("Control+Enter")

Every page a test visits through the harness is screenshotted to
``var/screenshots/<test>/<nn>-<page>.png`` (``var/`` is outside git), so a reviewer can
look at what the browser saw. The browser is the system's ``chromium`` (Debian package;
``scripts/install --test`` adds it when it can), never one downloaded at run time. Without
it the tests are skipped with the reason, except under ``CI=true`` where they fail.

Playwright's sync API refuses to run inside an asyncio event loop, so nothing here may
use pytest-asyncio. The live server runs in a thread and the tests are transactional:
``django_db_serialized_rollback`` restores the reference data (streets, units, categories,
SLA rules from the data migrations) that the flush after each test would otherwise wipe.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import connections
from django.test.testcases import LiveServerThread

from yiwang.demo.factories import DEMO_PASSWORD

CHROMIUM = Path(os.environ.get("YIWANG_CHROMIUM", "/usr/bin/chromium"))
# The flags that keep Chromium quiet and offline in a container (see OFFLINE-KIT.md).
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]
SCREENSHOTS = Path(settings.VAR_DIR) / "screenshots"
VIEWPORT = {"width": 1366, "height": 900}
TIMEOUT_MS = 10_000


class SerializedWSGIServer(ThreadedWSGIServer):
    """The live server, answering one request at a time when it shares a connection.

    On SQLite the test database lives in memory, so every request thread of the live
    server uses the test thread's one connection. Concurrent requests on one sqlite3
    connection can deadlock the whole process: a thread inside ``sqlite3_step`` holds
    the connection's mutex and waits for the GIL to call one of Django's Python SQL
    functions (date truncation, for example), while another thread holds the GIL and
    waits for that mutex to read a row. A page that fetches several panels at once (the
    dashboard) triggers it. Connections stay threaded (the browser keeps them alive);
    only the application runs under a lock, and its response is read inside it.
    """

    def set_app(self, application):
        if not self.connections_override:
            return super().set_app(application)
        lock = threading.Lock()

        def serialized(environ, start_response):
            with lock:
                response = application(environ, start_response)
                try:
                    return [b"".join(response)]
                finally:
                    if hasattr(response, "close"):
                        response.close()

        return super().set_app(serialized)


LiveServerThread.server_class = SerializedWSGIServer


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} not found: install Debian's chromium and fonts-noto-cjk (bash scripts/install --test as root)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium(django_db_setup):
    """One headless Chromium per test module (starting it costs about a second).

    Playwright's sync API keeps an asyncio loop running in this thread while it is open,
    and Django then refuses ORM calls from it ("async context"). The tests and the
    live server's shared SQLite connection are plain synchronous code, so the guard is
    lifted for as long as the browser is open, and restored for the tests that follow.

    With that loop running, Django (through asgiref) also hands this thread fresh
    connection objects; the test database's serialized reference data is carried over
    to them so that serialized rollback can restore it before each test.
    """
    _require_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extra pins it
        if os.environ.get("CI", "").lower() == "true":
            raise
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        serialized = {conn.alias: getattr(conn, "_test_serialized_contents", None) for conn in connections.all()}
        with sync_playwright() as pw:
            for alias, contents in serialized.items():
                if contents is not None:
                    connections[alias]._test_serialized_contents = contents
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _slug(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z_.-]+", "-", text).strip("-") or "page"


class Screenshots:
    """Numbered screenshots of one test, shared by all its browser sessions."""

    def __init__(self, test_name: str):
        self.folder = SCREENSHOTS / _slug(test_name)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def take(self, page, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{_slug(name)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


class Session:
    """One signed-in user in their own browser context (own cookies)."""

    def __init__(self, context, base_url: str, shots: Screenshots, who: str):
        self.context, self.base_url, self.shots, self.who = context, base_url, shots, who
        self.page = context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self._unshot: str | None = None
        self.page.on("framenavigated", self._navigated)

    def _navigated(self, frame) -> None:
        if frame == self.page.main_frame:
            self._unshot = frame.url

    def shoot(self, name: str | None = None) -> Path:
        """Screenshot the current page (named after its path when no name is given)."""
        self._unshot = None
        return self.shots.take(self.page, f"{self.who}-{name or self._name_of(self.page.url)}")

    def flush(self) -> None:
        """Screenshot a page the test reached without naming it (e.g. a redirect it did not wait for)."""
        if self._unshot is not None:
            self.page.wait_for_load_state()
            self.shoot()

    @staticmethod
    def _name_of(url: str) -> str:
        return _slug(urlsplit(url).path.strip("/").replace("/", "-")) or "home"

    def goto(self, path: str, name: str | None = None):
        self.flush()
        response = self.page.goto(self.base_url + path)
        assert response is not None and response.ok, f"GET {path}: HTTP {response and response.status}"
        self.shoot(name)
        return response

    @contextmanager
    def navigation(self, name: str | None = None):
        """Wrap an action that loads a new page; the new page is screenshotted."""
        self.flush()
        with self.page.expect_navigation():
            yield
        self.page.wait_for_load_state()
        self.shoot(name)

    def text(self, selector: str = "main") -> str:
        return self.page.inner_text(selector)


class UI:
    def __init__(self, browser, base_url: str, shots: Screenshots):
        self.browser, self.base_url, self.shots = browser, base_url, shots
        self.sessions: list[Session] = []

    def login(self, user, password: str = DEMO_PASSWORD) -> Session:
        """A fresh browser context signed in as ``user`` through the login page."""
        context = self.browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
        session = Session(context, self.base_url, self.shots, user.username)
        self.sessions.append(session)
        session.goto("/accounts/login/", "login")
        session.page.fill("#id_username", user.username)
        session.page.fill("#id_password", password)
        with session.navigation("after-login"):
            session.page.click("button[type=submit].primary")
        assert "/accounts/login/" not in session.page.url, f"login as {user.username} failed"
        return session

    def close(self) -> None:
        for session in self.sessions:
            try:
                session.flush()
            finally:
                session.context.close()


@pytest.fixture
def ui(request, chromium, live_server, django_db_serialized_rollback):
    """Signed-in browser sessions against the live server; screenshots under var/screenshots/<test>/."""
    harness = UI(chromium, live_server.url, Screenshots(request.node.name))
    yield harness
    harness.close()
