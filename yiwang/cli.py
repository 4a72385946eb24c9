"""The ``yiwang`` command.

    yiwang demo [--port N]        migrate SQLite, load demo data once, serve with the job worker
    yiwang serve [--port N] [--workers N] [--threads N] [--no-worker]
                                  production: DATABASE_URL for PostgreSQL, web workers (granian) + job worker
    yiwang worker                 the background job worker (SLA sweep, notifications, imports) and the
                                  intake followers (dispatch suggestions for new orders)
    yiwang apikey create NAME [--user USERNAME]
                                  print a new API key for Open311 and REST clients
    yiwang sweep                  run the SLA sweep once now
    yiwang dispatch train|evaluate|predict
                                  the intelligent-dispatch classifier (see yiwang/smartdispatch/cli.py)
    yiwang insight duplicates|clusters|bursts --input CSV [--json]
                                  repeat calls, case clusters, sudden issues on a CSV (yiwang/insight/cli.py)
    yiwang manage ...             any Django management command
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
from urllib.parse import urlsplit


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiwang.settings")
    import django

    django.setup()


def _manage(*args: str) -> None:
    from django.core.management import call_command

    call_command(*args)


def _spawn_worker() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "yiwang.cli", "worker"], env=os.environ.copy())


def web_command(port: int, workers: int, host: str, threads: int = 4, *,
                app: str = "yiwang.wsgi:application", python: str = sys.executable) -> list[str]:
    """The web server as ``serve`` runs it (``bench/intake_load.py`` runs exactly this).

    Granian: its HTTP layer is Rust, so parsing a request, keeping the connection
    alive and queueing it for a Python thread cost the GIL nothing. Under 32 clients
    on 2 cores the application's CPU per intake fell from 6.4-6.6 ms under gunicorn's
    gthread workers to 4.0-4.8 ms, and p99 from 2.4 s to 0.3-0.5 s
    (bench/intake_load.py). ``threads`` Python threads per process run the
    application, covering its waits on the database.
    """
    return [python, "-m", "granian", "--interface", "wsgi", app, "--host", host, "--port", str(port),
            "--workers", str(workers), "--blocking-threads", str(threads), "--no-ws",
            "--respawn-failed-workers", "--access-log"]


_LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1"}


def default_web_workers(database_url: str | None = None, cores: int | None = None) -> int:
    """Web server processes ``serve`` starts: one per core, or one per two cores beside PostgreSQL.

    A process runs its Python on one core at a time (the GIL); four threads each
    cover its waits on the database. With SQLite the database work is the process's
    own, so every core runs a process. A PostgreSQL server on the same machine
    (``DATABASE_URL`` naming localhost, 127.0.0.1, ::1 or a local socket) takes 40% of
    an intake's CPU (1.0-1.2 of 2.7 ms), so the processes get half the cores. More processes than
    that lengthen the tail: keep-alive clients stay with the process that accepted
    them first, the kernel gives every busy process the same share of the CPU, so a
    process holding more clients keeps them waiting longer. Two cores, PostgreSQL,
    32 clients (bench/intake_load.py --seconds 30): one process with 4-8 threads
    586-634 intakes/s at p99 79-84 ms in five runs; two 667-748/s at p99 84-136 ms as
    the clients split 16 + 16 to 23 + 9. On SQLite, 2 x 4 432/s against 1 x 6 358/s.
    """
    url = os.environ.get("DATABASE_URL", "") if database_url is None else database_url
    cores = cores or os.cpu_count() or 1
    parts = urlsplit(url)
    if parts.scheme.startswith(("postgres", "pgsql", "postgis")) and (parts.hostname or "") in _LOCAL_HOSTS:
        return max(1, cores // 2)
    return cores


def _serve_web(port: int, workers: int, host: str, threads: int = 4) -> int:
    """Run the web server in the foreground with the job worker beside it; stop both together."""
    worker = None if os.environ.get("YIWANG_NO_WORKER") else _spawn_worker()
    server = subprocess.Popen(web_command(port, workers, host, threads), env=os.environ.copy())

    def stop(*_):
        for proc in (server, worker):
            if proc and proc.poll() is None:
                proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        return server.wait()
    finally:
        stop()
        if worker:
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()


def cmd_demo(args) -> int:
    os.environ.setdefault("YIWANG_DEBUG", "0")
    _django()
    from django.conf import settings

    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    _manage("migrate", "--no-input", "-v", "0")
    from yiwang.demo.seed import print_accounts, seed_demo

    seed_demo(stdout=sys.stdout)
    _manage("collectstatic", "--no-input", "-v", "0")
    print_accounts(sys.stdout, port=args.port)
    return _serve_web(args.port, args.workers, args.host, args.threads)


def cmd_serve(args) -> int:
    _django()
    _manage("migrate", "--no-input", "-v", "0")
    _manage("collectstatic", "--no-input", "-v", "0")
    if args.no_worker:
        os.environ["YIWANG_NO_WORKER"] = "1"
    return _serve_web(args.port, args.workers, args.host, args.threads)


def first_signal_only(stopping: threading.Event, handler):
    """A signal handler that sets ``stopping`` and runs ``handler`` on the first signal only.

    django-q's own handler holds a lock while it stops the cluster; entering it again
    from a second signal (a second Ctrl+C, a TERM followed by an INT) waited on that
    lock for ever, and the worker never exited.
    """

    def once(signum, frame):
        if stopping.is_set():
            return
        stopping.set()
        handler(signum, frame)

    return once


def wait_for_cluster_stop(stopper: threading.Thread) -> None:
    """Wait until django-q's stop (running in ``stopper``) is done, or its processes are gone.

    Why not call the stop in the signal handler and wait for it: when the signal goes to
    the whole process group (``systemctl stop``, ``docker stop``, ``kill -- -PGID``), the
    cluster's sentinel process dies of it at once (it keeps SIGTERM's default action)
    while waiting on the cluster's stop event. Setting that event then waits for the
    dead waiter to acknowledge, for ever, and the worker never exited. Its processes
    being gone is as good as a finished stop.
    """
    while stopper.is_alive() and multiprocessing.active_children():
        stopper.join(0.2)


WORKER_NICE = 10


def lower_worker_priority() -> int:
    """Give the job worker's processes a lower CPU priority than the web server's; returns the nice asked for.

    Background work (clustering a chunk of new orders, the burst check, the search
    indexes' merges) comes in bursts of seconds, and a hotline operator waiting on an
    intake should not wait behind them. At 180 intakes/s, about two thirds of a slow
    day's capacity, p99 was 109-110 ms with the worker at nice 10 against 202-507 ms
    without (bench/intake_load.py --rate 180). The worker still gets every cycle the web
    server leaves idle, so under a steady load its jobs are late by seconds, not undone.

    ``nice`` alone is not enough when the worker leads a session of its own (a shell or a
    supervisor started it apart from the web server): Linux then schedules the session as
    one task group (autogroup), and a process's nice weighs only against the other
    processes of its group, so the group's nice (``/proc/self/autogroup``) is raised too.
    Started by ``yiwang serve``, the worker is in the web server's group, where its own
    nice is what counts. Its children (the cluster's processes, the followers) inherit
    both. ``YIWANG_WORKER_NICE`` sets the amount (0 turns it off). Under systemd each unit
    is a control group of its own, and neither nice weighs across units: the worker's
    unit needs a lower ``CPUWeight=`` (README).
    """
    raw = os.environ.get("YIWANG_WORKER_NICE", str(WORKER_NICE))
    try:
        nice = int(raw)
    except ValueError:
        nice = -1
    if not 0 <= nice <= 19:
        raise SystemExit(f"YIWANG_WORKER_NICE must be a whole number from 0 to 19, not {raw!r}")
    if nice == 0:
        return 0
    os.nice(nice)
    if os.getsid(0) == os.getpid():
        try:
            with open("/proc/self/autogroup", "w") as f:
                f.write(str(nice))
        except OSError:  # no autogroups here (another system, a kernel without them): its own nice still holds
            pass
    return nice


def cmd_worker(args) -> int:
    """The django-q2 cluster (jobs, schedules) and, beside it, the intake followers.

    ``qcluster`` starts the cluster's processes and returns at once (they run until a
    SIGTERM or SIGINT reaches this process, which the cluster's own handler turns into a
    clean stop), so this process then minds the followers: it restarts them if they die
    and stops them together with the cluster.
    """
    lower_worker_priority()
    _django()
    stopping = threading.Event()

    def start_followers() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "yiwang.cli", "manage", "follow_intake"], env=os.environ.copy())

    follow = start_followers()
    _manage("qcluster")
    cluster_handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    cluster_stop: list[threading.Thread] = []

    def stop_all(signum, frame):
        if follow.poll() is None:
            follow.terminate()
        handler = cluster_handlers.get(signum)
        if callable(handler):
            cluster_stop.append(threading.Thread(target=handler, args=(signum, frame), daemon=True,
                                                 name="cluster-stop"))
            cluster_stop[0].start()

    stop = first_signal_only(stopping, stop_all)
    for sig in cluster_handlers:
        signal.signal(sig, stop)
    while True:
        code = follow.wait()
        if stopping.is_set():
            if cluster_stop:
                wait_for_cluster_stop(cluster_stop[0])
            return 0
        print(f"intake followers exited with {code}; restarting in 5 s", file=sys.stderr)
        if stopping.wait(5):
            return 0
        follow = start_followers()


def cmd_apikey(args) -> int:
    _django()
    from yiwang.accounts.services import create_api_key
    from yiwang.core.errors import DomainError

    try:
        key, raw = create_api_key(name=args.name, username=args.user)
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    print(raw)
    print(f"# API key '{key.name}' acts as user '{key.user.username}' ({key.user.get_role_display()}). "
          "It is shown only once.", file=sys.stderr)
    return 0


def cmd_sweep(args) -> int:
    _django()
    from yiwang.workorders.sla import sweep

    events = sweep()
    print(f"flipped {len(events)} work orders")
    return 0


def cmd_manage(args) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiwang.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["yiwang manage", *args.rest])
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="yiwang", description="yiwang: 12345 hotline and digital-governance platform")
    sub = p.add_subparsers(dest="command", required=True)
    for name, func, default_workers in (("demo", cmd_demo, 2), ("serve", cmd_serve, default_web_workers())):
        s = sub.add_parser(name)
        s.add_argument("--port", type=int, default=8000)
        s.add_argument("--host", default="127.0.0.1")
        s.add_argument("--workers", type=int, default=default_workers,
                       help=f"web server processes (default here: {default_workers})")
        s.add_argument("--threads", type=int, default=4, help="threads per worker process")
        if name == "serve":
            s.add_argument("--no-worker", action="store_true", help="do not start the job worker beside the web workers")
        s.set_defaults(func=func)
    sub.add_parser("worker").set_defaults(func=cmd_worker)
    sub.add_parser("sweep").set_defaults(func=cmd_sweep)
    ak = sub.add_parser("apikey").add_subparsers(dest="apikey_command", required=True)
    create = ak.add_parser("create")
    create.add_argument("name")
    create.add_argument("--user", help="act as this existing user (default: a new system account)")
    create.set_defaults(func=cmd_apikey)
    from yiwang.smartdispatch import cli as dispatch_cli

    dispatch_cli.add_parser(sub)
    from yiwang.insight import cli as insight_cli

    insight_cli.add_parser(sub)
    m = sub.add_parser("manage")
    m.add_argument("rest", nargs=argparse.REMAINDER)
    m.set_defaults(func=cmd_manage)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "dispatch":
        _django()
        from yiwang.smartdispatch.cli import run

        return run(args.func, args)
    if args.command == "insight":
        from yiwang.insight.cli import run as insight_run

        return insight_run(args.func, args)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
