"""The operations, CC inbox, bell and absences through the JSON API (Flask test client)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.store.db import transaction
from engine.store.tables import HumanTaskRow
from tests.ops.conftest import add_more_staff, deploy_ops
from tests.ops.helpers import HANDLE_DATA


@pytest.fixture
def api(app, client, sqlite_ctx, api_staff, token_for):
    add_more_staff(sqlite_ctx)
    deploy_ops(sqlite_ctx)

    def call(method, url, who, body=None, status=200):
        r = getattr(client, method)(f"/api/v1{url}", headers=token_for(who), json=body)
        assert r.status_code == status, (url, r.status_code, r.get_json())
        return r.get_json()

    return call


def start_chain(api, **data):
    seed = {
        "prep_group": "planning_specialist",
        "handle_group": "planning_specialist",
        "finish_group": "planning_manager",
        **data,
    }
    inst = api("post", "/process-instances", "req", {"process": "ops_chain", "data": seed}, 201)
    [prepare] = inst["open_tasks"]
    api("post", f"/tasks/{prepare['id']}/complete", "alice", {"data": {}})
    detail = api("get", f"/process-instances/{inst['id']}", "req")
    [handle] = detail["open_tasks"]
    return inst["id"], prepare["id"], handle["id"]


def test_openapi_lists_the_operations(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in (
        "/tasks/{task_id}/operations",
        "/tasks/{task_id}/submit",
        "/tasks/{task_id}/transfer",
        "/tasks/{task_id}/delegate",
        "/tasks/{task_id}/resolve",
        "/tasks/{task_id}/signers",
        "/signers/{signer_id}/remove",
        "/tasks/{task_id}/sign",
        "/tasks/{task_id}/return-targets",
        "/tasks/{task_id}/return",
        "/tasks/{task_id}/withdraw",
        "/tasks/{task_id}/remind",
        "/tasks/{task_id}/cc",
        "/process-instances/{id}/cc",
        "/process-instances/{id}/withdraw",
        "/process-instances/{id}/operations",
        "/cc",
        "/cc/{cc_id}",
        "/absences",
        "/absences/back",
        "/notifications",
        "/notifications/unread-count",
        "/notifications/read",
    ):
        assert path in spec["paths"], path
    assert "on_hold" in spec["components"]["schemas"]["Task"]["properties"]["status"]["enum"]


def test_signers_flow_over_http(api):
    iid, _, handle = start_chain(api, handle_user="bob")
    ops = api("get", f"/tasks/{handle}/operations", "bob")
    assert ops["operations"]["add_signer"] and ops["kind"] == "task"
    out = api(
        "post",
        f"/tasks/{handle}/signers",
        "bob",
        {"users": ["mgr"], "mode": "after", "comment": "请经理把关"},
        201,
    )
    assert out["signers"][0]["status"] == "pending"
    out = api("post", f"/tasks/{handle}/submit", "bob", {"data": HANDLE_DATA})
    [step] = [t for t in out["open_tasks"] if t["assignee"] == "mgr"]
    assert [t["status"] for t in out["open_tasks"] if t["id"] == handle] == ["on_hold"]
    # the signature row cannot be "completed"; signing works
    r = api("post", f"/tasks/{step['id']}/complete", "mgr", {"data": {}}, 409)
    assert "sign" in r["error"]["message"]
    api("post", f"/tasks/{step['id']}/sign", "mgr", {"decision": "reject"}, 400)  # reason
    out = api("post", f"/tasks/{step['id']}/sign", "mgr", {"decision": "approve"})
    assert [t["element_id"] for t in out["open_tasks"]] == ["finish"]
    hist = api("get", f"/process-instances/{iid}/operations", "bob")
    actions = [h["action"] for h in hist["history"]]
    assert actions.count("signer_added") == 1 and "signer_signed" in actions


def test_complete_endpoint_is_the_same_route_as_submit(api):
    """/complete goes through the same operation as /submit and the task page: with signatures
    due the data waits for them (the task is held), it does not bypass them."""
    _, _, handle = start_chain(api, handle_user="bob")
    api("post", f"/tasks/{handle}/signers", "bob", {"users": ["fin"], "mode": "parallel"}, 201)
    out = api("post", f"/tasks/{handle}/complete", "bob", {"data": HANDLE_DATA})
    held = [t for t in out["instance"]["tasks"] if t["id"] == handle]
    assert [t["status"] for t in held] == ["on_hold"]
    r = api("post", f"/tasks/{handle}/complete", "bob", {"data": HANDLE_DATA}, 409)
    assert r["error"]["code"] == "conflict"


def test_delegate_resolve_over_http(api):
    _, _, handle = start_chain(api, handle_user="bob")
    api("post", f"/tasks/{handle}/delegate", "bob", {"to": "carol", "comment": "帮看"})
    assert api("get", f"/tasks/{handle}/operations", "carol")["operations"]["resolve"]
    api("post", f"/tasks/{handle}/submit", "carol", {"data": HANDLE_DATA}, 403)
    out = api("post", f"/tasks/{handle}/resolve", "carol", {"data": {"note": "核对完毕"}})
    assert out["task"]["assignee"] == "bob"
    api("post", f"/tasks/{handle}/submit", "bob", {"data": HANDLE_DATA})


def test_return_and_withdraw_over_http(api):
    iid, _prepare, handle = start_chain(api)
    targets = api("get", f"/tasks/{handle}/return-targets", "bob")["items"]
    assert [t["element_id"] for t in targets] == ["prepare"]
    api("post", f"/tasks/{handle}/return", "bob", {"target": "prepare"}, 400)  # no reason
    out = api("post", f"/tasks/{handle}/return", "bob", {"target": "prepare", "reason": "资料不全"})
    [again] = out["open_tasks"]
    assert again["element_id"] == "prepare" and again["assignee"] == "alice"
    assert "【退回】准备" in [n["title"] for n in api("get", "/notifications", "alice")["items"]]
    api("post", f"/tasks/{again['id']}/complete", "alice", {"data": {}})
    detail = api("get", f"/process-instances/{iid}", "req")
    api("post", f"/tasks/{again['id']}/withdraw", "bob", {}, 403)
    out = api("post", f"/tasks/{again['id']}/withdraw", "alice", {"reason": "再改改"})
    assert [t["element_id"] for t in out["open_tasks"]] == ["prepare"]
    assert detail["open_tasks"][0]["element_id"] == "handle"


def test_remind_over_http_is_rate_limited(api):
    _, _, handle = start_chain(api, handle_user="bob")
    assert api("post", f"/tasks/{handle}/remind", "req", {"message": "急"})["reminded"] == ["bob"]
    r = api("post", f"/tasks/{handle}/remind", "mgr", {}, 409)
    assert "next_allowed_at" in r["error"]["details"]
    bell = api("get", "/notifications/unread-count", "bob")
    assert bell["unread"] >= 1


def test_cc_inbox_read_only_and_unread(api):
    iid, _, handle = start_chain(api, handle_user="bob")
    api("post", f"/tasks/{handle}/cc", "erin", {"users": ["fin"]}, 404)  # not a participant
    out = api("post", f"/tasks/{handle}/cc", "bob", {"users": ["fin", "erin"], "note": "知悉"}, 201)
    assert sorted(i["task_id"] == handle for i in out["items"]) == [True, True]
    api("post", f"/process-instances/{iid}/cc", "req", {"users": ["fin"]}, 201)
    inbox = api("get", "/cc", "fin")
    assert inbox["total"] == 2 and inbox["unread"] == 2
    assert inbox["items"][0]["instance"]["id"] == iid
    assert api("get", "/notifications/unread-count", "fin")["cc_unread"] == 2
    view = api("get", f"/cc/{inbox['items'][0]['id']}", "fin")
    assert view["read_only"] and view["instance"]["id"] == iid
    assert api("get", "/cc?unread=1", "fin")["total"] == 1
    api("get", f"/cc/{inbox['items'][0]['id']}", "erin", status=404)  # not erin's copy
    # read-only: a CC'd user may look, not act
    ops = api("get", f"/tasks/{handle}/operations", "fin")["operations"]
    assert not any(v for k, v in ops.items() if k not in ("cc",))
    api("post", f"/tasks/{handle}/submit", "fin", {"data": HANDLE_DATA}, 403)
    assert api("post", "/cc/read", "fin")["marked"] == 1
    assert api("get", "/cc", "fin")["unread"] == 0


def test_bell_list_and_mark_read(api):
    _, _, handle = start_chain(api, handle_user="bob")
    api("post", f"/tasks/{handle}/transfer", "bob", {"to": "carol"})
    page = api("get", "/notifications?unread=1", "carol")
    assert page["unread"] == page["total"] >= 1
    first = page["items"][0]
    assert first["title"] == "【待办】办理" and first["task_id"] == handle
    api("post", "/notifications/read", "carol", {"ids": ["x"]}, 400)
    out = api("post", "/notifications/read", "carol", {"ids": [first["id"]]})
    assert out["marked"] == 1 and out["unread"] == page["unread"] - 1
    assert api("post", "/notifications/read", "bob", {"ids": [first["id"]]})["marked"] == 0


def test_absences_over_http(api, sqlite_ctx):
    _, _, handle = start_chain(api, handle_user="bob", a_owner="bob", b_owner="carol")
    api("post", "/absences", "alice", {"username": "bob"}, 403)
    api("post", "/absences", "bob", {"starts_at": "2026-03-02T09:00"}, 400)  # no timezone
    out = api("post", "/absences", "bob", {"reason": "出差"}, 201)
    assert out["username"] == "bob" and out["ends_at"] is None
    assert api("get", f"/tasks/{handle}", "carol")["assignee"] == "carol"
    assert api("get", "/absences", "bob")["items"][0]["active"]
    assert api("post", "/absences/back", "bob", {})["returned_tasks"] == 1
    assert api("get", f"/tasks/{handle}", "bob")["assignee"] == "bob"


def test_terminate_endpoint_requires_a_reason(api):
    iid, _, _ = start_chain(api)
    r = api("post", f"/process-instances/{iid}/terminate", "req", {}, 400)
    assert r["error"]["details"] == {"field": "reason"}
    api("post", f"/process-instances/{iid}/terminate", "req", {"reason": " "}, 400)
    api("post", f"/process-instances/{iid}/terminate", "alice", {"reason": "x"}, 403)
    out = api("post", f"/process-instances/{iid}/terminate", "req", {"reason": "需求取消"})
    assert out["status"] == "terminated"


def test_initiator_withdraws_instance_over_http(api, sqlite_ctx):
    inst = api(
        "post",
        "/process-instances",
        "req",
        {"process": "ops_chain", "data": {"prep_group": "legal"}},
        201,
    )
    out = api("post", f"/process-instances/{inst['id']}/withdraw", "req", {"reason": "不要了"})
    assert out["instance"]["status"] == "terminated" and out["open_tasks"] == []
    with transaction(sqlite_ctx.sessions) as s:
        rows = s.scalars(select(HumanTaskRow).where(HumanTaskRow.instance_id == inst["id"]))
        assert [r.status for r in rows] == ["cancelled"]
