"""An API request runs its token check and its view in one session: one connection checkout
(on PostgreSQL each checkout pays a pre-ping round trip) and one commit at the edge. A write on
SQLite also commits before its answer is read (its single writer lock is released first), on
the same connection (`engine.store.db.commit_writes`: the driver's commit, which the engine's
commit event does not see). Refused requests leave no connection checked out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from engine.context import EngineContext
from tests.conftest import PASSWORD, deploy_fixture, make_staff


class Counts:
    def __init__(self) -> None:
        self.checkouts = 0
        self.commits = 0

    def checkout(self, *_a: Any) -> None:
        self.checkouts += 1

    def commit(self, *_a: Any) -> None:
        self.commits += 1

    def take(self) -> tuple[int, int]:
        out = (self.checkouts, self.commits)
        self.checkouts = self.commits = 0
        return out


@pytest.fixture
def api(ctx: EngineContext) -> Iterator[tuple[Any, Counts]]:
    from web import create_app

    make_staff(ctx)
    deploy_fixture(ctx)
    counts = Counts()
    event.listen(ctx.db.pool, "checkout", counts.checkout)
    event.listen(ctx.db, "commit", counts.commit)
    yield create_app({"TESTING": True}, context=ctx).test_client(), counts
    event.remove(ctx.db.pool, "checkout", counts.checkout)
    event.remove(ctx.db, "commit", counts.commit)


def _token(client: Any, user: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", json={"username": user, "password": PASSWORD})
    assert r.status_code == 201, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def test_one_checkout_and_one_commit_per_request(
    api: tuple[Any, Counts], ctx: EngineContext
) -> None:
    client, counts = api
    alice, mgr = _token(client, "alice"), _token(client, "mgr")
    # On SQLite, too, a write keeps its connection for its answer's read: one checkout.

    counts.take()
    r = client.post("/api/v1/process-instances", headers=alice,
                    json={"process": "approval_demo", "data": {"title": "预算", "amount": 5000}})
    assert r.status_code == 201, r.get_json()
    assert counts.take() == (1, 1)
    inst = r.get_json()
    [task] = inst["open_tasks"]

    r = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=alice,
                    json={"data": {"description": "budget"}})
    assert r.status_code == 200, r.get_json()
    assert counts.take() == (1, 1)
    assert r.get_json()["instance"]["open_tasks"][0]["candidate_groups"] == ["planning_manager"]

    for path in (f"/api/v1/process-instances/{inst['id']}", "/api/v1/tasks", "/api/v1/me"):
        r = client.get(path, headers=mgr)
        assert r.status_code == 200, (path, r.get_json())
        assert counts.take() == (1, 1), path
    assert ctx.db.pool.checkedout() == 0


def test_refused_requests_return_their_connection(
    api: tuple[Any, Counts], ctx: EngineContext
) -> None:
    client, counts = api
    alice = _token(client, "alice")
    assert client.post("/api/v1/auth/revoke", headers=alice).status_code == 204
    counts.take()
    for headers in ({}, {"Authorization": "Bearer nonsense"}, alice):
        for _ in range(3):
            r = client.get("/api/v1/tasks", headers=headers)
            assert r.status_code == 401
            assert r.get_json()["error"]["code"] == "unauthenticated"
    # No header: no database work at all; a bad or revoked token: one checkout, no commit.
    assert counts.take() == (6, 0)
    assert ctx.db.pool.checkedout() == 0


def test_a_failing_view_rolls_back_what_it_wrote(
    api: tuple[Any, Counts], ctx: EngineContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token check's session is the view's: an error raised after the view has written
    (the instance row is flushed, its id assigned) still rolls everything back."""
    from engine.errors import Conflict
    from engine.usecases import instances

    client, _ = api
    alice = _token(client, "alice")
    before = client.get("/api/v1/process-instances", headers=alice).get_json()["total"]
    real_start = instances.start
    written: list[int] = []

    def start_then_fail(*args: Any, **kwargs: Any) -> Any:
        record = real_start(*args, **kwargs)
        written.append(record.id)  # flushed: the row exists inside the transaction
        raise Conflict("boom after the write")

    monkeypatch.setattr(instances, "start", start_then_fail)
    r = client.post("/api/v1/process-instances", headers=alice,
                    json={"process": "approval_demo", "data": {"title": "x", "amount": 5}})
    assert r.status_code == 409, r.get_json()
    assert written and written[0] is not None
    monkeypatch.undo()
    assert client.get("/api/v1/process-instances", headers=alice).get_json()["total"] == before
    assert client.get(f"/api/v1/process-instances/{written[0]}", headers=alice).status_code == 404
    assert ctx.db.pool.checkedout() == 0
