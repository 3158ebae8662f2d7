"""The task page decides who may see and do what once, and restores an open task's instance once
(`engine.operations.task_page`): its view, its operations panel and its 退回 targets used to
decide access three or four times and restore the instance twice. The statement budget is the
count measured when it was set (no margin), as for the API (tests/api/test_statement_budget.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from engine.store import instance_state
from tests.pages import as_user, csrf, html
from tests.web.staff_helpers import (
    ctx_fixture,  # noqa: F401  (the ctx fixture)
    sent_back,
    task_id,
)

# GET /tasks/<id> on SQLite, bell and nav counts included. Before one access decision per page:
# 25 for the owner of a returned submit task and for the manager on its review (each with 4
# access decisions and 2 restores), 22 for a finished task (3 access decisions); 22 / 22 / 20
# before the operations panel used the signers it had read to tell a 会签 step; 20 / 20 / 18
# before the page read the group names once (its labels and the people directory read them
# each); 19 / 19 / 17 before the operations panel read a step's signature row and its signers in
# one statement and the 退回 targets stopped looking for a signature row the panel had ruled out;
# 17 / 17 / 16 before it read the names of the people it mentions with its history's instead of
# every account and then some of them again (engine.read.names.names_mentioned).
MEASURED = {"owner": 16, "manager": 16, "finished": 15}
ACCESS = "FROM human_tasks JOIN process_instances"


@pytest.fixture
def reads(ctx: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[Any]]]:
    """The statements and restores of what runs while it is open."""
    seen: dict[str, list[Any]] = {"statements": [], "restores": []}
    restore = instance_state.restore

    def counted(*args: Any, **kwargs: Any) -> Any:
        seen["restores"].append(args)
        return restore(*args, **kwargs)

    def statement(_conn: Any, _cursor: Any, text: str, *_args: Any) -> None:
        seen["statements"].append(" ".join(text.split()))

    monkeypatch.setattr(instance_state, "restore", counted)
    event.listen(ctx.db, "before_cursor_execute", statement)
    yield seen
    event.remove(ctx.db, "before_cursor_execute", statement)


def _opened(client: Any, path: str, seen: dict[str, list[Any]]) -> str:
    client.get(path)  # warm: the model parsed, the session's caches
    for found in seen.values():
        found.clear()
    return html(client.get(path))


def test_the_owner_page_decides_access_once_and_restores_once(app, ctx, reads):
    _, submits = sent_back(ctx, 2)
    page = _opened(as_user(app, "alice"), f"/tasks/{submits[-1]}", reads)
    assert "第1轮" in page  # the page it is: the history, the form
    assert sum(ACCESS in s for s in reads["statements"]) == 1, reads["statements"]
    assert len(reads["restores"]) == 1
    assert len(reads["statements"]) <= MEASURED["owner"], reads["statements"]


def test_the_manager_page_plans_its_return_targets_on_the_same_restore(app, ctx, reads):
    iid, _ = sent_back(ctx, 1)
    with_review = as_user(app, "alice")
    r = with_review.post(
        f"/tasks/{task_id(ctx, iid)}/complete", json={"data": {"description": "再审"}},
        headers={"X-CSRF-Token": csrf(with_review)},
    )
    assert r.status_code == 200, r.get_json()
    page = _opened(as_user(app, "mgr"), f"/tasks/{task_id(ctx, iid)}", reads)
    # the 退回 panel lists the submit step, planned on the page's one restore
    assert 'id="ops-return"' in page and 'name="target" value="submit"' in page
    assert sum(ACCESS in s for s in reads["statements"]) == 1, reads["statements"]
    assert len(reads["restores"]) == 1
    assert len(reads["statements"]) <= MEASURED["manager"], reads["statements"]


def test_a_finished_task_restores_nothing(app, ctx, reads):
    _, submits = sent_back(ctx, 1)
    page = _opened(as_user(app, "alice"), f"/tasks/{submits[0]}", reads)
    assert "第0轮" in page
    assert reads["restores"] == []
    assert sum(ACCESS in s for s in reads["statements"]) == 1, reads["statements"]
    assert len(reads["statements"]) <= MEASURED["finished"], reads["statements"]
