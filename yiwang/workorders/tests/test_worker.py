"""The job worker for real: a django-q2 cluster in its own process runs a queued
task and the scheduled SLA sweep, the intake followers run beside it, and all of
it stops cleanly on SIGTERM.

Runs against a throwaway SQLite database (the ORM broker's queries are the same
on PostgreSQL, which the rest of the suite covers).
"""

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from yiwang.cli import first_signal_only

SWEEP = "yiwang.workorders.jobs.run_sla_sweep"


def child_processes(pid: int) -> dict[int, str]:
    """{pid: command line} of the processes whose parent is ``pid`` (Linux /proc)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
            if parent == pid:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    found[int(entry)] = f.read().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue  # the process ended while we looked
    return found


def children(pid: int) -> list[str]:
    """Command lines of the processes whose parent is ``pid``."""
    return list(child_processes(pid).values())


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def succeeded(db) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT func FROM django_q_task WHERE success = 1")]


def migrated_env(tmp_path) -> dict:
    # The worker's start, jobs and stop are under test here, not its priority
    # (core/tests/test_worker_priority.py): at its default nice it would start slowly
    # while the suite's other processes keep the cores busy.
    env = {**os.environ, "YIWANG_VAR_DIR": str(tmp_path), "YIWANG_JOB_WORKERS": "1", "YIWANG_WORKER_NICE": "0"}
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "yiwang.cli", "manage", "migrate", "-v", "0"], env=env, check=True)
    return env


def cluster_started(worker_pid: int) -> bool:
    """The sentinel (a child of the worker) has started its own processes (the job pool)."""
    return any(child_processes(pid) for pid in child_processes(worker_pid))


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="runs once, on the SQLite pass")
def test_worker_process_runs_queued_and_scheduled_jobs(tmp_path):
    env = migrated_env(tmp_path)
    db = tmp_path / "yiwang.sqlite3"
    subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django_q.tasks import async_task; "
         f"async_task('{SWEEP}', task_name='sweep-now')"],
        env={**env, "DJANGO_SETTINGS_MODULE": "yiwang.settings"}, check=True,
    )
    worker = subprocess.Popen([sys.executable, "-m", "yiwang.cli", "worker"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 75  # the scheduler first looks after ~30 s
        while time.monotonic() < deadline and succeeded(db).count(SWEEP) < 2:
            time.sleep(1)
        assert succeeded(db).count(SWEEP) >= 2  # the queued sweep and the scheduled one
        assert any("follow_intake" in cmd for cmd in children(worker.pid))
    finally:
        worker.send_signal(signal.SIGTERM)  # the cluster stops its own children in order
        time.sleep(0.05)
        worker.send_signal(signal.SIGINT)  # an impatient second signal must not hang the stop
        try:
            assert worker.wait(timeout=30) == 0
            deadline = time.monotonic() + 10
            while group_alive(worker.pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert not group_alive(worker.pid)  # the followers and the cluster's processes are gone too
        finally:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="runs once, on the SQLite pass")
def test_worker_stops_when_its_whole_process_group_gets_sigterm(tmp_path):
    """As ``systemctl stop`` and ``docker stop`` do: the cluster's processes die of it at once.

    The cluster's own stop then waited for ever on its dead sentinel (see
    ``cli.wait_for_cluster_stop``); this test hung the worker until it was killed.
    """
    env = migrated_env(tmp_path)
    worker = subprocess.Popen([sys.executable, "-m", "yiwang.cli", "worker"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not cluster_started(worker.pid):
            time.sleep(0.2)
        assert cluster_started(worker.pid)
        time.sleep(1)  # the sentinel is in its guard loop, waiting on the stop event
        os.killpg(worker.pid, signal.SIGTERM)
        assert worker.wait(timeout=15) == 0
        deadline = time.monotonic() + 10
        while group_alive(worker.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not group_alive(worker.pid)
    finally:
        if worker.poll() is None or group_alive(worker.pid):
            os.killpg(worker.pid, signal.SIGKILL)


def test_a_second_stop_signal_is_ignored():
    """The cluster's stop holds a lock; running it again from a second signal hung the worker."""
    stopping, calls = threading.Event(), []
    handler = first_signal_only(stopping, lambda signum, frame: calls.append(signum))
    handler(signal.SIGTERM, None)
    handler(signal.SIGINT, None)
    assert stopping.is_set() and calls == [signal.SIGTERM]
