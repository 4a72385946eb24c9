"""CPU per request of each middleware and of content negotiation; a REST intake with Django's middleware and ours.

Run from the repository root:

    .venv/bin/python bench/middleware_cpu.py                  # SQLite in a temporary directory
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/yiwang_bench_cpu .venv/bin/python bench/middleware_cpu.py

First each class of ``settings.MIDDLEWARE`` alone around a view that answers at once
(a POST to the intake's path, as ``bench/intake_load.py`` sends it, 5,000 times, fastest
of five), then the whole list, then DRF's content negotiation against ours
(``yiwang.core.negotiation``) on a new request each time. Then the intake itself through Django's WSGI handler, as
the web server calls it, with two middleware lists that differ only where ours replace
Django's (``yiwang.core.middleware``): the two swapped every 10 intakes over
``--rounds`` rounds, and the median of the paired differences, which a machine's drift
from one minute to the next does not move (the method of ``bench/intake_cpu.py``).

Measured on the 2-core development machine on a slow, noisy day (load about 1), on
PostgreSQL, ``--rounds 300``; µs per request, the bare view alone 17.0:

    middleware (the bare view included)   Django's   ours
    LocaleMiddleware                      89.6       62.3
    MessageMiddleware (with sessions)     51.2       29.6   (sessions alone 30.2)
    all of settings.MIDDLEWARE                       167.0  (150 above the bare view)

    content negotiation (DRF's and core.negotiation's), on a later run: 60.6 and 27.5 µs

    REST intake: ours saves 49 µs per intake (median of 300 paired batches; the
    quartiles of the differences, -286 and 371 µs, show how noisy the machine was)

Django's LocaleMiddleware looks for a language code in every path's first segment,
twice, even with no ``i18n_patterns``; "api" is no language, and the LookupError that
ends the search is not kept by the lookup's ``lru_cache``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

# Where ours replace Django's: the paired comparison swaps these back.
DJANGOS = {
    "yiwang.core.middleware.LocaleMiddleware": "django.middleware.locale.LocaleMiddleware",
    "yiwang.core.middleware.MessageMiddleware": "django.contrib.messages.middleware.MessageMiddleware",
}


def environ(raw_key: str, body: bytes, idempotency_key: str) -> dict:
    return {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/workorders/", "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "127.0.0.1:8000",
        "REMOTE_ADDR": "127.0.0.1", "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
        "HTTP_X_API_KEY": raw_key, "HTTP_IDEMPOTENCY_KEY": idempotency_key, "HTTP_USER_AGENT": "wrk",
        "HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9", "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
    }


def fastest_us(func, n: int, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for _ in range(n):
            func()
        best = min(best, (time.process_time() - start) / n * 1e6)
    return best


def each_middleware(raw_key: str) -> None:
    from django.conf import settings
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.core.handlers.wsgi import WSGIRequest
    from django.http import HttpResponse
    from django.utils.module_loading import import_string

    answer = json.dumps({"id": 1, "number": "HK"} | {f"f{i}": "值" * 8 for i in range(60)}).encode()

    def view(request):
        return HttpResponse(answer, status=201, content_type="application/json")

    def timed(label: str, handler) -> float:
        us = fastest_us(lambda: handler(WSGIRequest(environ(raw_key, b"{}", "x"))), 5000)
        print(f"    {label:66s} {us:7.1f} µs")
        return us

    print("each middleware around a view that answers at once (µs per request, fastest of 5 x 5000):")
    bare = timed("no middleware", view)
    classes = list(dict.fromkeys(settings.MIDDLEWARE + list(DJANGOS.values())))
    needs_session = ("auth.middleware", "messages.middleware", "core.middleware.MessageMiddleware")
    for path in classes:
        cls = import_string(path)
        if any(part in path for part in needs_session):
            timed(f"{path} (+ sessions)", SessionMiddleware(cls(view)))
        else:
            timed(path, cls(view))
    whole = view
    for path in reversed(settings.MIDDLEWARE):
        whole = import_string(path)(whole)
    total = timed("settings.MIDDLEWARE, all of it", whole)
    print(f"    the whole list costs {total - bare:.0f} µs per request")


def negotiation(raw_key: str) -> None:
    """DRF's content negotiation against ours (core.negotiation), each on a new request as it comes."""
    from django.core.handlers.wsgi import WSGIRequest
    from rest_framework.negotiation import DefaultContentNegotiation
    from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
    from rest_framework.request import Request

    from yiwang.core.negotiation import ContentNegotiation

    renderers = [JSONRenderer(), BrowsableAPIRenderer()]

    def new_request():
        return Request(WSGIRequest(environ(raw_key, b"{}", "x")))

    bare = fastest_us(new_request, 5000)
    print("content negotiation of an API request (µs, the request's own objects left out):")
    for label, negotiator in (("DRF's", DefaultContentNegotiation()), ("ours", ContentNegotiation())):
        us = fastest_us(lambda: negotiator.select_renderer(new_request(), renderers), 5000)
        print(f"    {label:8s} {us - bare:6.1f} µs")


def paired_intakes(raw_key: str, rounds: int) -> None:
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.test.utils import override_settings
    from intake_load import appeals  # the load benchmark's texts, beside this file

    from yiwang.org.models import Category, Street

    street = Street.objects.order_by("code").values_list("code", flat=True)[3]
    category = Category.objects.filter(level=3, active=True).order_by("code").values_list("code", flat=True)[7]
    texts = [(a["title"], a["detail"]) for a in appeals()]
    ours = list(settings.MIDDLEWARE)
    djangos = [DJANGOS.get(path, path) for path in ours]
    handlers = {}
    for label, middleware in (("django", djangos), ("ours", ours)):
        with override_settings(MIDDLEWARE=middleware):
            handlers[label] = WSGIHandler()
    statuses: list[str] = []
    count = iter(range(10**9))

    def intake(handler) -> None:
        n = next(count)
        title, content = texts[n % len(texts)]
        body = json.dumps({"title": f"{title} {n}", "content": content, "street": street, "category": category,
                           "appeal_type": "complaint", "appellant_name": "张先生", "appellant_phone": "13800000000",
                           "address": "曲阳路100号"}, ensure_ascii=False).encode()
        response = handler(environ(raw_key, body, f"mw-{os.getpid()}-{n}"), lambda s, h, e=None: statuses.append(s))
        b"".join(response)
        response.close()
        assert statuses[-1].startswith("201"), statuses[-1]

    def batch_us(handler) -> float:
        start = time.process_time()
        for _ in range(10):
            intake(handler)
        return (time.process_time() - start) / 10 * 1e6

    for handler in handlers.values():
        batch_us(handler), batch_us(handler)  # warm up
    differences = []
    for i in range(rounds):
        order = ("django", "ours") if i % 2 else ("ours", "django")  # neither always first
        spent = {label: batch_us(handlers[label]) for label in order}
        differences.append(spent["django"] - spent["ours"])
    print(f"REST intake through the WSGI handler: ours saves {statistics.median(differences):.0f} µs per intake "
          f"(median of {rounds} paired batches of 10; quartiles "
          f"{' / '.join(f'{q:.0f}' for q in statistics.quantiles(differences, n=4))} µs)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=60, help="paired batches of the intake comparison")
    args = p.parse_args()
    from intake_cpu import setup  # a migrated database and an API key, beside this file

    raw_key = setup()
    each_middleware(raw_key)
    negotiation(raw_key)
    paired_intakes(raw_key, args.rounds)


if __name__ == "__main__":
    main()
