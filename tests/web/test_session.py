"""Login, logout, CSRF, throttling and language switching for the server-rendered UI."""

from __future__ import annotations

import re

from tests.conftest import PASSWORD


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def login(client, username="alice", password=PASSWORD):
    page = client.get("/login")
    token = csrf_from(page.get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token})


def test_pages_need_login(client, api_staff):
    r = client.get("/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_login_page_is_chinese_first_and_switches_to_english(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'lang="zh-CN"' in html and "用户名" in html
    client.get("/lang/en?next=/login")
    html = client.get("/login").get_data(as_text=True)
    assert 'lang="en"' in html and "Username" in html


def test_login_requires_csrf_and_rotates_session(client, api_staff):
    r = client.post("/login", data={"username": "alice", "password": PASSWORD})
    assert r.status_code == 400
    with client.session_transaction() as s:
        s["planted"] = "attacker"
    r = login(client)
    assert r.status_code == 302
    with client.session_transaction() as s:
        assert s["user"] == "alice" and "planted" not in s
    assert client.get("/").status_code == 302  # logged in: home redirects onwards


def test_wrong_password_and_throttling(client, api_staff):
    for _ in range(5):
        assert login(client, password="wrong-password").status_code == 401
    r = login(client)  # right password, but throttled now
    assert r.status_code == 429
    assert "登录尝试过多" in r.get_data(as_text=True)


def test_logout_needs_csrf(client, api_staff):
    login(client)
    assert client.post("/logout").status_code == 400
    with client.session_transaction() as s:
        token = s["csrf_token"]
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    with client.session_transaction() as s:
        assert "user" not in s


def test_open_redirect_is_refused(client, api_staff):
    page = client.get("/login")
    token = csrf_from(page.get_data(as_text=True))
    r = client.post("/login", data={"username": "alice", "password": PASSWORD,
                                    "csrf_token": token, "next": "//evil.example/x"})
    assert r.headers["Location"] == "/"


def test_session_cookie_flags(client, api_staff):
    r = login(client)
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
