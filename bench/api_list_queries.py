"""SQL queries and median response time of the work-order list API for 100 orders.

Run from the repository root:

    .venv/bin/python bench/api_list_queries.py

It migrates a throwaway SQLite database in a temporary directory (YIWANG_VAR_DIR),
registers 100 orders through the services and dispatches them to 曲阳路街道办事处,
then requests GET /api/v1/workorders/?limit=100 with token authentication as a
dispatcher (every order, personal data in clear: 100 audit rows per request) and
as a handler of that street office (its unit's orders). For each it prints the
number of SQL queries of one request and the median time of 30 requests.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 30
ORDERS = 100


def main() -> None:
    var_dir = tempfile.mkdtemp(prefix="yiwang-bench-")
    os.environ["YIWANG_VAR_DIR"] = var_dir
    os.makedirs(os.path.join(var_dir, "static"))  # no collectstatic here; keeps the static-files layer quiet
    os.environ["YIWANG_LOG_LEVEL"] = "WARNING"  # not one "task enqueued" line per dispatch
    os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "yiwang.settings"
    sys.path.insert(0, str(ROOT))
    try:
        import django

        django.setup()
        run()
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


def run() -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from yiwang.accounts.roles import Role
    from yiwang.demo import factories
    from yiwang.workorders import services

    call_command("migrate", verbosity=0)
    office = factories.unit("ST-310109010")
    operator = factories.make_user("bench-operator", Role.OPERATOR)
    dispatcher = factories.make_user("bench-dispatcher", Role.DISPATCHER)
    handler = factories.make_user("bench-handler", Role.UNIT_HANDLER, unit=office)
    for _ in range(ORDERS):
        services.dispatch(factories.make_order(operator), actor=dispatcher, lead_unit=office)

    print(f"GET /api/v1/workorders/?limit={ORDERS} on SQLite, {ORDERS} orders, token auth, median of {RUNS}")
    for label, user in (("dispatcher", dispatcher), ("unit handler", handler)):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        get = lambda: client.get("/api/v1/workorders/", {"limit": ORDERS})  # noqa: E731
        with CaptureQueriesContext(connection) as queries:
            response = get()
        query_count = len(queries)  # read now: the next request resets the connection's query log
        assert response.status_code == 200 and len(response.json()["results"]) == ORDERS, response.content[:300]
        timings = []
        for _ in range(RUNS):
            start = time.perf_counter()
            get()
            timings.append(time.perf_counter() - start)
        print(f"  {label:<13} {query_count:>3} queries   median {statistics.median(timings) * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
