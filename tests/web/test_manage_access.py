"""Who may open the management pages (流程实例, 数据看板, 流程模型, 用户与角色, 工作日历): per
role, logged out, unknown ids; and every POST among them refuses a missing or forged CSRF
token."""

from __future__ import annotations

import pytest

from tests.pages import login
from tests.web.manage_helpers import (
    env_fixture,  # noqa: F401  (the env fixture)
    record,
    start,
    text,
)

PAGES = ["/dashboard", "/models", "/models/approval_demo", "/models/approval_demo/edit",
         "/models/approval_demo/forms/approval_start.form", "/models/new",
         "/models/approval_demo/versions/1/files/approval_demo.bpmn",
         "/models/approval_demo/diff?a=1&b=1", "/admin/users", "/admin/calendar"]
ALLOWED = {
    "alice": set(),
    "mgr": {"/dashboard"},
    "owner": {p for p in PAGES if p.startswith("/models")},
    "root": set(PAGES),
}


@pytest.mark.parametrize("who", sorted(ALLOWED))
def test_status_codes_per_role(client, env, who):
    login(client, who)
    for path in PAGES:
        expected = 200 if path in ALLOWED[who] else 403
        r = client.get(path)
        assert r.status_code == expected, (who, path, r.status_code)
        if expected == 403:
            assert "无权访问" in text(r)
    assert client.get("/instances").status_code == 200


def test_pages_need_login(client, env):
    for path in ["/instances", "/instances/1", *PAGES]:
        r = client.get(path)
        assert r.status_code == 302 and "/login" in r.headers["Location"], path


def test_unknown_ids_are_404(client, env):
    login(client, "root")
    for path in ["/instances/999", "/models/nope", "/models/nope/edit",
                 "/models/approval_demo/forms/nope.form", "/models/approval_demo/dmn/nope.dmn",
                 "/models/approval_demo/versions/9/files/approval_demo.bpmn",
                 "/models/approval_demo/diff?a=1&b=7"]:
        assert client.get(path).status_code == 404, path
    token = login(client, "root")
    assert client.post("/instances/999/suspend", data={"csrf_token": token}).status_code == 404
    assert client.post("/admin/users/nobody/active",
                       data={"csrf_token": token, "active": "0"}).status_code == 404


# --- CSRF on every POST -------------------------------------------------------------------------


def test_every_post_refuses_a_missing_or_wrong_csrf_token(client, env):
    iid = start(env, "alice")
    login(client, "root")
    posts = [
        f"/instances/{iid}/retry", f"/instances/{iid}/terminate", f"/instances/{iid}/suspend",
        f"/instances/{iid}/resume", "/models/new", "/models/approval_demo/deploy",
        "/admin/users", "/admin/users/bob/active", "/admin/users/bob/password",
        "/admin/users/bob/groups", "/admin/groups", "/admin/calendar/days",
        "/admin/calendar/years",
    ]
    for path in posts:
        assert client.post(path, data={"reason": "x"}).status_code == 400, path
        assert client.post(path, data={"csrf_token": "forged"}).status_code == 400, path
        assert client.post(path, json={"file": "a.bpmn", "content": ""},
                           headers={"X-CSRF-Token": "forged"}).status_code == 400, path
    assert record(env, iid).status == "running" and not record(env, iid).suspended
