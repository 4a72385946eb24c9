"""The public site-code page under 50 concurrent clients: page views and hazard reports, p50/p95.

Run from the repository root with a PostgreSQL server whose ``postgres`` role may create
databases (or ``--sqlite``):

    .venv/bin/python bench/site_page_load.py                     # 50 clients, 20 s of views, 20 s of reports
    .venv/bin/python bench/site_page_load.py --clients 50 --seconds 30 --sqlite

It creates a fresh database (``yiwang_bench_spaces``), migrates it, loads the 40 demo
spaces, starts gunicorn exactly as ``yiwang serve`` does (``yiwang.cli.gunicorn_command``)
with the per-address report limit lifted (all clients share 127.0.0.1), and drives it
from threads on this machine (their CPU counts against the server's):

1. views: each client GETs ``/public/spaces/<code>/`` for random codes, keep-alive;
2. reports: each client GETs the page (CSRF cookie, form token), then POSTs a report
   with a new description; only the POST is timed (it registers, routes and dispatches
   the work order and answers 302 to the receipt).

Afterwards it checks that every 302 answer has its order and SpaceReport row, then prints
p50/p95/p99 and throughput per phase, and the QR sheet time (bench/qr_sheet.py) is measured
separately.

``.venv/bin/python bench/site_page_load.py --seconds 15`` on the 2-core development machine
with nothing else running (load average 1.97 before, the load generator on the same cores):

    phase    requests   per s   p50 ms   p95 ms   p99 ms  statuses
    view         4377   291.8    219.0    300.1    440.0  {200: 4377}
    report        995    66.3    528.3    903.2    972.6  {302: 995}
    check: 995 receipts, 995 space reports, 995 orders: ok

(A first run at load 13-16, while test suites ran beside it, gave p50 25 s for views: the
machine, not the page.) With 50 clients and two cores the latency is queueing: a view costs
about 7 ms of CPU (50 / 292 per s), a report about 30 ms (it registers, routes and dispatches
the order, stores photos' rows and writes the receipt).
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from intake_load import free_port, load_avg, query, recreate_pg, start_server, stop_server, wait_port, yiwang_env  # noqa: E402

TOKEN = re.compile(rb'name="(csrfmiddlewaretoken|form_token)" value="([^"]+)"')


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


class Client:
    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        return response.status, data


def run_phase(port: int, codes: list[str], *, clients: int, seconds: float, report: bool) -> tuple[list[float], dict]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker(n: int) -> None:
        rng, client = random.Random(n), Client(port)
        while time.monotonic() < stop_at:
            path = f"/public/spaces/{rng.choice(codes)}/"
            try:
                status, elapsed = _one(client, path, report, port)
            except OSError as error:  # a timeout counts as a failed request, and the client reconnects
                status, elapsed, client = type(error).__name__, 30000.0, Client(port)
            with lock:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1

    def _one(client, path, report, port):
        if not report:
            started = time.perf_counter()
            status, _ = client.request("GET", path)
        else:
            _, page = client.request("GET", path)
            fields = dict((k.decode(), v.decode()) for k, v in TOKEN.findall(page))
            body = urlencode({**fields, "content": f"压测：消防通道堆放杂物 {uuid.uuid4().hex[:8]}",
                              "reporter_phone": "13900001111"}).encode()
            started = time.perf_counter()
            status, _ = client.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded",
                                                            "Referer": f"http://127.0.0.1:{port}{path}"})
        return status, (time.perf_counter() - started) * 1000

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--pg", default=os.environ.get("YIWANG_BENCH_PG", "postgres://postgres@127.0.0.1:5432"))
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    from yiwang.cli import gunicorn_command

    tmp = Path(tempfile.mkdtemp(prefix="bench-spaces-"))
    db_url = f"sqlite:///{tmp / 'db.sqlite3'}" if args.sqlite else recreate_pg(args.pg, "yiwang_bench_spaces")
    env = yiwang_env(db_url, tmp)
    env["YIWANG_SITE_REPORTS_PER_CLIENT"] = "100000000"
    import subprocess

    subprocess.run([sys.executable, "-m", "django", "migrate", "-v", "0"], env={**env, "DJANGO_SETTINGS_MODULE": "yiwang.settings"},
                   check=True, cwd=ROOT)
    subprocess.run([sys.executable, "-c", "import django; django.setup(); from yiwang.spaces.demo import seed_spaces; seed_spaces()"],
                   env={**env, "DJANGO_SETTINGS_MODULE": "yiwang.settings"}, check=True, cwd=ROOT)
    codes = [row[0] for row in query(db_url, "SELECT code FROM spaces_space")]
    port = free_port()
    server = start_server(gunicorn_command(port, args.workers, "127.0.0.1", args.threads), env, ROOT, tmp / "server.log")
    try:
        wait_port(port, server)
        run_phase(port, codes, clients=5, seconds=2, report=False)  # warm up every worker
        print(f"target: {'sqlite' if args.sqlite else 'postgresql'}, gunicorn {args.workers} x {args.threads}, "
              f"{args.clients} clients, {args.seconds:.0f} s per phase, load before {load_avg()}")
        print(f"{'phase':<8} {'requests':>8} {'per s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  statuses")
        for name, report in (("view", False), ("report", True)):
            before = query(db_url, "SELECT count(*) FROM spaces_spacereport")[0][0]
            lat, statuses = run_phase(port, codes, clients=args.clients, seconds=args.seconds, report=report)
            print(f"{name:<8} {len(lat):>8} {len(lat) / args.seconds:>7.1f} {percentile(lat, 50):>8.1f} "
                  f"{percentile(lat, 95):>8.1f} {percentile(lat, 99):>8.1f}  {statuses}")
            if report:
                made = query(db_url, "SELECT count(*) FROM spaces_spacereport")[0][0] - before
                orders = query(db_url, "SELECT count(*) FROM workorders_workorder WHERE channel = 'qr'")[0][0]
                # A request that timed out on the client may still have been answered by the server.
                ok = statuses.get(302, 0) <= made == orders - before
                print(f"check: {statuses.get(302, 0)} receipts, {made} space reports, {orders - before} orders: "
                      f"{'ok' if ok else 'MISMATCH'}")
    finally:
        stop_server(server)
    print(f"load after {load_avg()}")


if __name__ == "__main__":
    main()
