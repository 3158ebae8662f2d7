"""GET /api/v1/tasks/<id> opens a task read-only to the onlookers the task page admits
(web/pages/task_ops_view.py): planning managers, process owners, the initiator and the owner
who delegated it. Staff strangers still get 403, and reading gives no right to act."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.api_helpers import deployed_fixture, start  # noqa: F401  (fixture)


@pytest.fixture
def first_step(client: Any, token_for: Any, deployed: Any) -> dict[str, Any]:
    """alice (planning_specialist) starts an approval; its first step is offered to her group."""
    r = start(client, token_for("alice"), {"title": "品牌周", "amount": 5000})
    assert r.status_code == 201, r.get_json()
    [task] = r.get_json()["open_tasks"]
    assert task["candidate_groups"] == ["planning_specialist"]
    return task


@pytest.mark.parametrize("who", ["mgr", "sup", "owner", "root", "bob"])
def test_managers_owners_and_candidates_read_the_task(
    client: Any, token_for: Any, first_step: dict[str, Any], who: str
) -> None:
    r = client.get(f"/api/v1/tasks/{first_step['id']}", headers=token_for(who))
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["id"] == first_step["id"] and body["instance_title"] == "品牌周"
    assert body["form"] is not None and body["data"]["amount"] == 5000


@pytest.mark.parametrize("who", ["req", "fin"])
def test_staff_strangers_get_404_as_for_a_task_that_does_not_exist(
    client: Any, token_for: Any, first_step: dict[str, Any], who: str
) -> None:
    r = client.get(f"/api/v1/tasks/{first_step['id']}", headers=token_for(who))
    assert r.status_code == 404
    assert r.get_json()["error"]["code"] == "not_found"
    r = client.get(f"/api/v1/tasks/{first_step['id']}/operations", headers=token_for(who))
    assert r.status_code == 404


def test_reading_gives_no_right_to_act(
    client: Any, token_for: Any, first_step: dict[str, Any]
) -> None:
    mgr = token_for("mgr")
    task_id = first_step["id"]
    assert client.get(f"/api/v1/tasks/{task_id}", headers=mgr).status_code == 200
    r = client.post(f"/api/v1/tasks/{task_id}/complete", headers=mgr,
                    json={"data": {"description": "not mine"}})
    assert r.status_code == 403
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=mgr).status_code == 403


def test_the_initiator_reads_a_step_offered_to_others(
    client: Any, token_for: Any, first_step: dict[str, Any]
) -> None:
    """After alice submits, the review is offered to managers: she may follow it, bob may not."""
    alice = token_for("alice")
    r = client.post(f"/api/v1/tasks/{first_step['id']}/complete", headers=alice,
                    json={"data": {"description": "budget"}})
    assert r.status_code == 200, r.get_json()
    [review] = r.get_json()["instance"]["open_tasks"]
    assert "planning_specialist" not in review["candidate_groups"]
    assert client.get(f"/api/v1/tasks/{review['id']}", headers=alice).status_code == 200
    assert client.get(f"/api/v1/tasks/{review['id']}", headers=token_for("bob")).status_code == 404


def test_unknown_task_is_404_and_no_token_401(client: Any, token_for: Any, deployed: Any) -> None:
    assert client.get("/api/v1/tasks/nope", headers=token_for("mgr")).status_code == 404
    assert client.get("/api/v1/tasks/nope").status_code == 401
