"""The declared request and response models of /api/v1 (web/api/schemas) at work: a wrong field
answers 400 naming it (body fields by their path, query fields as `query.<name>`), unknown body
fields stay ignored, and real answers match the schemas the OpenAPI document declares for them."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.api.api_helpers import deployed_fixture, start  # noqa: F401  (fixture)

# (method, url, body, the field the answer must name); {task} is an open task of alice's
WRONG_FIELDS = [
    ("POST", "/tasks/{task}/transfer", {}, "to"),
    ("POST", "/tasks/{task}/transfer", {"to": "   "}, "to"),
    ("POST", "/tasks/{task}/transfer", {"to": 5}, "to"),
    ("POST", "/tasks/{task}/transfer", {"to": "bob", "comment": ["x"]}, "comment"),
    ("POST", "/tasks/{task}/delegate", {"to": None}, "to"),
    ("POST", "/tasks/{task}/signers", {"users": ["bob", 5], "mode": "after"}, "users[1]"),
    ("POST", "/tasks/{task}/signers", {"users": ["bob"], "mode": "sideways"}, "mode"),
    ("POST", "/tasks/{task}/signers", {"mode": "after"}, "users"),
    ("POST", "/tasks/{task}/sign", {"decision": "maybe"}, "decision"),
    ("POST", "/tasks/{task}/return", {"target": "prepare"}, "reason"),
    ("POST", "/tasks/{task}/complete", {"data": [1, 2]}, "data"),
    ("POST", "/tasks/{task}/cc", {"users": {"a": 1}}, "users"),
    ("POST", "/notifications/read", {"ids": [1, True]}, "ids[1]"),
    ("POST", "/notifications/read", {"ids": [1, 0]}, "ids[1]"),
    ("POST", "/notifications/read", {"ids": "all"}, "ids"),
    ("POST", "/absences", {"starts_at": "2026-03-02T09:00"}, "starts_at"),  # no timezone
    ("POST", "/absences", {"ends_at": 1700000000}, "ends_at"),  # not a Unix time
    ("POST", "/absences", {"ends_at": "next tuesday"}, "ends_at"),
    ("POST", "/process-instances", {"data": {}}, "process"),
    ("POST", "/process-instances", {"process": "approval_demo", "data": "x"}, "data"),
    ("POST", "/auth/token", {"username": "alice"}, "password"),
    ("POST", "/auth/token", {"username": "alice", "password": 1234}, "password"),
    ("GET", "/tasks?per_page=abc", None, "query.per_page"),
    ("GET", "/tasks?status=bogus", None, "query.status"),
    ("GET", "/process-instances?per_page=201", None, "query.per_page"),
    ("GET", "/process-instances?page=99999999999999999999", None, "query.page"),
    ("GET", "/notifications?page=0", None, "query.page"),
    ("GET", "/cc?per_page=-1", None, "query.per_page"),
]


def test_an_absence_outside_the_years_planflow_takes_is_refused_naming_the_field(
        client: Any, token_for: Any) -> None:
    """Year 1 at +08:00 is year 0 in UTC and 9999-12-31 at -08:00 is in year 10000: both were
    a 500. Nothing is stored; the edges of the range are taken."""
    mgr = token_for("mgr")
    for field in ("starts_at", "ends_at"):
        for bad in ("0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-08:00",
                    "1899-12-31T23:59:59+00:00", "3000-01-01T00:00:00+00:00"):
            body = {"username": "alice", field: bad}
            r = client.post("/api/v1/absences", json=body, headers=mgr)
            assert r.status_code == 400, (body, r.get_json())
            assert r.get_json()["error"]["details"] == {"field": field,
                                                        "problem": "out_of_range"}
    assert client.get("/api/v1/absences", headers=mgr).get_json()["items"] == []
    r = client.post("/api/v1/absences", headers=mgr, json={
        "username": "alice", "starts_at": "1900-01-01T00:00:00+00:00",
        "ends_at": "2999-12-31T23:59:59+08:00"})
    assert r.status_code == 201, r.get_json()


@pytest.fixture
def open_task(client: Any, token_for: Any, deployed: Any) -> str:
    r = start(client, token_for("alice"))
    assert r.status_code == 201, r.get_json()
    return r.get_json()["open_tasks"][0]["id"]


def test_a_wrong_field_answers_400_naming_it(client: Any, token_for: Any, open_task: str) -> None:
    alice = token_for("alice")
    failures = []
    for method, url, body, field in WRONG_FIELDS:
        r = client.open(f"/api/v1{url.format(task=open_task)}", method=method, json=body,
                        headers=alice)
        said = r.get_json()
        if r.status_code != 400 or said["error"]["code"] != "invalid_input":
            failures.append(f"{method} {url} {body}: {r.status_code} {said}")
        elif said["error"]["details"].get("field") != field:
            failures.append(f"{method} {url} {body}: names {said['error']['details']}, not {field}")
        elif field.split("[")[0].split(".")[-1] not in said["error"]["message"]:
            failures.append(f"{method} {url} {body}: message {said['error']['message']}")
    assert not failures, "\n".join(failures)
    # nothing was done to the task
    task = client.get(f"/api/v1/tasks/{open_task}", headers=alice).get_json()
    assert task["status"] == "open" and task["assignee"] is None


def test_every_wrong_field_is_listed_and_the_value_is_not_echoed(
    client: Any, token_for: Any, deployed: Any
) -> None:
    r = client.post("/api/v1/process-instances", headers=token_for("alice"),
                    json={"process": 5, "data": ["SECRET-VALUE"]})
    assert r.status_code == 400
    error = r.get_json()["error"]
    assert error["details"] == {"field": "process"}
    assert "process" in error["message"] and "data" in error["message"]
    assert "SECRET-VALUE" not in error["message"]


def test_unknown_body_fields_and_null_texts_are_accepted_as_before(
    client: Any, token_for: Any, open_task: str
) -> None:
    alice = token_for("alice")
    r = client.post("/api/v1/process-instances", headers=alice,
                    json={"process": "approval_demo", "data": {"title": "x", "amount": 5},
                          "client_ref": "abc-1"})
    assert r.status_code == 201, r.get_json()
    r = client.post(f"/api/v1/tasks/{open_task}/remind", headers=alice,
                    json={"message": None, "extra": True})
    assert r.status_code != 400, r.get_json()
    r = client.get("/api/v1/tasks?status=&process=&page=", headers=alice)  # empty: not given
    assert r.status_code == 200 and r.get_json()["page"] == 1


def _conforms(spec: dict[str, Any], path: str, method: str, status: int, body: Any) -> None:
    declared = spec["paths"][path][method]["responses"][str(status)]
    schema = declared["content"]["application/json"]["schema"]
    # refs (#/components/schemas/...) resolve against this document
    Draft202012Validator({**schema, "components": spec["components"]}).validate(body)


def test_answers_match_their_declared_schemas(
    client: Any, token_for: Any, deployed: Any
) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    alice, mgr = token_for("alice"), token_for("mgr")

    def call(method: str, path: str, who: dict[str, str], status: int = 200,
             body: Any = None, **parts: Any) -> Any:
        url = path.format(**parts)
        r = client.open(f"/api/v1{url}", method=method.upper(), headers=who, json=body)
        assert r.status_code == status, (url, r.status_code, r.get_json())
        _conforms(spec, path.split("?")[0], method, status, r.get_json())
        return r.get_json()

    inst = call("post", "/process-instances", alice, 201,
                {"process": "approval_demo", "data": {"title": "Q3", "amount": 8000}})
    iid, task = inst["id"], inst["open_tasks"][0]["id"]
    call("get", "/process-instances/{id}", alice, id=iid)
    call("get", "/process-instances?per_page=5", mgr)
    call("get", "/tasks", alice)
    call("get", "/tasks/{task_id}", alice, task_id=task)
    call("get", "/tasks/{task_id}/operations", alice, task_id=task)
    call("post", "/tasks/{task_id}/claim", alice, task_id=task)
    call("post", "/tasks/{task_id}/complete", alice, body={"data": {"description": "说明"}},
         task_id=task)
    call("post", "/tasks/{task_id}/complete", alice, 409, body={"data": {}}, task_id=task)
    call("get", "/process-instances/{id}/operations", alice, id=iid)
    call("post", "/process-instances/{id}/cc", alice, 201, {"users": ["bob"]}, id=iid)
    copies = call("get", "/cc", token_for("bob"))
    call("get", "/cc/{cc_id}", token_for("bob"), cc_id=copies["items"][0]["id"])
    call("get", "/notifications", mgr)
    call("get", "/notifications/unread-count", mgr)
    call("post", "/notifications/read", mgr, body={})
    call("get", "/me", alice)
    call("get", "/absences", alice)
    call("get", "/process-models", alice)
    call("get", "/process-models/{key}", token_for("owner"), key="approval_demo")
    call("get", "/process-instances/{id}", token_for("fin"), 404, id=iid)
    call("get", "/healthz", {})
