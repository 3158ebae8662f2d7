"""Security properties over the whole route table and a real server's output:

* authentication everywhere except login, health and the OpenAPI document (API: bearer token,
  a browser session does not count; pages: login redirect);
* session fixation: logging in issues a new session, a cookie from before login stays
  anonymous; after logout an old session cookie no longer works;
* CSRF: every UI POST without (or with a wrong) token is refused with 400;
* XSS: data, titles, task/process/user names containing markup are escaped on every page,
  and every API response is JSON;
* no secret, password or password hash in any API response or in the server log.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from werkzeug.routing import IntegerConverter

from tests.pages import login
from tests.reliability.conftest import APPROVAL3, PASSWORD, Conn, prepare, wait_healthy
from tests.reliability.helpers import free_port, spawn, stop

PUBLIC_API = {"api.create_token", "api.healthz", "api.openapi"}
PUBLIC_PAGES = {"pages.login", "pages.set_language", "pages.favicon", "static"}
XSS = '<script>alert("pf-xss")</script>'
XSS_ATTR = '"><img src=x onerror=alert(1)>'
RAW_MARKERS = ('<script>alert("pf-xss")', "<img src=x onerror")


def _url(rule: Any, values: dict[str, Any] | None = None) -> str:
    out = rule.rule
    for name in rule.arguments:
        is_int = isinstance(rule._converters[name], IntegerConverter)
        value = (values or {}).get(name, 1 if is_int else "x")
        out = re.sub(rf"<(?:[^:>]+:)?{name}>", str(value), out)
    return out


def _xml_attr(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


@pytest.fixture
def site(tmp_path: Path) -> Any:
    from engine.context import build_context
    from engine.settings import Settings
    from web import create_app

    prep = prepare(tmp_path, {"rel3.bpmn": APPROVAL3},
                   users={"req1": ["requester"], "mgr1": ["planning_manager"],
                          "owner": ["process_owner"], "root": ["admin"]})
    ctx = build_context(Settings(database_url=prep.url, secret_key=prep.secret))
    app = create_app(context=ctx)
    yield app, prep
    ctx.db.dispose()


def cookie_name(client: Any) -> str:
    return client.application.config["SESSION_COOKIE_NAME"]


def session_cookie(client: Any) -> str | None:
    cookie = client.get_cookie(cookie_name(client))
    return cookie.value if cookie else None


# --- authentication --------------------------------------------------------------------------


def test_every_api_route_needs_a_bearer_token(site: Any) -> None:
    app, prep = site
    client = app.test_client()
    login(client, "root", PASSWORD)  # a browser session must not authenticate the API
    anonymous = app.test_client()
    checked, failures = 0, []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.endpoint in PUBLIC_API:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            url = _url(rule)
            for who, c, headers in (
                ("anonymous", anonymous, {}),
                ("session cookie", client, {}),
                ("bad token", anonymous, {"Authorization": "Bearer not-a-token"}),
                ("wrong scheme", anonymous, {"Authorization": f"Basic {prep.tokens['root']}"}),
            ):
                r = c.open(url, method=method, headers=headers, json={})
                checked += 1
                body = r.get_json(silent=True) or {}
                if r.status_code != 401 or body.get("error", {}).get("code") is None:
                    failures.append(f"{who}: {method} {url} -> {r.status_code}")
                elif "Bearer" not in r.headers.get("WWW-Authenticate", ""):
                    failures.append(f"{who}: {method} {url}: no WWW-Authenticate")
    assert checked > 50
    assert not failures, "\n".join(failures)
    for path in ("/api/v1/healthz", "/api/v1/openapi.json"):
        assert anonymous.get(path).status_code == 200


def test_a_revoked_token_is_refused(site: Any) -> None:
    app, _ = site
    client = app.test_client()
    r = client.post("/api/v1/auth/token", json={"username": "req1", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {r.get_json()['token']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert client.post("/api/v1/auth/revoke", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_every_page_needs_a_login(site: Any) -> None:
    app, _ = site
    client = app.test_client()
    failures = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or rule.endpoint in PUBLIC_PAGES:
            continue
        url = _url(rule)
        if "GET" in rule.methods:
            r = client.get(url)
            if r.status_code != 302 or "/login" not in r.headers.get("Location", ""):
                failures.append(f"GET {url} -> {r.status_code} {r.headers.get('Location')}")
        if "POST" in rule.methods:
            # no session: to the login page (a form post), never into the view
            r = client.post(url, data={"x": "1"})
            if r.status_code not in (400, 302, 303) or (
                    r.status_code in (302, 303) and "/login" not in r.headers.get("Location", "")):
                failures.append(f"POST {url} -> {r.status_code}")
    assert not failures, "\n".join(failures)


# --- sessions ----------------------------------------------------------------------------------


def test_login_issues_a_new_session_and_the_old_cookie_stays_anonymous(site: Any) -> None:
    app, _ = site
    victim = app.test_client()
    victim.get("/login")
    planted = session_cookie(victim)  # e.g. fixed by an attacker before the victim logs in
    assert planted
    with victim.session_transaction() as s:
        old_csrf = s["csrf_token"]
    login(victim, "req1", PASSWORD)
    assert session_cookie(victim) != planted
    with victim.session_transaction() as s:
        assert s["user"] == "req1" and s["csrf_token"] != old_csrf
    attacker = app.test_client()
    attacker.set_cookie(cookie_name(attacker), planted)
    r = attacker.get("/tasks")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_a_session_cookie_is_dead_after_logout(site: Any) -> None:
    app, _ = site
    client = app.test_client()
    login(client, "req1", PASSWORD)
    captured = session_cookie(client)
    with client.session_transaction() as s:
        token = s["csrf_token"]
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    replay = app.test_client()
    replay.set_cookie(cookie_name(replay), captured)
    r = replay.get("/tasks")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_a_login_lasts_a_working_day_not_a_month(site: Any) -> None:
    from datetime import UTC, datetime, timedelta
    from email.utils import parsedate_to_datetime

    app, _ = site
    client = app.test_client()
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token
    r = client.post(
        "/login", data={"username": "req1", "password": PASSWORD, "csrf_token": token.group(1)}
    )
    expires = re.search(r"Expires=([^;]+)", r.headers["Set-Cookie"])
    assert expires, r.headers["Set-Cookie"]
    lifetime = parsedate_to_datetime(expires.group(1)) - datetime.now(UTC)
    assert lifetime <= timedelta(hours=8, minutes=1), lifetime


# --- CSRF ------------------------------------------------------------------------------------


def test_every_ui_post_needs_the_csrf_token(site: Any) -> None:
    app, _ = site
    client = app.test_client()
    login(client, "root", PASSWORD)
    with client.session_transaction() as s:
        real = s["csrf_token"]
    posts = [r for r in app.url_map.iter_rules()
             if "POST" in r.methods and not r.rule.startswith("/api/")]
    assert len(posts) > 10
    failures = []
    for rule in posts:
        url = _url(rule)
        for label, data, headers in (
            ("no token", {"x": "1"}, {}),
            ("wrong token", {"csrf_token": "forged-" + real[:10]}, {}),
            ("token of another session", {"csrf_token": "A" * len(real)}, {}),
            ("wrong header", {}, {"X-CSRF-Token": "forged"}),
        ):
            r = client.post(url, data=data, headers=headers)
            if r.status_code != 400:
                failures.append(f"{label}: POST {url} -> {r.status_code}")
    assert not failures, "\n".join(failures)
    # the real token still works afterwards (nothing was locked out)
    assert client.post("/logout", data={"csrf_token": real}).status_code == 302


# --- XSS ------------------------------------------------------------------------------------


def test_markup_in_data_and_names_is_escaped_everywhere(site: Any) -> None:
    from engine.context import build_context
    from engine.people.accounts import add_user
    from engine.settings import Settings
    from engine.store.db import transaction
    from engine.usecases.deploy import Upload, deploy

    app, prep = site
    hostile_model = (APPROVAL3.replace('id="rel3" name="三步审批"',
                                       f'id="xss" name="{_xml_attr(XSS + XSS_ATTR)}"')
                     .replace('name="提交"', f'name="{_xml_attr(XSS)}"')
                     .replace('name="审核"', f'name="{_xml_attr(XSS_ATTR)}"'))
    ctx = build_context(Settings(database_url=prep.url, secret_key=prep.secret))
    with transaction(ctx.sessions) as s:
        deploy(ctx, s, [Upload("xss.bpmn", hostile_model.encode())], "owner")
        add_user(s, "mallory", PASSWORD, now=ctx.clock.now(), groups=["requester"],
                 display_name=XSS + XSS_ATTR)
    ctx.db.dispose()
    api = app.test_client()
    token = api.post("/api/v1/auth/token", json={"username": "mallory", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    r = api.post("/api/v1/process-instances", headers=headers, json={
        "process": "xss", "data": {"title": XSS + XSS_ATTR, "note": XSS, XSS_ATTR[2:6]: XSS}})
    assert r.status_code == 201, r.get_json()
    iid = r.get_json()["id"]
    task1 = r.get_json()["open_tasks"][0]["id"]
    r = api.post(f"/api/v1/tasks/{task1}/complete", headers=headers,
                 json={"data": {"amount": 1, "comment": XSS_ATTR}})
    assert r.status_code == 200, r.get_json()
    task2 = r.get_json()["instance"]["open_tasks"][0]["id"]

    pages: dict[str, list[str]] = {
        "mallory": ["/", "/tasks", f"/tasks/{task1}", "/tasks/done", "/instances/mine",
                    f"/instances/{iid}", "/start", "/start/xss"],
        "mgr1": ["/tasks", f"/tasks/{task2}", "/instances", f"/instances/{iid}",
                 "/instances?process=xss", "/dashboard"],
        "root": ["/models", "/models/xss", "/models/xss/edit", "/admin/users", "/instances",
                 f"/instances/{iid}", "/dashboard"],
    }
    failures = []
    seen = shown = 0
    for user, urls in pages.items():
        client = app.test_client()
        login(client, user, PASSWORD)
        for url in urls:
            r = client.get(url, follow_redirects=True)
            if r.status_code == 404:
                continue  # a page this build does not have
            seen += 1
            html = r.get_data(as_text=True)
            if r.status_code != 200:
                failures.append(f"{user} {url}: {r.status_code}")
            shown += "&lt;script&gt;alert(" in html or "&#34;&gt;&lt;img" in html \
                or "&#34;&gt;&lt;img src=x" in html or "&quot;&gt;&lt;img" in html
            for marker in RAW_MARKERS:
                if marker in html:
                    i = html.index(marker)
                    failures.append(f"{user} {url}: unescaped {marker!r}: "
                                    f"…{html[max(0, i - 80):i + 40]!r}")
    assert seen >= 15
    assert shown >= 10, f"the hostile text was shown (escaped) on only {shown} pages"
    assert not failures, "\n".join(failures)

    # the API answers JSON (never HTML a browser would render), sniffing disabled
    for path in ("/api/v1/tasks", f"/api/v1/process-instances/{iid}", f"/api/v1/tasks/{task1}",
                 "/api/v1/me", "/api/v1/process-models/xss", "/api/v1/nope",
                 f"/api/v1/process-instances/{iid}/messages/%3Cscript%3E"):
        r = api.get(path, headers=headers)
        assert r.mimetype == "application/json", (path, r.mimetype)
        assert r.headers.get("X-Content-Type-Options") == "nosniff"


# --- secrets ---------------------------------------------------------------------------------


def test_no_secret_or_password_hash_in_api_responses_or_the_server_log(tmp_path: Path) -> None:
    prep = prepare(tmp_path, {"rel3.bpmn": APPROVAL3},
                   users={"req1": ["requester"], "mgr1": ["planning_manager"],
                          "root": ["admin"]})
    port = free_port()
    log = tmp_path / "server.log"
    server = spawn(prep.env, "serve", "--port", str(port), log=log)
    bodies: list[str] = []
    fresh_tokens: list[str] = []
    new_password = "N3w-user-pa55word"
    try:
        wait_healthy(port, proc=server)
        c = Conn(port)

        def call(method: str, path: str, body: Any = None, user: str | None = "root") -> Any:
            status, data, headers = c.raw(
                method, path, None if body is None else json.dumps(body).encode(),
                {"Content-Type": "application/json",
                 **({"Authorization": f"Bearer {prep.tokens[user]}"} if user else {})})
            bodies.append(data.decode("utf-8", "replace") + json.dumps(headers))
            return status, (json.loads(data) if data and headers.get(
                "content-type", "").startswith("application/json") else data)

        for user, pw in (("req1", PASSWORD), ("req1", "wrong-" + PASSWORD), ("nobody", PASSWORD)):
            status, reply = call("POST", "/api/v1/auth/token",
                                 {"username": user, "password": pw}, user=None)
            if status == 201:
                fresh_tokens.append(reply["token"])
                bodies.pop()  # the one response that must carry a token
        status, inst = call("POST", "/api/v1/process-instances",
                            {"process": "rel3", "data": {"title": "t"}}, user="req1")
        assert status == 201
        call("POST", f"/api/v1/tasks/{inst['open_tasks'][0]['id']}/complete",
             {"data": {"amount": 5}}, user="req1")
        for path in ("/api/v1/me", "/api/v1/tasks", "/api/v1/process-instances",
                     f"/api/v1/process-instances/{inst['id']}", "/api/v1/process-models",
                     "/api/v1/process-models/rel3", "/api/v1/openapi.json", "/api/v1/healthz",
                     "/api/v1/tasks/nope", "/api/v1/process-instances/0"):
            call("GET", path)
        call("POST", "/api/v1/process-instances", {"process": "rel3", "data": "x"})
        # an administrator creates a user through the UI (a password crosses the server)
        ui = Conn(port)
        status, page, headers = ui.raw("GET", "/login")
        cookie = headers["set-cookie"].split(";", 1)[0]
        csrf = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()  # type: ignore[union-attr]
        form = urlencode({"username": "root", "password": PASSWORD, "csrf_token": csrf})
        status, _, headers = ui.raw("POST", "/login", form.encode(), {
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
        assert status == 302
        cookie = headers["set-cookie"].split(";", 1)[0]
        status, page, _ = ui.raw("GET", "/admin/users", None, {"Cookie": cookie})
        csrf = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()  # type: ignore[union-attr]
        form = urlencode({"username": "newbie", "password": new_password, "display_name": "新人",
                          "groups": "requester", "csrf_token": csrf})
        status, _, _ = ui.raw("POST", "/admin/users", form.encode(), {
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
        assert status in (200, 302, 303), status
        call("GET", "/api/v1/me")
        c.close()
        ui.close()
    finally:
        stop(server)

    secrets = {"secret key": prep.secret, "password": PASSWORD, "new password": new_password,
               "password hash": "scrypt$"}
    for name, token in {**prep.tokens, **{f"fresh{i}": t for i, t in enumerate(fresh_tokens)}
                        }.items():
        secrets[f"token hash {name}"] = hashlib.sha256(token.encode()).hexdigest()
    api_text = "\n".join(bodies)
    for label, value in secrets.items():
        assert value not in api_text, f"{label} appears in an API response"
    server_log = log.read_text(errors="replace")
    for label, value in {**secrets, **{f"token {k}": v for k, v in prep.tokens.items()}}.items():
        assert value not in server_log, f"{label} appears in the server log"
    assert "Traceback" not in server_log
