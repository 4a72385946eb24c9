"""CPU time and SQL queries per REST intake, in one process, without the network.

Run from the repository root:

    .venv/bin/python bench/intake_cpu.py                      # SQLite in a temporary directory
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/yiwang_bench_cpu .venv/bin/python bench/intake_cpu.py
    .venv/bin/python bench/intake_cpu.py --profile 300        # plus a cProfile of 300 intakes
    .venv/bin/python bench/intake_cpu.py --real-texts         # the real appeal texts of the load benchmark

It migrates a fresh database (a PostgreSQL one must exist and be empty), makes an API
key and posts the body ``bench/intake_load.py`` posts (street and category by code,
appellant, address; one short title and text unless ``--real-texts``) through Django's
test client, each with its own ``Idempotency-Key``. It prints the queries of one intake
(they are the same for every new intake) and the process CPU time per intake (fastest
and median batch of 50 over ``--count``), so a change to the intake path can be
measured before and after with the same command. The load benchmark
answers the other question (throughput and latency under 32 clients).

Before and after the serializer-fields and reference caches, same command, 500
intakes on the shared 2-core machine (load average 3.3-4.0):

    PostgreSQL: 12 -> 10 queries; 9.4 -> 7.6 ms CPU (fastest batch), 11.2 -> 8.3 ms (median)
    SQLite:     12 -> 10 queries; 13.3 -> 10.0 ms CPU (fastest batch), 15.5 -> 12.3 ms (median)

Then the dispatch-suggestion job queued after every intake gave way to the intake
followers (workorders/followers.py), and the nested serializers are built once too
(load 2.3-2.6): PostgreSQL 9 queries, 7.6 -> 5.34 -> 4.86 ms (fastest batch), 5.53 ms
(median); SQLite 9 queries, 5.01 ms (fastest), 5.65 ms (median) after the first step.

On PostgreSQL it also prints the CPU of its own server process per intake. With the
id drawn from the sequence before the INSERT (no UPDATE rewriting the row and its 34
index entries for the number) and seven redundant indexes dropped, the queries are a
SELECT nextval instead of the UPDATE; the server's share was 2.1-2.9 ms per intake on
this machine (runs differ by a quarter from one to the next), of which the trigram
indexes of title, content and number take about 0.5 ms.

Then the answer to a new order stopped writing an audit row (it shows the client only
the personal data it has just sent; a replay is still audited), and with nothing left
to write after register() the view's outer transaction and its savepoint went too:
5 queries, BEGIN, SELECT nextval, the order INSERT, the registration event, COMMIT.
Same machine, a few minutes apart (load 1.3-1.5): 7 -> 5 queries; CPU per intake
5.47 -> 5.73 ms fastest (noise), 7.47 -> 6.28 ms median; PostgreSQL backend 1.80 ->
1.56 ms.

Then the serializer fields copied without copy.copy (core.api._copy_field) and choice
labels from a table built once: 3.30-3.58 -> 3.02-3.10 ms fastest. Then, on
PostgreSQL, the order and its event in one statement (workorders.intake_sql), 1 query
instead of 5: 3.32-3.36 ms (34f1201) -> 2.19-2.24 ms fastest, PostgreSQL backend
0.87 -> 0.67-0.68 ms (load 1.0, alternating). Sending the values apart from the SQL
(server-side binding, so the statement is prepared once per connection) changed
nothing: 2.11-2.13 against 2.16 ms, backend 0.70-0.73 against 0.67-0.68 ms. The
server's share is the writing of the rows and their 27 index entries, not parsing.

Then the answer written by one bound serializer per thread (core.api.Representer)
instead of a new one per request, whose ~65 fields were each copied and bound
before the first value: 2.21-2.23 -> 1.92-1.97 ms fastest, 2.28-2.33 -> 1.99-2.08
ms median (1,000 intakes, two runs each, load 0.6-1.0). Under bench/intake_load.py
(--seconds 20 --only yiwang-pg, alternating): 406, 422 -> 438, 447 intakes/s; app
CPU 2.82, 2.79 -> 2.60, 2.49 ms per intake.

On a day when this command's fastest batch went from 2.3 to 4.7 ms between runs of the
same code, the next changes were measured in one process instead: this script's setup
and intakes, the old and the new code swapped in every 25 intakes (60 rounds), and the
median of the paired differences (PostgreSQL's CPU from /proc/PID/schedstat, which
counts nanoseconds, where /proc/PID/stat counts 10 ms ticks):

- DRF's surrogate check by one regular expression (core.api.SurrogateFreeValidator) and
  the plain column values taken without the fields' preparing (workorders.intake_sql
  ._values): 160 µs less per intake.
- The statement on a cursor kept with its connection, so psycopg reuses the adapters it
  found for each value's type: its quoting (PostgresClientQuery.convert, timed around
  the call) 232 -> 133-139 µs. Then the values bound by the server on that cursor
  (Django's ServerBindingCursor) instead of quoted: 175-180 µs less application CPU,
  26-47 µs more of PostgreSQL's. The earlier trial above had found nothing because the
  runs' spread hid it.
- The answer's plain attributes read directly (core.api.FieldsBuiltOnce
  .to_representation) and the allowed actions' table kept per status: the order's
  detail 257 -> 153 µs.
- The intake's input serializer bound once per thread (core.api.KeptInput) instead of
  made and bound for each request: 229 µs less per intake.

The 9 queries (before the first of those changes): the API key (one indexed query joining user and unit), BEGIN, a
savepoint, the order INSERT and the UPDATE that writes its number (made from its
id), the registration event, the savepoint release, the audit row of the appellant
data in the answer, COMMIT. (Until the intake followers, a tenth: django-q's ORM
broker inserting the dispatch-suggestion job after the commit, in a second transaction.)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup() -> str:
    var = tempfile.mkdtemp(prefix="yiwang-intake-cpu-")
    os.makedirs(os.path.join(var, "static"))
    os.environ.update(YIWANG_VAR_DIR=var, DJANGO_SETTINGS_MODULE="yiwang.settings", YIWANG_LOG_LEVEL="WARNING",
                      YIWANG_DEBUG="0")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from yiwang.accounts.services import create_api_key

    return create_api_key(name="bench-cpu")[1]


def backend_cpu(connection) -> float | None:
    """CPU seconds so far of this connection's PostgreSQL server process (same machine)."""
    if connection.vendor != "postgresql":
        return None
    from intake_load import _proc_cpu  # the load benchmark's /proc reader, beside this file

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    return _proc_cpu(str(pid))[2]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=300)
    p.add_argument("--real-texts", action="store_true",
                   help="post the real appeal texts bench/intake_load.py posts instead of one short text")
    p.add_argument("--profile", type=int, default=0, help="also profile this many intakes (cProfile, CPU time)")
    p.add_argument("--profile-out", help="write the profile there too (for pstats, snakeviz)")
    args = p.parse_args()
    raw = setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from yiwang.org.models import Category, Street

    street = Street.objects.order_by("code").values_list("code", flat=True)[3]
    category = Category.objects.filter(level=3, active=True).order_by("code").values_list("code", flat=True)[7]
    client = Client()
    seq = iter(range(10**9))

    texts = [("小区夜间施工噪音扰民", "晚上十点以后还在施工，噪音很大，影响休息。")]
    if args.real_texts:
        from intake_load import appeals  # the load benchmark's texts, beside this file

        texts = [(a["title"], a["detail"]) for a in appeals()]

    def post():
        n = next(seq)
        title, content = texts[n % len(texts)]
        body = {"title": f"{title} {n}", "content": content,
                "street": street, "category": category, "appeal_type": "complaint",
                "appellant_name": "张先生", "appellant_phone": "13800000000", "address": "曲阳路100号"}
        response = client.post("/api/v1/workorders/", json.dumps(body, ensure_ascii=False),
                               content_type="application/json", HTTP_X_API_KEY=raw, HTTP_IDEMPOTENCY_KEY=f"cpu-{n}")
        assert response.status_code == 201, response.content

    for _ in range(20):  # warm caches, connection, imports
        post()
    with CaptureQueriesContext(connection) as ctx:
        post()
    print(f"queries per intake: {len(ctx.captured_queries)}")
    for q in ctx.captured_queries:
        print("   ", q["sql"][:160])
    # Other work on a shared machine slows a run down (caches, frequency), never speeds it
    # up: batches of 50 and the fastest and median batch are steadier than one mean.
    batches = []
    backend_before = backend_cpu(connection)
    for _ in range(max(1, args.count // 50)):
        start = time.process_time()
        for _ in range(50):
            post()
        batches.append((time.process_time() - start) / 50 * 1000)
    backend = backend_cpu(connection)
    batches.sort()
    print(f"CPU per intake: {batches[0]:.2f} ms fastest, {batches[len(batches) // 2]:.2f} ms median batch of 50 "
          f"({len(batches) * 50} intakes, {connection.vendor}); load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if backend is not None:
        print(f"PostgreSQL backend CPU per intake: {(backend - backend_before) / (len(batches) * 50) * 1000:.2f} ms "
              f"(its server process, same intakes)")
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile(time.process_time)  # CPU, not waits on the database
        profiler.runcall(lambda: [post() for _ in range(args.profile)])
        if args.profile_out:
            profiler.dump_stats(args.profile_out)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)


if __name__ == "__main__":
    main()
