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


def test_the_cookie_signer_is_built_once_and_not_for_cookieless_requests(app, client, api_staff,
                                                                         monkeypatch):
    """Flask built an itsdangerous serializer on every request, the API's cookieless ones too
    (a visible share of a request's CPU). Sessions work as before: a login holds, a forged or
    re-signed-with-another-key cookie is nobody."""
    from flask.sessions import SecureCookieSessionInterface

    built = []
    original = SecureCookieSessionInterface.get_signing_serializer

    def counting(self, flask_app):
        built.append(1)
        return original(self, flask_app)

    monkeypatch.setattr(SecureCookieSessionInterface, "get_signing_serializer", counting)
    for _ in range(3):
        assert client.get("/api/v1/healthz").status_code == 200
    assert built == []  # no cookie: no signer
    assert login(client).status_code == 302
    for _ in range(3):
        assert client.get("/tasks").status_code == 200
    assert len(built) == 1
    with client.session_transaction() as s:
        assert s["user"] == "alice"
    cookie = client.get_cookie("planflow_session")
    forged = cookie.value[:-2] + ("AA" if not cookie.value.endswith("AA") else "BB")
    client.set_cookie("planflow_session", forged)
    assert client.get("/tasks").status_code == 302  # back to the login page


def test_a_post_after_the_session_ended_asks_for_a_login_not_a_reload(client, api_staff):
    """Without a session nothing can be forged: a form's script (JSON) gets 401 (it keeps what
    was typed and links the login page); a plain form post goes to the login page and back to
    the page it came from. A logged-in session with a wrong token is still refused (400)."""
    r = client.post("/start/approval_demo", json={"data": {"title": "x"}},
                    headers={"X-CSRF-Token": "stale"})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthenticated"
    r = client.post("/me/away", data={"csrf_token": "stale", "reason": "年假"},
                    headers={"Referer": "http://localhost/me/away"})
    assert r.status_code == 303 and r.headers["Location"] == "/login?next=/me/away"
    r = client.post("/me/away", data={"csrf_token": "stale"},
                    headers={"Referer": "http://evil.example/x"})
    assert r.headers["Location"] == "/login?next=/"
    assert client.post("/login", data={"username": "alice", "password": PASSWORD}
                       ).status_code == 400  # the login form itself keeps its CSRF check
    login(client)
    r = client.post("/start/approval_demo", json={"data": {}}, headers={"X-CSRF-Token": "x"})
    assert r.status_code == 400
