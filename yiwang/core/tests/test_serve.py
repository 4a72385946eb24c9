"""``yiwang serve`` for real: the web server process answers pages, the API and static
files, and stops cleanly on SIGTERM.

Runs against a throwaway SQLite database, once, on the SQLite pass.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from yiwang.workorders.tests.test_worker import group_alive


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, **kwargs) -> tuple[int, bytes]:
    request = urllib.request.Request(url, **kwargs)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="runs once, on the SQLite pass")
def test_serve_answers_pages_api_and_static_then_stops(tmp_path):
    port = free_port()
    env = {**os.environ, "YIWANG_VAR_DIR": str(tmp_path), "YIWANG_DEBUG": "0", "YIWANG_SECRET_KEY": "serve-test",
           "YIWANG_ALLOWED_HOSTS": "127.0.0.1"}
    env.pop("DATABASE_URL", None)
    server = subprocess.Popen([sys.executable, "-m", "yiwang.cli", "serve", "--no-worker", "--port", str(port),
                               "--workers", "1", "--threads", "2"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # migrate and collectstatic come first
        while True:
            assert server.poll() is None, "the server exited before answering"
            try:
                status, body = get(base + "/accounts/login/")
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "no answer within 120 s"
                time.sleep(0.5)
        assert status == 200 and "登录".encode() in body

        status, body = get(base + "/api/v1/workorders/")
        assert status in (401, 403) and json.loads(body)["code"]  # the API's own error format

        status, _ = get(base + "/static/admin/css/base.css")  # whitenoise inside the application
        assert status == 200

        status, _ = get(base + "/no-such-page/")
        assert status == 404
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10  # the web workers finish their requests first
    while group_alive(server.pid):
        assert time.monotonic() < deadline, "web server processes left running after SIGTERM"
        time.sleep(0.2)


@pytest.mark.parametrize("url, cores, expected", [
    ("", 2, 2),  # SQLite: the database work is the processes' own
    ("sqlite:////srv/yiwang/db.sqlite3", 8, 8),
    ("postgres://postgres@127.0.0.1:5432/yiwang", 2, 1),  # PostgreSQL on this machine takes its share
    ("postgresql://yiwang@localhost/yiwang", 8, 4),
    ("postgres:///yiwang", 16, 8),  # a local socket
    ("postgres://yiwang@[::1]:5432/yiwang", 3, 1),
    ("postgres://yiwang@db.internal:5432/yiwang", 8, 8),  # a database server of its own
    ("postgres://postgres@127.0.0.1:5432/yiwang", 1, 1),
])
def test_default_web_workers_leave_a_local_database_its_cores(url, cores, expected):
    from yiwang.cli import default_web_workers

    assert default_web_workers(url, cores=cores) == expected


def test_serve_default_workers_follow_database_url(monkeypatch):
    from yiwang.cli import default_web_workers, parser

    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/yiwang")
    args = parser().parse_args(["serve"])
    assert args.workers == default_web_workers() == max(1, (os.cpu_count() or 1) // 2)
    monkeypatch.delenv("DATABASE_URL")
    assert parser().parse_args(["serve"]).workers == (os.cpu_count() or 1)
    assert parser().parse_args(["serve", "--workers", "3"]).workers == 3
