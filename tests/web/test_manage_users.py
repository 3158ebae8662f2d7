"""The 用户与角色 admin page: creating users, deactivating them and resetting passwords,
changing groups, creating groups; an admin cannot lock themselves out, staff cannot post."""

from __future__ import annotations

import re

from sqlalchemy import select

from engine.store.db import transaction
from engine.store.tables import AuditRecord, UserRecord
from tests.conftest import PASSWORD
from tests.pages import login
from tests.web.manage_helpers import (
    env_fixture,  # noqa: F401  (the env fixture)
    text,
)


def user(env, username):
    with transaction(env.sessions) as s:
        u = s.scalar(select(UserRecord).where(UserRecord.username == username))
        return u and (u.is_active, u.is_admin, sorted(m.group_name for m in u.memberships))


def test_create_user_with_groups(client, env):
    token = login(client, "root")
    r = client.post("/admin/users", data={
        "csrf_token": token, "username": "carol", "display_name": "<b>Carol</b>",
        "email": "carol@example.com", "password": "long-enough-pw",
        "groups": ["design", "process_owner"]})
    assert r.status_code == 303
    assert user(env, "carol") == (True, False, ["design", "process_owner"])
    html = text(client.get("/admin/users"))
    assert "已创建用户 carol" in html and "&lt;b&gt;Carol&lt;/b&gt;" in html
    login(client, "carol", "long-enough-pw")
    assert client.get("/models").status_code == 200
    token = login(client, "root")
    r = client.post("/admin/users", data={"csrf_token": token, "username": "carol",
                                          "password": "long-enough-pw"})
    assert r.status_code == 409 and "已存在" in text(r)
    r = client.post("/admin/users", data={"csrf_token": token, "username": "dave",
                                          "password": "short"})
    assert r.status_code == 400 and user(env, "dave") is None
    r = client.post("/admin/users", data={"csrf_token": token, "username": "dave",
                                          "password": "long-enough-pw", "groups": ["nope"]})
    assert r.status_code == 400 and user(env, "dave") is None


def test_deactivate_reactivate_and_reset_password(client, env):
    token = login(client, "root")
    r = client.post("/admin/users/bob/active", data={"csrf_token": token, "active": "0"})
    assert r.status_code == 303 and user(env, "bob")[0] is False
    with client.session_transaction() as s:
        s.clear()
    page = text(client.get("/login"))
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"username": "bob", "password": PASSWORD,
                                    "csrf_token": csrf})
    assert r.status_code == 401
    token = login(client, "root")
    client.post("/admin/users/bob/active", data={"csrf_token": token, "active": "1"})
    assert user(env, "bob")[0] is True
    r = client.post("/admin/users/bob/password", data={"csrf_token": token, "password": "short"})
    assert r.status_code == 400
    r = client.post("/admin/users/bob/password",
                    data={"csrf_token": token, "password": "new-password-123"})
    assert r.status_code == 303
    with transaction(env.sessions) as s:
        assert s.scalar(select(AuditRecord).where(AuditRecord.action == "password_reset"))
    with client.session_transaction() as s:
        s.clear()
    page = text(client.get("/login"))
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"username": "bob", "password": "new-password-123",
                                    "csrf_token": csrf})
    assert r.status_code == 302


def test_admin_cannot_lock_themselves_out(client, env):
    token = login(client, "root")
    r = client.post("/admin/users/root/active", data={"csrf_token": token, "active": "0"})
    assert r.status_code == 400 and user(env, "root")[0] is True
    r = client.post("/admin/users/root/groups", data={"csrf_token": token, "groups": ["design"]})
    assert r.status_code == 400 and user(env, "root")[1:] == (True, ["admin"])


def test_change_groups(client, env):
    token = login(client, "root")
    r = client.post("/admin/users/bob/groups",
                    data={"csrf_token": token, "groups": ["planning_specialist", "admin"]})
    assert r.status_code == 303 and user(env, "bob") == (True, True,
                                                          ["admin", "planning_specialist"])
    r = client.post("/admin/users/bob/groups", data={"csrf_token": token, "groups": []})
    assert r.status_code == 303 and user(env, "bob") == (True, False, [])
    token = login(client, "bob")
    assert client.get("/admin/users").status_code == 403


def test_create_group(client, env):
    token = login(client, "root")
    r = client.post("/admin/groups", data={"csrf_token": token, "name": "Bad Name",
                                           "display_name": "x"})
    assert r.status_code == 400
    r = client.post("/admin/groups", data={"csrf_token": token, "name": "marketing_ops",
                                           "display_name": "市场运营<部>",
                                           "display_name_en": "Marketing ops"})
    assert r.status_code == 303
    html = text(client.get("/admin/users"))
    assert "marketing_ops" in html and "市场运营&lt;部&gt;" in html
    r = client.post("/admin/groups", data={"csrf_token": token, "name": "marketing_ops",
                                           "display_name": "另一个"})
    assert r.status_code == 409


def test_staff_cannot_post_admin_actions(client, env):
    token = login(client, "mgr")
    for path, data in [("/admin/users", {"username": "eve", "password": "long-enough-pw"}),
                       ("/admin/users/bob/active", {"active": "0"}),
                       ("/admin/users/bob/password", {"password": "long-enough-pw"}),
                       ("/admin/users/bob/groups", {"groups": ["admin"]}),
                       ("/admin/groups", {"name": "evil", "display_name": "evil"}),
                       ("/models/new", {})]:
        assert client.post(path, data={**data, "csrf_token": token}).status_code == 403, path
    assert user(env, "eve") is None and user(env, "bob") == (True, False,
                                                             ["planning_specialist"])
