"""SQLite writers of one process queue on an in-process lock (engine.store.db) instead of sleeping
in
SQLite's busy handler; the lock must be released by commit, rollback and close alike."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from engine.store.db import make_engine


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'lock.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT)"))
    yield engine
    engine.dispose()


def _holds(conn) -> bool:
    return conn.connection.dbapi_connection.holds_writer_lock


def test_the_lock_is_taken_by_the_first_write_and_released_by_commit(db: Engine):
    with db.connect() as conn:
        conn.execute(text("SELECT count(*) FROM t"))
        assert not _holds(conn), "reads never take the writer lock"
        conn.execute(text("INSERT INTO t (who) VALUES ('a')"))
        assert _holds(conn)
        conn.commit()
        assert not _holds(conn)


def test_rollback_and_close_release_the_lock(db: Engine):
    with db.connect() as conn:
        conn.execute(text("INSERT INTO t (who) VALUES ('a')"))
        conn.rollback()
        assert not _holds(conn)
    with pytest.raises(RuntimeError), db.begin() as conn:
        conn.execute(text("INSERT INTO t (who) VALUES ('b')"))
        raise RuntimeError("the unit of work fails")
    # an abandoned writer: its connection is closed without commit
    conn = db.connect()
    conn.execute(text("INSERT INTO t (who) VALUES ('c')"))
    conn.connection.dbapi_connection.close()
    conn.invalidate()
    started = time.monotonic()
    with db.begin() as other:
        other.execute(text("INSERT INTO t (who) VALUES ('d')"))
    assert time.monotonic() - started < 1.0, "a released lock does not make the next writer wait"
    with db.connect() as conn:
        assert conn.execute(text("SELECT who FROM t ORDER BY id")).scalars().all() == ["d"]


def test_concurrent_writers_wait_for_each_other_and_all_commit(db: Engine):
    first_wrote = threading.Event()
    order: list[str] = []
    errors: list[BaseException] = []

    def slow_writer() -> None:
        try:
            with db.begin() as conn:
                conn.execute(text("INSERT INTO t (who) VALUES ('slow')"))
                first_wrote.set()
                time.sleep(0.3)  # holds the write lock
                order.append("slow commits")
        except BaseException as exc:
            errors.append(exc)

    def second_writer() -> None:
        try:
            first_wrote.wait(5)
            with db.begin() as conn:
                conn.execute(text("INSERT INTO t (who) VALUES ('second')"))
                order.append("second wrote")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=slow_writer), threading.Thread(target=second_writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors, errors
    assert order == ["slow commits", "second wrote"]
    with db.connect() as conn:
        assert sorted(conn.execute(text("SELECT who FROM t")).scalars()) == ["second", "slow"]
