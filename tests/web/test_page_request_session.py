"""A page request reads through one session: the actor lookup, the view's unit of work and the
reads while the page renders (nav counts, the bell) share it, so a list page checks out at most
two connections (the view's commit returns the first) and commits once, and none is left
checked out afterwards. Before: one session per read, 4–5 checkouts and commits per page.
The statement counts are budgets, as in tests/api/test_statement_budget.py: measured plus a
small margin, so a change that adds reads to every page fails here and has to say why."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from engine.context import EngineContext
from engine.people.accounts import actor_for
from engine.store.db import transaction
from engine.usecases import instances
from tests.conftest import deploy_fixture
from tests.pages import as_user

MARGIN = 1
# Measured on SQLite (alice: one instance started, her task done; mgr: its review open).
STATEMENTS = {
    ("alice", "/tasks"): 9,
    ("alice", "/tasks/done"): 6,
    ("alice", "/instances"): 8,
    ("alice", "/instances/mine"): 6,
    ("mgr", "/tasks"): 7,
    ("mgr", "/instances"): 10,
}


class Counts:
    def __init__(self) -> None:
        self.checkouts = self.commits = self.statements = 0

    def checkout(self, *_a: Any) -> None:
        self.checkouts += 1

    def commit(self, *_a: Any) -> None:
        self.commits += 1

    def statement(self, *_a: Any) -> None:
        self.statements += 1


@pytest.fixture
def pages(sqlite_ctx: EngineContext, api_staff: Any) -> Iterator[tuple[Any, Counts]]:
    from web import create_app

    ctx = sqlite_ctx
    deploy_fixture(ctx)
    with transaction(ctx.sessions) as s:
        instances.start(ctx, s, actor_for(s, "alice"), "approval_demo",
                        {"title": "预算", "amount": 5000})
    counts = Counts()
    event.listen(ctx.db.pool, "checkout", counts.checkout)
    event.listen(ctx.db, "commit", counts.commit)
    event.listen(ctx.db, "before_cursor_execute", counts.statement)
    yield create_app({"TESTING": True}, context=ctx), counts
    event.remove(ctx.db.pool, "checkout", counts.checkout)
    event.remove(ctx.db, "commit", counts.commit)
    event.remove(ctx.db, "before_cursor_execute", counts.statement)


@pytest.mark.parametrize("user, path", sorted(STATEMENTS))
def test_a_list_page_reads_through_one_session(
    pages: tuple[Any, Counts], sqlite_ctx: EngineContext, user: str, path: str
) -> None:
    app, counts = pages
    client = as_user(app, user)
    assert client.get(path).status_code == 200  # warm: the models' names, the parsed model
    counts.__init__()  # type: ignore[misc]
    assert client.get(path).status_code == 200
    assert counts.checkouts <= 2, counts.checkouts
    assert counts.commits == 1, counts.commits
    assert counts.statements <= STATEMENTS[(user, path)] + MARGIN, counts.statements
    assert sqlite_ctx.db.pool.checkedout() == 0  # the request's session was closed


def test_a_page_without_a_unit_of_work_closes_its_session(
    pages: tuple[Any, Counts], sqlite_ctx: EngineContext
) -> None:
    app, counts = pages
    client = as_user(app, "alice")
    counts.__init__()  # type: ignore[misc]
    assert client.get("/no-such-page").status_code == 404
    assert client.get("/login").status_code in (200, 302)
    assert counts.commits == 0
    assert sqlite_ctx.db.pool.checkedout() == 0
