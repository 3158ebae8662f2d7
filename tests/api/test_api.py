"""The JSON API through Flask's test client."""

from __future__ import annotations

import io

from tests.api.api_helpers import deployed_fixture, start  # noqa: F401  (fixture)
from tests.conftest import MODELS, PASSWORD


def test_health_and_openapi_need_no_login(client):
    assert client.get("/api/v1/healthz").get_json() == {"status": "ok"}
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in (
        "/process-models",
        "/process-instances",
        "/process-instances/{id}",
        "/process-instances/{id}/retry",
        "/process-instances/{id}/terminate",
        "/tasks",
        "/tasks/{task_id}",
        "/tasks/{task_id}/claim",
        "/tasks/{task_id}/complete",
        "/healthz",
        "/auth/token",
    ):
        assert path in spec["paths"], path


def test_everything_else_needs_a_token(client):
    for method, path in [
        ("get", "/api/v1/tasks"),
        ("get", "/api/v1/process-models"),
        ("post", "/api/v1/process-instances"),
        ("get", "/api/v1/me"),
    ]:
        r = getattr(client, method)(path)
        assert r.status_code == 401
        assert r.get_json()["error"]["code"] == "unauthenticated"
    r = client.get("/api/v1/tasks", headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401


def test_login_and_revoke(client, api_staff):
    bad = client.post("/api/v1/auth/token", json={"username": "alice", "password": "nope"})
    assert bad.status_code == 401
    r = client.post("/api/v1/auth/token", json={"username": "alice", "password": PASSWORD})
    token = r.get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert me["username"] == "alice" and me["groups"] == ["planning_specialist"]
    assert "password" not in str(me) and "hash" not in str(me)
    assert client.post("/api/v1/auth/revoke", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_deploy_needs_process_owner_and_reports_unchanged(client, token_for, deployed):
    assert deployed["deployed"][0]["key"] == "approval_demo"
    p = MODELS / "approval_demo.bpmn"
    r = client.post(
        "/api/v1/process-models",
        headers=token_for("alice"),
        data={"files": [(io.BytesIO(p.read_bytes()), p.name)]},
        content_type="multipart/form-data",
    )
    assert r.status_code == 403
    r = client.post(
        "/api/v1/process-models",
        headers=token_for("owner"),
        data={"files": [(io.BytesIO(p.read_bytes()), p.name)]},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200
    assert r.get_json()["deployed"][0] == {
        "key": "approval_demo",
        "name": "测试审批",
        "version": 1,
        "created": False,
    }
    models = client.get("/api/v1/process-models", headers=token_for("alice")).get_json()
    assert [m["key"] for m in models["items"]] == ["approval_demo"]
    # staff list the models (to start one); a model's definition is for process owners
    detail = client.get("/api/v1/process-models/approval_demo", headers=token_for("alice"))
    assert detail.status_code == 403
    detail = client.get("/api/v1/process-models/approval_demo", headers=token_for("owner"))
    assert detail.get_json()["versions"][0]["version"] == 1


def test_broken_upload_400_names_element_and_old_version_runs(client, token_for, deployed):
    broken = (MODELS / "approval_demo.bpmn").read_text().replace("amount &gt; 1000", "amount &gt;")
    r = client.post(
        "/api/v1/process-models",
        headers=token_for("owner"),
        data={"files": [(io.BytesIO(broken.encode()), "approval_demo.bpmn")]},
        content_type="multipart/form-data",
    )
    assert r.status_code == 400
    err = r.get_json()["error"]
    assert err["code"] == "invalid_model"
    problem = err["details"]["problems"][0]
    assert problem["file"] == "approval_demo.bpmn" and problem["element_id"] == "gw_amount"
    assert start(client, token_for("alice")).status_code == 201


def test_start_complete_flow_and_status_codes(client, token_for, deployed):
    alice, mgr, bob = token_for("alice"), token_for("mgr"), token_for("bob")
    r = start(client, alice)
    assert r.status_code == 201
    inst = r.get_json()
    assert inst["status"] == "running" and inst["version"] == 1
    [task] = inst["open_tasks"]
    # Alice and Bob share the group: both see it.
    assert [t["id"] for t in client.get("/api/v1/tasks", headers=bob).get_json()["items"]] == [
        task["id"]
    ]
    detail = client.get(f"/api/v1/tasks/{task['id']}", headers=alice).get_json()
    assert detail["form"]["components"][0]["key"] == "description"
    # Manager is not in the group: reads it (read-only, as on the task page) but does not get
    # it in the inbox; a staff stranger gets 404 (tests/api/test_task_onlookers.py).
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=mgr).status_code == 200
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=token_for("req")).status_code == 404
    assert client.get("/api/v1/tasks", headers=mgr).get_json()["total"] == 0

    bad = client.post(
        f"/api/v1/tasks/{task['id']}/complete", headers=alice, json={"data": {"description": ""}}
    )
    assert bad.status_code == 422
    assert bad.get_json()["error"]["details"]["fields"]["description"]["code"] == "required"

    # Claim makes it Alice's alone.
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=alice).status_code == 200
    assert client.get("/api/v1/tasks", headers=bob).get_json()["total"] == 0
    assert (
        client.post(
            f"/api/v1/tasks/{task['id']}/complete", headers=bob, json={"data": {"description": "x"}}
        ).status_code
        == 403  # his group's step, which he sees, but Alice's to do

    )

    ok = client.post(
        f"/api/v1/tasks/{task['id']}/complete",
        headers=alice,
        json={"data": {"description": "说明"}},
    )
    assert ok.status_code == 200
    again = client.post(
        f"/api/v1/tasks/{task['id']}/complete",
        headers=alice,
        json={"data": {"description": "说明"}},
    )
    assert again.status_code == 409

    [review] = client.get("/api/v1/tasks", headers=mgr).get_json()["items"]
    assert review["name"] == "经理审批" and review["instance_title"] == "Q3 促销"
    r = client.post(
        f"/api/v1/tasks/{review['id']}/complete",
        headers=mgr,
        json={"data": {"decision": "approve", "comment": "同意"}},
    )
    assert r.get_json()["instance"]["status"] == "waiting"
    done = client.get("/api/v1/tasks?status=completed", headers=mgr).get_json()
    assert [t["id"] for t in done["items"]] == [review["id"]]

    full = client.get(f"/api/v1/process-instances/{inst['id']}", headers=alice).get_json()
    assert [a["action"] for a in full["audit"]][:2] == ["started", "task_created"]
    assert full["timers"][0]["element_id"] == "wait"


def test_instance_list_filters_and_visibility(client, token_for, deployed):
    alice, bob, mgr = token_for("alice"), token_for("bob"), token_for("mgr")
    for i in range(3):
        assert start(client, alice, {"title": f"A{i}", "amount": 5}).status_code == 201
    assert start(client, bob, {"title": "B", "amount": 5}).status_code == 201
    mine = client.get("/api/v1/process-instances?started_by=alice", headers=alice).get_json()
    assert mine["total"] == 3
    # Staff see their own; managers see all.
    assert client.get("/api/v1/process-instances", headers=bob).get_json()["total"] == 1
    page = client.get("/api/v1/process-instances?per_page=2&page=2", headers=mgr).get_json()
    assert page["total"] == 4 and len(page["items"]) == 2
    assert client.get("/api/v1/process-instances?status=bogus", headers=mgr).status_code == 400
    assert client.get("/api/v1/process-instances?per_page=0", headers=mgr).status_code == 400
    other = mine["items"][0]["id"]
    # Finance has no part in it (Bob could: the open task is offered to his group).
    assert (
        client.get(f"/api/v1/process-instances/{other}", headers=token_for("fin")).status_code
        == 404
    )
    assert client.get(f"/api/v1/process-instances/{other}", headers=bob).status_code == 200


def test_terminate_by_initiator_only(client, token_for, deployed):
    inst = start(client, token_for("alice")).get_json()
    r = client.post(
        f"/api/v1/process-instances/{inst['id']}/terminate",
        headers=token_for("bob"),
        json={"reason": "x"},
    )
    assert r.status_code == 403
    r = client.post(
        f"/api/v1/process-instances/{inst['id']}/terminate",
        headers=token_for("alice"),
        json={"reason": "不再需要"},
    )
    assert r.status_code == 200 and r.get_json()["status"] == "terminated"
    assert r.get_json()["open_tasks"] == []
    assert client.get("/api/v1/tasks", headers=token_for("bob")).get_json()["total"] == 0


def test_malformed_requests_get_clear_400s(client, token_for, deployed):
    alice = token_for("alice")
    r = client.post(
        "/api/v1/process-instances",
        headers={**alice, "Content-Type": "application/json"},
        data="{not json",
    )
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_input"
    assert "not valid JSON" in r.get_json()["error"]["message"]
    # JSON, but not an object: said as such, for `null` as for a list
    for body in ("null", " null\n", "[1]"):
        r = client.post("/api/v1/process-instances",
                        headers={**alice, "Content-Type": "application/json"}, data=body)
        assert r.status_code == 400, body
        assert "must be a JSON object" in r.get_json()["error"]["message"], body
    r = client.post(
        "/api/v1/process-instances",
        headers=alice,
        json={"process": "approval_demo", "data": [1, 2]},
    )
    assert r.status_code == 400
    r = client.post("/api/v1/process-instances", headers=alice, json={"process": "nope"})
    assert r.status_code == 404
    r = client.get("/api/v1/tasks/not-a-task", headers=alice)
    assert r.status_code == 404
    r = client.get("/api/v1/no-such-route", headers=alice)
    assert r.status_code == 404 and "error" in r.get_json()
