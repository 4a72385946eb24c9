"""yiwang.core.sqlite: threads, then processes, take turns to write and always give the turn back."""

import fcntl
import os
import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.db.utils import OperationalError

from yiwang.core.sqlite import base as sqlite_base

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite backend's own behaviour")

ALIAS = "writer_turns"


@pytest.fixture
def open_db(tmp_path, django_db_blocker):
    """Opens a connection of this thread to one SQLite file, as the settings configure it.

    No test transaction (it would hold the turn): the file is this test's own."""
    settings = connections.configure_settings({"default": {
        "ENGINE": "yiwang.core.sqlite", "NAME": str(tmp_path / "turns.sqlite3"),
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 5},
    }})["default"]
    opened = []

    def open_(timeout: float = 5):
        conn = sqlite_base.DatabaseWrapper({**settings, "OPTIONS": {**settings["OPTIONS"], "timeout": timeout}},
                                           alias=ALIAS)
        connections[ALIAS] = conn  # this thread's connection for transaction.atomic(using=ALIAS)
        opened.append(conn)
        return conn

    with django_db_blocker.unblock():
        with open_().cursor() as cursor:
            cursor.execute("CREATE TABLE note (text TEXT)")
        yield open_
        for conn in opened:
            if conn._thread_ident == threading.get_ident():  # the threads close their own
                conn.close()
    assert not sqlite_base._writer.locked()


def insert(conn, text: str) -> None:
    with conn.cursor() as cursor:
        cursor.execute("INSERT INTO note (text) VALUES (%s)", [text])


def notes(conn) -> list[str]:
    with conn.cursor() as cursor:
        cursor.execute("SELECT text FROM note ORDER BY rowid")
        return [row[0] for row in cursor.fetchall()]


def test_a_transaction_gives_the_turn_back_however_it_ends(open_db):
    conn = open_db()
    with transaction.atomic(using=ALIAS):
        assert sqlite_base._writer.locked()
        insert(conn, "committed")
    assert not sqlite_base._writer.locked()

    with pytest.raises(ZeroDivisionError), transaction.atomic(using=ALIAS):
        insert(conn, "rolled back")
        1 / 0
    assert not sqlite_base._writer.locked()

    with transaction.atomic(using=ALIAS):
        insert(conn, "lost with the connection")
        conn.close()
    assert not sqlite_base._writer.locked()
    assert notes(open_db()) == ["committed"]


def test_a_second_writer_of_the_process_waits_its_turn(open_db):
    first = open_db()
    holding, done = threading.Event(), {}

    def second_writer():
        conn = open_db()
        holding.wait()
        with transaction.atomic(using=ALIAS):
            done["began"] = time.monotonic()
            insert(conn, "second")
        conn.close()

    thread = threading.Thread(target=second_writer)
    thread.start()
    with transaction.atomic(using=ALIAS):
        insert(first, "first")
        holding.set()
        time.sleep(0.3)
        committed = time.monotonic()
    thread.join(10)
    assert done["began"] >= committed
    assert notes(first) == ["first", "second"]


def test_a_writer_that_waits_too_long_fails_as_sqlite_would_and_can_write_later(open_db):
    open_db()
    holding, release, failures = threading.Event(), threading.Event(), []

    def holder():
        conn = open_db()
        with transaction.atomic(using=ALIAS):
            insert(conn, "held")
            holding.set()
            release.wait(10)
        conn.close()

    thread = threading.Thread(target=holder)
    thread.start()
    holding.wait(10)
    impatient = open_db(timeout=0.2)
    with pytest.raises(OperationalError, match="database is locked"):
        with transaction.atomic(using=ALIAS):
            failures.append("began")
    release.set()
    thread.join(10)
    assert failures == []
    with transaction.atomic(using=ALIAS):
        insert(impatient, "later")
    assert notes(impatient) == ["held", "later"]


# --- the turn between processes: an flock on a file beside the database ---------------

def turn_is_free(conn) -> bool:
    """Whether another holder (another open file description, as another process has) could take the turn."""
    fd = os.open(f"{conn.settings_dict['NAME']}.writer-turn", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # and with it the lock, if it was taken
    return True


def test_a_transaction_holds_the_turn_of_the_process_and_gives_it_back(open_db):
    conn = open_db()
    with transaction.atomic(using=ALIAS):
        insert(conn, "committed")
        assert not turn_is_free(conn)
    assert turn_is_free(conn)
    with pytest.raises(ZeroDivisionError), transaction.atomic(using=ALIAS):
        insert(conn, "rolled back")
        assert not turn_is_free(conn)
        1 / 0
    assert turn_is_free(conn)
    assert notes(conn) == ["committed"]


def test_a_writer_waits_while_another_process_has_the_turn_then_fails_as_sqlite_would(open_db):
    conn = open_db(timeout=0.3)
    other = os.open(f"{conn.settings_dict['NAME']}.writer-turn", os.O_RDWR | os.O_CREAT)
    fcntl.flock(other, fcntl.LOCK_EX)  # as another process's writer would
    try:
        started = time.monotonic()
        with pytest.raises(OperationalError, match="database is locked"):
            with transaction.atomic(using=ALIAS):
                insert(conn, "never")
        assert time.monotonic() - started >= 0.3
        assert not sqlite_base._writer.locked()  # the process's own turn is given back too
    finally:
        os.close(other)
    with transaction.atomic(using=ALIAS):
        insert(conn, "after the other")
    assert notes(conn) == ["after the other"]


def test_a_forked_child_opens_its_own_lock_file_and_memory_databases_need_none(tmp_path, monkeypatch):
    name = str(tmp_path / "fork.sqlite3")
    mine = sqlite_base._turn_file(name)
    assert sqlite_base._turn_file(name) == mine
    monkeypatch.setattr(sqlite_base.os, "getpid", lambda: -1)  # as in a child after fork()
    child = sqlite_base._turn_file(name)
    assert child != mine  # flock would count a shared descriptor as the same holder
    assert sqlite_base._turn_file(":memory:") is None
    assert sqlite_base._turn_file("file:memorydb_default?mode=memory&cache=shared") is None
