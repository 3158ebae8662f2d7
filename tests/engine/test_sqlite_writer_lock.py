"""SQLite writers of one process queue on an in-process lock (engine.store.db) instead of sleeping
in
SQLite's busy handler; the lock must be released by commit, rollback and close alike."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from engine.store.db import commit_writes, make_engine


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


def test_commit_writes_commits_and_frees_the_lock_on_the_same_connection(db: Engine):
    """A write's answer is read after `commit_writes`: the write is committed (others see it,
    a failure after it cannot undo it), the writer lock is free, and the session goes on with
    the connection it had, so a later write is committed by the session's own commit."""
    sessions = sessionmaker(db)
    checkouts: list[object] = []
    event.listen(db, "checkout", lambda *_: checkouts.append(1))
    with sessions() as session:
        session.execute(text("INSERT INTO t (who) VALUES ('a')"))
        conn = session.connection()
        driver = conn.connection.dbapi_connection
        assert _holds(conn)
        commit_writes(session)
        assert not _holds(conn), "the answer's read must not hold the writer lock"
        assert session.execute(text("SELECT count(*) FROM t")).scalar() == 1
        assert session.connection().connection.dbapi_connection is driver
        assert len(checkouts) == 1, "the connection stayed with the session"
        with db.connect() as other:
            assert other.execute(text("SELECT who FROM t")).scalars().all() == ["a"]
        session.execute(text("INSERT INTO t (who) VALUES ('b')"))
        session.rollback()  # a failure after the answer's write: only what came later is undone
    with sessions() as session:
        session.execute(text("INSERT INTO t (who) VALUES ('c')"))
        commit_writes(session)
        session.execute(text("INSERT INTO t (who) VALUES ('d')"))
        session.commit()
    with db.connect() as conn:
        assert conn.execute(text("SELECT who FROM t ORDER BY id")).scalars().all() == [
            "a", "c", "d"]
