"""`engine.store.prepared`: a prepared write sends the database what `Connection.execute` of the
same statement sends (the SQL and every parameter, after the types' processing), on SQLite and
PostgreSQL, for each statement the save writes through it; what it cannot send the same way it
refuses."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import bindparam, event, insert, select, update
from sqlalchemy.exc import IntegrityError

from engine.context import EngineContext
from engine.notify import notifications
from engine.people import accounts
from engine.people.accounts import Actor, issue_token
from engine.read import instance_detail
from engine.store import held_audits, task_projection, timer_rows, versioning
from engine.store.db import transaction
from engine.store.prepared import Prepared
from engine.store.tables import AuditRecord, HumanTaskRow, InstanceRecord, TaskCandidateRow
from tests.engine.approval_helpers import start_with_history
from tests.sql_log import statements_run

SHANGHAI = timezone(timedelta(hours=8))
AT = datetime(2026, 12, 8, 10, 30, 15, 123456, tzinfo=SHANGHAI)


class _Sent(Exception):
    """Raised by the listener once it has seen what would be sent: nothing is written."""


def _sent(ctx: EngineContext, run: Any) -> tuple[str, Any]:
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))
        raise _Sent

    with ctx.db.connect() as connection:
        event.listen(connection, "before_cursor_execute", capture)
        with pytest.raises(_Sent):
            run(connection)
        connection.rollback()
    [(statement, params)] = seen
    return statement, _comparable(params)


def _comparable(params: Any) -> Any:
    """psycopg's JSON wrappers compare by identity: by their object and encoder here."""
    if isinstance(params, list):
        return [_comparable(p) for p in params]
    if isinstance(params, dict):
        return {k: _comparable(v) for k, v in params.items()}
    if isinstance(params, tuple):
        return tuple(_comparable(v) for v in params)
    if type(params).__name__ in ("Json", "Jsonb"):
        return (type(params).__name__, params.obj, params.dumps)
    return params


def _task(task_id: str, **changes: Any) -> dict[str, Any]:
    row = {key: None for key in task_projection._TASK_KEYS}
    row.update(id=task_id, instance_id=7, model_key="approval_demo", element_id="review",
               name="审批", status="open", created_at=AT, due_at=AT + timedelta(days=3))
    return {**row, **changes}


def _cases(dialect: str) -> dict[str, tuple[Prepared, Any]]:
    audit = {"instance_id": 7, "at": AT, "actor": "alice", "action": "complete",
             "task_id": "t1", "element_id": "review", "details": {"备注": "同意", "n": [1, 2]}}
    closed = _task("t0", status="completed", completed_at=AT, completed_by="alice")
    return {
        "audit, one row": (held_audits._INSERT, audit),
        "audit, executemany": (held_audits._INSERT, [audit, {**audit, "details": {}}]),
        "tasks upsert": (task_projection._UPSERTS[dialect], [_task("t1"), closed]),
        "tasks insert": (task_projection._INSERT_TASKS, [_task("t1")]),
        "tasks close": (task_projection._CLOSE, [{"b_id": "t0", "status": "cancelled",
                                                  "completed_at": AT, "completed_by": None}]),
        "candidates": (task_projection._INSERT_CANDIDATES,
                       [{"task_id": "t1", "group_name": "planning_manager"}]),
        "timers": (timer_rows._INSERT, [{"instance_id": 7, "task_id": "t2",
                                         "element_id": "wait", "kind": "timer",
                                         "due_at": AT}]),
        "bell rows": (notifications._INSERT_NOTIFICATIONS, [
            {"username": "alice", "event": "task_assigned", "instance_id": 7, "task_id": "t1",
             "read_at": None, "repeats": 1, "title": "新任务", "body": "请审批",
             "title_en": "New task", "body_en": "Please review", "created_at": AT}]),
        "instance update": (
            versioning._update_of(("data", "stage", "state", "status", "updated_at")),
            {"data": {"amount": 5000, "title": "预算"}, "stage": "审批", "state": "{}",
             "status": "running", "updated_at": AT, "b_id": 7, "b_version": 3,
             "lock_version": 4},
        ),
    }


def test_a_prepared_write_sends_what_execute_sends(ctx: EngineContext) -> None:
    dialect = ctx.db.dialect.name
    for name, (prepared, params) in _cases(dialect).items():
        expected = _sent(ctx, lambda c, p=prepared, v=params: c.execute(p.statement, v))
        got = _sent(ctx, lambda c, p=prepared, v=params: p.run(c, v))
        assert got == expected, name
    # the cases cover processed values: the time is sent in UTC; on SQLite as text, like JSON
    sql, params = _sent(ctx, lambda c: held_audits._INSERT.run(c, _cases(dialect)[
        "audit, one row"][1]))
    assert sql.startswith("INSERT INTO audit_log")
    if dialect == "sqlite":
        assert "2026-12-08 02:30:15.123456" in params
        assert any(isinstance(v, str) and "备注" in v for v in params)
    else:
        assert params["at"].utcoffset() == timedelta(0) and params["at"] == AT


def test_what_a_prepared_write_wrote_reads_back_the_same(ctx: EngineContext) -> None:
    details = {"备注": "同意", "amount": 12345678901234567890, "nested": {"a": [1, None]}}
    with ctx.sessions() as session:
        held_audits.insert_audits(session, [
            {"instance_id": None, "at": AT, "actor": "陈专员", "action": "note",
             "task_id": None, "element_id": None, "details": details},
        ])
        session.commit()
    with ctx.sessions() as session:
        [row] = session.scalars(select(AuditRecord).where(AuditRecord.action == "note"))
        assert row.at == AT and row.at.tzinfo is not None
        assert row.details == details and row.actor == "陈专员"


def test_the_rowcount_of_an_executemany_counts_every_row(ctx: EngineContext) -> None:
    """`task_projection._write` checks the upsert's count against its rows."""
    statement = Prepared(update(AuditRecord.__table__)
                         .where(AuditRecord.__table__.c.id == bindparam("b_id"))
                         .values(actor=bindparam("actor")))
    with ctx.sessions() as session:
        for n in range(3):
            session.add(AuditRecord(instance_id=None, at=AT, actor=f"u{n}", action="x",
                                    details={}))
        session.flush()
        ids = list(session.scalars(select(AuditRecord.id)))
        written = statement.run(session.connection(),
                                [{"b_id": i, "actor": "bob"} for i in [*ids, 10**6]])
        assert written == len(ids) == 3
        session.rollback()


def test_what_cannot_be_sent_the_same_way_is_refused(ctx: EngineContext) -> None:
    tasks = HumanTaskRow.__table__
    expanding = Prepared(update(tasks).where(tasks.c.id.in_(bindparam("ids", expanding=True)))
                         .values(status="cancelled"))
    # `details` has a Python-side default that `execute` would fill in
    defaulted = Prepared(insert(AuditRecord.__table__))
    no_value = Prepared(insert(TaskCandidateRow.__table__)
                        .values(task_id=bindparam("task_id"), group_name=bindparam("g")))
    with ctx.db.connect() as connection:
        with pytest.raises(ValueError, match="expanding"):
            expanding.run(connection, {"ids": ["a"]})
        with pytest.raises(ValueError, match="details"):
            defaulted.run(connection, {"instance_id": 1, "at": AT, "action": "x"})
        with pytest.raises(KeyError, match="'g'"):
            no_value.run(connection, {"task_id": "t1"})
        with pytest.raises(ValueError, match="at least one row"):
            no_value.run(connection, [])
        connection.rollback()


def test_a_naive_time_is_refused_as_execute_refuses_it(ctx: EngineContext) -> None:
    row = {"instance_id": None, "at": datetime(2026, 12, 8, 10, 30), "actor": "x",
           "action": "note", "task_id": None, "element_id": None, "details": {}}
    with ctx.db.connect() as connection, pytest.raises(ValueError, match="naive"):
        held_audits._INSERT.run(connection, row)


def test_a_prepared_read_hands_back_what_execute_hands_back(
    ctx: EngineContext, staff: dict[str, Actor]
) -> None:
    iid = start_with_history(ctx, staff)
    with transaction(ctx.sessions) as s:
        token = issue_token(s, staff["mgr"], ctx.clock.now(), ttl_hours=1)
    reads = [
        (instance_detail._DETAIL, {"instance_id": iid}),
        (instance_detail._LATEST, {"instance_id": iid}),
        (accounts._TOKEN_ACTOR, {"token_hash": accounts._token_hash(token)}),
    ]
    with ctx.db.connect() as connection:
        for prepared, params in reads:
            expected = [tuple(r) for r in connection.execute(prepared.statement, params)]
            got = prepared.rows(connection, params)
            assert [tuple(r) for r in got] == expected and expected
            # aware times, as the column type hands them back; names as `execute`'s rows
            assert any(isinstance(v, datetime) and v.tzinfo for r in got for v in r)
            assert list(got[0]._fields) == list(connection.execute(
                prepared.statement, params).keys())
        [token_row, *_] = accounts._TOKEN_ACTOR.rows(connection, reads[2][1])
        assert token_row.username == "mgr" and token_row.revoked_at is None


def _note(action: str = "note") -> dict[str, Any]:
    return {"instance_id": None, "at": AT, "actor": "x", "action": action, "task_id": None,
            "element_id": None, "details": {}}


def test_on_the_driver_cursor_it_keeps_what_execute_gives(ctx: EngineContext) -> None:
    """The connection's cursor events (the SQLite writer lock, counters), its transaction
    begun as `execute` begins it, and the driver's errors raised as SQLAlchemy's."""
    with statements_run(ctx.db) as seen, ctx.db.connect() as connection:
        assert not connection.in_transaction()
        assert held_audits._INSERT.run(connection, _note("kept")) == 1
        dbapi = connection.connection.dbapi_connection
        # SQLite: the in-process writer lock is held until the transaction ends
        assert getattr(dbapi, "holds_writer_lock", True) is True
        connection.commit()
        assert getattr(dbapi, "holds_writer_lock", False) is False
    assert [s for s in seen if s.startswith("INSERT INTO audit_log")]
    with ctx.sessions() as session:
        assert session.scalars(select(AuditRecord.action)).all() == ["kept"]
    candidate = {"task_id": "no-such-task", "group_name": "g"}
    with ctx.db.connect() as connection, pytest.raises(IntegrityError):
        task_projection._INSERT_CANDIDATES.run(connection, [candidate])  # no such task row


def test_a_write_returning_sends_what_execute_sends_and_hands_back_the_id(
    ctx: EngineContext, staff: dict[str, Actor]
) -> None:
    iid = start_with_history(ctx, staff)  # a version to point at
    with ctx.sessions() as s:
        version_id = s.get(InstanceRecord, iid).version_id
    row = {"model_key": "approval_demo", "version_id": version_id, "version_number": 1,
           "title": "新实例", "status": "running", "started_by": "alice", "created_at": AT,
           "updated_at": AT, "completed_at": None, "state": "{}", "data": {"金额": 1},
           "stage": None, "suspended": False, "passed_elements": None, "lock_version": 1}
    prepared = versioning._INSERT
    assert _sent(ctx, lambda c: prepared.rows(c, row)) == _sent(
        ctx, lambda c: c.execute(prepared.statement, row))
    with ctx.db.connect() as connection:
        [(new_id,)] = prepared.rows(connection, row)
        connection.commit()
    with ctx.sessions() as s:
        stored = s.get(InstanceRecord, new_id)
        assert new_id > iid and stored.data == {"金额": 1} and stored.created_at == AT
