"""Login throttling in the database (issue 12): the token endpoint and the UI login share one
count per username (5 failures / 15 min) and per client address (20 / 15 min); a second app on
the same database (another process, or the server after a restart) sees the same count; a
throttled login answers 429 with Retry-After and the right password does not get in until the
window has passed (measured on the app's clock). On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import delete

from engine.context import build_context
from engine.people.login_throttle import DEFAULT_LIMITS, LoginFailureRecord
from engine.store.db import transaction
from tests.conftest import PASSWORD, make_settings, make_staff

WINDOW = int(DEFAULT_LIMITS.window.total_seconds())


@pytest.fixture
def app(ctx: Any) -> Any:
    from web import create_app

    with transaction(ctx.sessions) as s:  # PostgreSQL: the database outlives a test
        s.execute(delete(LoginFailureRecord))
    make_staff(ctx)
    return create_app({"TESTING": True}, context=ctx)


def token(client: Any, password: str, username: str = "alice", addr: str = "10.0.0.1") -> Any:
    return client.post("/api/v1/auth/token", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": addr})


def ui_login(client: Any, password: str, username: str = "alice", addr: str = "10.0.0.1") -> Any:
    env = {"REMOTE_ADDR": addr}
    page = client.get("/login", environ_base=env).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf}, environ_base=env)


def assert_throttled_api(r: Any, wait: int | None = None) -> None:
    assert r.status_code == 429, r.get_data(as_text=True)[:300]
    assert r.get_json()["error"]["code"] == "too_many_requests"
    retry = int(r.headers["Retry-After"])
    assert 0 < retry <= WINDOW
    if wait is not None:
        assert retry == wait


def test_token_endpoint_locks_after_five_failures_until_the_window_passes(ctx, app):
    client = app.test_client()
    for _ in range(DEFAULT_LIMITS.per_user):
        assert token(client, "wrong").status_code == 401
    assert_throttled_api(token(client, PASSWORD), WINDOW)  # the right password: refused too
    ctx.clock.advance(seconds=WINDOW - 60)
    assert_throttled_api(token(client, PASSWORD), 60)
    ctx.clock.advance(seconds=61)
    assert token(client, PASSWORD).status_code == 201
    # a success forgets the user's failures: five more are allowed again
    for _ in range(DEFAULT_LIMITS.per_user - 1):
        assert token(client, "wrong").status_code == 401
    assert token(client, PASSWORD).status_code == 201


def test_ui_login_is_throttled_with_a_chinese_page_and_retry_after(ctx, app):
    client = app.test_client()
    for _ in range(DEFAULT_LIMITS.per_user):
        assert ui_login(client, "wrong").status_code == 401
    r = ui_login(client, PASSWORD)
    assert r.status_code == 429
    assert "登录尝试过多" in r.get_data(as_text=True)
    assert int(r.headers["Retry-After"]) == WINDOW
    with client.session_transaction() as s:
        assert "user" not in s  # not logged in


def test_both_channels_share_one_count(ctx, app):
    client = app.test_client()
    for _ in range(3):
        assert token(client, "wrong").status_code == 401
    for _ in range(2):
        assert ui_login(client, "wrong").status_code == 401
    assert_throttled_api(token(client, PASSWORD))
    assert ui_login(client, PASSWORD).status_code == 429


def test_a_second_app_on_the_same_database_sees_the_count(ctx, app, db_url, tmp_path):
    """Another process, or the same server after a restart: a new context, a new engine."""
    from web import create_app

    client = app.test_client()
    for _ in range(DEFAULT_LIMITS.per_user):
        assert token(client, "wrong", username="bob").status_code == 401
    other_ctx = build_context(make_settings(db_url, tmp_path), clock=ctx.clock)
    try:
        other = create_app({"TESTING": True}, context=other_ctx).test_client()
        assert_throttled_api(token(other, PASSWORD, username="bob"), WINDOW)
        assert ui_login(other, PASSWORD, username="bob").status_code == 429
        # and what the second one counts, the first one sees
        for _ in range(DEFAULT_LIMITS.per_user):
            assert ui_login(other, "wrong", username="mgr").status_code == 401
        assert_throttled_api(token(client, PASSWORD, username="mgr"))
    finally:
        other_ctx.db.dispose()


def test_usernames_are_counted_case_insensitively(ctx, app):
    client = app.test_client()
    for name in ("Alice", "ALICE", "alice ", "aLiCe", "alice"):
        assert token(client, "wrong", username=name).status_code == 401
    assert_throttled_api(token(client, PASSWORD))


def test_one_address_guessing_many_usernames_is_locked_out(ctx, app):
    client = app.test_client()
    for i in range(DEFAULT_LIMITS.per_address):
        assert token(client, "wrong", username=f"nobody{i}", addr="10.6.6.6").status_code == 401
    # a real user with the right password, from that address: refused
    assert_throttled_api(token(client, PASSWORD, username="bob", addr="10.6.6.6"), WINDOW)
    assert ui_login(client, PASSWORD, username="bob", addr="10.6.6.6").status_code == 429
    # from elsewhere: fine
    assert token(client, PASSWORD, username="bob", addr="10.0.0.2").status_code == 201


def test_refused_bodies_are_not_counted(ctx, app):
    client = app.test_client()
    for _ in range(DEFAULT_LIMITS.per_user + 3):
        r = client.post("/api/v1/auth/token", data=b'{"username": "alice", "password": NaN}',
                        content_type="application/json")
        assert r.status_code == 400
    assert token(client, PASSWORD).status_code == 201
