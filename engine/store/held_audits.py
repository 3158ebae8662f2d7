"""Audit entries of one save, written in one INSERT at its end.

The ORM inserts audit rows one statement each on SQLite (it cannot get their ids back in order
from a multi-row INSERT), and a save adds several (the caller's, its notes, created tasks, the
completion). While `engine.store.instance_state.save` runs, its flushes go through `flush` here,
which takes
the pending entries out of the session and holds them; `write` inserts them all, in creation
order, as one executemany. Nothing inside a save reads the audit log.
"""

from __future__ import annotations

from sqlalchemy import insert, inspect
from sqlalchemy.orm import Session

from engine.store.tables import AuditRecord, InstanceRecord
from engine.store.versioning import flush_checked

# session.info key: the held entries, set while a save runs.
HELD = "planflow.held_audits"
_COLUMNS = [c.key for c in AuditRecord.__table__.columns if c.key != "id"]
_INSERT = insert(AuditRecord.__table__)  # built once


def begin(session: Session) -> None:
    session.info[HELD] = []


def discard(session: Session) -> None:
    """A failed save is rolled back by its caller: its entries go with it."""
    session.info.pop(HELD, None)


def _take_pending(session: Session) -> list[AuditRecord]:
    pending = [o for o in session.new if isinstance(o, AuditRecord)]
    pending.sort(key=lambda o: inspect(o).insert_order)
    for entry in pending:
        session.expunge(entry)
    return pending


def flush(session: Session, record: InstanceRecord | None = None) -> None:
    """`session.flush()` for code running inside a save (audit entries wait for its end).
    A concurrent update of `record` (its version moved on) raises Conflict."""
    held: list[AuditRecord] | None = session.info.get(HELD)
    if held is not None:
        held += _take_pending(session)
    if record is None:
        session.flush()
        return
    flush_checked(session, record)


def write(session: Session) -> None:
    """Insert the held entries and any still pending, in creation order, as one statement."""
    entries = session.info.pop(HELD, []) + _take_pending(session)
    if entries:
        session.execute(_INSERT, [{key: getattr(o, key) for key in _COLUMNS} for o in entries])
