"""Open311 GeoReport v2 conformance table: every endpoint × format against the spec.

    .venv/bin/python bench/open311_conformance.py

Boots a throwaway SQLite database (YIWANG_VAR_DIR in a temporary directory,
migrated from scratch, DATABASE_URL ignored), creates an Open311 API key for a
system account and one for a hotline operator, files requests through POST,
takes one through the whole lifecycle, then calls every endpoint in XML and
JSON (success and error cases) through Django's full request stack. Each answer
is checked for its HTTP status and against the spec: JSON against the schemas
in yiwang/open311/tests/schemas/, XML element by element (root, item element,
child elements in the spec's order, value shapes). Prints one row per call and
a total; exits 1 if any check fails.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def boot(var_dir: str) -> None:
    os.environ["YIWANG_VAR_DIR"] = var_dir
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("YIWANG_LOG_LEVEL", "ERROR")  # 4xx answers are expected here, not news
    os.makedirs(os.path.join(var_dir, "static"), exist_ok=True)
    os.environ["DJANGO_SETTINGS_MODULE"] = "yiwang.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def world():
    """Keys, users and orders the calls need."""
    from yiwang.accounts.roles import Role
    from yiwang.accounts.services import create_api_key
    from yiwang.demo import factories
    from yiwang.workorders import services
    from yiwang.workorders.models import Satisfaction

    street_office = factories.unit("ST-310109010")
    mk = factories.make_user
    operator, dispatcher = mk("op", Role.OPERATOR), mk("disp", Role.DISPATCHER)
    handler = mk("handler", Role.UNIT_HANDLER, unit=street_office)
    _, app_key = create_api_key(name="open311-app")
    _, hotline_key = create_api_key(name="hotline", username="op")
    closed = factories.make_order(operator)
    services.dispatch(closed, actor=dispatcher, lead_unit=street_office)
    services.sign(closed, actor=handler)
    services.reply(closed, actor=handler, text="已安排园林所处理。")
    services.review_reply(closed, actor=dispatcher, approve=True)
    services.follow_up(closed, actor=operator, satisfaction=Satisfaction.SATISFIED, resolved=True)
    return app_key, hotline_key


def calls(app_key: str, hotline_key: str, fmt: str, code: str):
    """(label, method, path, body, document kind, expected status) for one format."""
    base = "/open311/v2"
    post = {
        "api_key": app_key, "jurisdiction_id": "", "service_code": code, "lat": "31.27", "long": "121.49",
        "address_string": "曲阳路800弄12号", "description": "门口行道树倒伏压住人行道，请尽快处理。",
        "media_url": "https://img.example.com/1.jpg",
    }
    return [
        ("GET discovery", "GET", f"{base}/discovery.{fmt}", None, "discovery", 200),
        ("GET services", "GET", f"{base}/services.{fmt}", None, "services", 200),
        ("GET services/{code}", "GET", f"{base}/services/{code}.{fmt}", None, "service_definition", 200),
        ("GET service/{code}", "GET", f"{base}/service/{code}.{fmt}", None, "service_definition", 200),
        ("POST requests", "POST", f"{base}/requests.{fmt}", post, "service_requests", 200),
        ("GET requests", "GET", f"{base}/requests.{fmt}?api_key={hotline_key}", None, "requests", 200),
        ("GET requests (app key)", "GET", f"{base}/requests.{fmt}?api_key={app_key}", None, "requests", 200),
        ("GET requests?status=closed", "GET", f"{base}/requests.{fmt}?api_key={hotline_key}&status=closed",
         None, "requests", 200),
        ("GET requests/{id}", "GET", f"{base}/requests/{{id}}.{fmt}?api_key={hotline_key}", None, "requests", 200),
        ("error: no api_key", "POST", f"{base}/requests.{fmt}", {**post, "api_key": ""}, "errors", 403),
        ("error: jurisdiction", "POST", f"{base}/requests.{fmt}", {**post, "jurisdiction_id": "x.gov"}, "errors", 404),
        ("error: service_code", "POST", f"{base}/requests.{fmt}", {**post, "service_code": "0"}, "errors", 400),
        ("error: no location", "POST", f"{base}/requests.{fmt}",
         {**post, "lat": "", "long": "", "address_string": ""}, "errors", 400),
        ("error: bad start_date", "GET", f"{base}/requests.{fmt}?api_key={hotline_key}&start_date=x", None,
         "errors", 400),
        ("error: unknown service", "GET", f"{base}/services/0.{fmt}", None, "errors", 404),
        ("error: unknown request", "GET", f"{base}/requests/HK0.{fmt}?api_key={hotline_key}", None, "errors", 404),
    ]


def run() -> int:
    from django.test import Client

    from yiwang.open311.tests.spec import check
    from yiwang.org.models import Category

    app_key, hotline_key = world()
    code = Category.objects.filter(level=3, active=True).order_by("code").first().code
    client = Client()
    rows, created = [], {}
    for fmt in ("xml", "json"):
        for label, method, path, body, kind, expected in calls(app_key, hotline_key, fmt, code):
            path = path.replace("{id}", created.get("any", "HK0"))
            started = time.perf_counter()
            if method == "POST":
                response = client.post(path, urlencode(body), content_type="application/x-www-form-urlencoded")
            else:
                response = client.get(path)
            ms = (time.perf_counter() - started) * 1000
            problems = check(kind, fmt, response.content)
            if response.status_code != expected:
                problems.insert(0, f"HTTP {response.status_code}, expected {expected}")
            if kind == "service_requests" and not problems:
                created["any"] = _created_id(response, fmt)
            rows.append((label, fmt, response.status_code, kind, ms, problems))
    return report(rows)


def _created_id(response, fmt: str) -> str:
    import json
    import xml.etree.ElementTree as ET

    if fmt == "json":
        return json.loads(response.content)[0]["service_request_id"]
    return ET.fromstring(response.content).findtext("request/service_request_id")


def report(rows) -> int:
    print(f"{'endpoint':<28} {'format':<6} {'HTTP':>4}  {'document':<19} {'ms':>7}  check")
    print("-" * 86)
    for label, fmt, status, kind, ms, problems in rows:
        verdict = "schema-valid" if fmt == "json" else "spec elements ok"
        print(f"{label:<28} {fmt:<6} {status:>4}  {kind:<19} {ms:7.1f}  {'FAIL ' + '; '.join(problems) if problems else verdict}")
    failed = sum(1 for *_, problems in rows if problems)
    print("-" * 86)
    print(f"{len(rows) - failed}/{len(rows)} calls conform "
          f"({sum(1 for r in rows if r[1] == 'json' and not r[5])} JSON schema-valid, "
          f"{sum(1 for r in rows if r[1] == 'xml' and not r[5])} XML spec-element checks passed)")
    return 1 if failed else 0


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="yiwang-open311-") as var_dir:
        boot(var_dir)
        return run()


if __name__ == "__main__":
    sys.exit(main())
