"""A page names the people it mentions and reads only their accounts (names.names_mentioned);
the instance, task and 抄送 pages used to read every account on each opening."""

from __future__ import annotations

from sqlalchemy import update

from engine.context import EngineContext
from engine.read.names import everyone, names_mentioned
from engine.store.db import transaction
from engine.store.tables import UserRecord
from tests.conftest import make_staff
from tests.sql_log import statements_run


def test_every_string_at_any_depth_and_deactivated_accounts_too(ctx: EngineContext) -> None:
    make_staff(ctx)
    with transaction(ctx.sessions) as s:
        s.execute(update(UserRecord).where(UserRecord.username == "mgr").values(is_active=False))
    shown = {
        "approver": ["alice", {"nested": ("mgr",)}],  # a list of rows, a tuple
        "mgr": 3,  # a key
        "note": "alice " * 20,  # longer than any username: not asked for
        "count": 5,
        "when": None,
    }
    with statements_run(ctx.db) as seen, transaction(ctx.sessions) as s:
        named = names_mentioned(s, shown, "nobody", None)
    assert named == {"alice": "Alice", "mgr": "Mgr"}  # mgr is deactivated and still named
    [read] = seen
    assert " IN (" in read and "alice alice" not in str(read)


def test_very_many_candidates_read_every_account(ctx: EngineContext) -> None:
    make_staff(ctx)
    with transaction(ctx.sessions) as s:
        many = [f"word{i}" for i in range(600)]
        assert names_mentioned(s, many, "alice") == everyone(s)
        assert names_mentioned(s) == {}  # nothing mentioned: no read at all
