"""Shared helpers for tests that use the HTML pages the way a browser does: log in (session
cookie + CSRF token from the login form), a logged-in client per user, a page's text."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import PASSWORD


def login(client: Any, username: str = "alice", password: str = PASSWORD) -> str:
    """Log `client` in as `username` (logging out whoever was in); the session's CSRF token."""
    with client.session_transaction() as s:
        s.clear()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, page
    answer = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return csrf(client)


def csrf(client: Any) -> str:
    with client.session_transaction() as s:
        return str(s["csrf_token"])


def as_user(app: Any, username: str) -> Any:
    """A new test client of `app`, logged in as `username`."""
    client = app.test_client()
    login(client, username)
    return client


def html(response: Any) -> str:
    return str(response.get_data(as_text=True))
