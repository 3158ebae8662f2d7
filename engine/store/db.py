"""Database engine and session factory; SQLite gets WAL, synchronous=NORMAL, a busy timeout and
an in-process writer lock."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from engine import jsoncodec
from engine.errors import Conflict

SQLITE_BUSY_TIMEOUT_MS = 10_000


def make_engine(url: str, **kwargs: Any) -> Engine:
    # JSON columns (instance data, audit details, notifications) through the one codec.
    kwargs = {"json_serializer": jsoncodec.dumps, "json_deserializer": jsoncodec.loads, **kwargs}
    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
        factory = _writer_locked_connection_class()
        engine = create_engine(
            url,
            connect_args={
                "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                "check_same_thread": False,
                "factory": factory,
            },
            **kwargs,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "before_cursor_execute", _take_writer_lock)
        event.listen(engine, "after_cursor_execute", _release_if_autocommit)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)


# The statements before which sqlite3 opens a write transaction (its implicit BEGIN).
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _writer_locked_connection_class() -> type[sqlite3.Connection]:
    """A sqlite3 connection class whose writers queue on one in-process lock per engine.

    SQLite admits one writer; the others wait in its busy handler, which *sleeps* (1, 2, 5 …
    100 ms) rather than waking when the lock is free, so concurrent requests of one server
    lost far more time sleeping than writing (c=4 slower than c=1). Threads of this process
    now hand the write lock over through a Python lock at once; other processes (a separate
    scheduler) still meet the busy timeout. Taken before the first write statement of a
    transaction, released after its COMMIT/ROLLBACK, so reads never wait."""
    lock = threading.Lock()

    class WriterLockedConnection(sqlite3.Connection):
        holds_writer_lock = False

        def take_writer_lock(self) -> None:
            if self.holds_writer_lock:
                return
            if not lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
                raise sqlite3.OperationalError("database is locked (in-process writer lock)")
            self.holds_writer_lock = True

        def release_writer_lock(self) -> None:
            if self.holds_writer_lock:
                self.holds_writer_lock = False
                lock.release()

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                self.release_writer_lock()

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self.release_writer_lock()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self.release_writer_lock()

    return WriterLockedConnection


def _take_writer_lock(
    _conn: Any, cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
) -> None:
    if statement.lstrip()[:7].upper().startswith(_WRITES):
        take = getattr(cursor.connection, "take_writer_lock", None)
        if take is not None:
            take()


def _release_if_autocommit(
    _conn: Any, cursor: Any, _statement: str, _params: Any, _context: Any, _many: bool
) -> None:
    # An AUTOCOMMIT connection (isolation_level=None) never commits through the driver.
    dbapi = cursor.connection
    if getattr(dbapi, "holds_writer_lock", False) and not dbapi.in_transaction:
        dbapi.release_writer_lock()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(
    factory: sessionmaker[Session], session: Session | None = None
) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error. Used at the edges only
    (a request, a CLI command, a scheduler job). ``session``: one the edge already opened (the
    API's token check), finished here like a new one."""
    session = session if session is not None else factory()
    try:
        yield session
        session.commit()
    except StaleDataError as exc:
        session.rollback()
        raise Conflict("数据已被其他操作更新，请刷新后重试 (changed concurrently)") from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def commit_writes(session: Session) -> None:
    """Before a write's answer is read: on SQLite commit what ``session`` has written so far,
    so the one writer lock (`_writer_locked_connection_class`) is free while the answer is
    read, and keep the connection, the transaction and the objects for those reads (the
    session's own commit would return the connection to the pool and check it out again: 3 %
    of a bench request's instructions, bench/api_instructions.py); the edge's closing commit
    then commits what is written after this, or nothing (sqlite3 begins a transaction only
    before a write). Elsewhere nothing: the edge's commit is the only one (a second would
    also check the connection out again: a PostgreSQL pre-ping)."""
    if session.get_bind().dialect.name == "sqlite":
        session.flush()
        session.connection().connection.dbapi_connection.commit()  # type: ignore[union-attr]


def ping(session: Session) -> None:
    """One round trip to the database (health checks): raises if it does not answer."""
    session.execute(text("SELECT 1"))
