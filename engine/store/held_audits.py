"""Audit entries of one save, written in one INSERT at its end.

The ORM inserts audit rows one statement each on SQLite (it cannot get their ids back in order
from a multi-row INSERT), and a save adds several (the caller's, its notes, created tasks, the
completion). While `engine.store.instance_state.save` runs, its flushes go through its `HeldAudits`,
which takes the pending entries out of the session and holds them; `write` inserts them all, in
creation order, as one executemany. Nothing inside a save reads the audit log.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, inspect
from sqlalchemy.orm import Session

from engine.store.prepared import Prepared
from engine.store.tables import AuditRecord, InstanceRecord
from engine.store.versioning import flush_record_first

_COLUMNS = [c.key for c in AuditRecord.__table__.columns if c.key != "id"]
_INSERT = Prepared(insert(AuditRecord.__table__))


def _take_pending(session: Session) -> list[dict[str, Any]]:
    """The audit records waiting in the session, taken out of it as column values, in the
    order they were added."""
    pending = [o for o in session.new if isinstance(o, AuditRecord)]
    pending.sort(key=lambda o: inspect(o).insert_order)
    for entry in pending:
        session.expunge(entry)
    return [{key: getattr(o, key) for key in _COLUMNS} for o in pending]


class HeldAudits:
    """The audit entries of one save, held until its end. Made by the save and passed to what
    runs inside it (the save hooks); dropped with it when the save fails (its caller rolls
    back)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._entries: list[dict[str, Any]] = []

    def add(self, row: dict[str, Any]) -> None:
        """An entry of the save (`audit_row`), after those already waiting in the session: no
        record object is made for it (the ORM's costs more than the row it writes)."""
        self._entries += _take_pending(self._session)
        self._entries.append(row)

    def flush(self, record: InstanceRecord | None = None) -> None:
        """`session.flush()` for code running inside the save (audit entries wait for its
        end). A concurrent update of `record` (its version moved on) raises Conflict."""
        self._entries += _take_pending(self._session)
        if record is None:
            self._session.flush()
            return
        flush_record_first(self._session, record)

    def write(self, into: list[dict[str, Any]] | None = None) -> None:
        """Insert the held entries and any still pending, in creation order, as one
        statement; or add them to ``into`` (a timer batch inserts all its instances' at once)."""
        rows = self._entries + _take_pending(self._session)
        self._entries = []
        if into is not None:
            into += rows
        else:
            insert_audits(self._session, rows)


def insert_audits(session: Session, rows: list[dict[str, Any]]) -> None:
    """Audit rows (column values) in one executemany, in the order given."""
    if rows:
        _INSERT.run(session.connection(), rows)
