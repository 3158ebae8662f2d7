"""User-supplied redirect targets (`?next=`, a form's `next`): only paths on this site, as a
browser would read them, and never a server error whatever the value."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD
from web.redirects import safe_redirect_target

# Raw query strings (sent exactly as written) and where they must land.
NASTY_QUERIES = [
    ("next=/%09/evil.example", "/"),
    ("next=/%0a/evil.example", "/"),
    ("next=/%0d/x", "/"),
    ("next=/%0d%0aSet-Cookie:%20x=1", "/"),
    ("next=%09//evil.example", "/"),
    ("next=%20/x", "/"),
    ("next=//x", "/"),
    ("next=///x", "/"),
    ("next=/\\x", "/"),
    ("next=/%5Cx", "/"),
    ("next=%5C%5Cevil.example", "/"),
    ("next=\\\\evil.example", "/"),
    ("next=/a\\b", "/"),
    ("next=http://x", "/"),
    ("next=https:evil.example", "/"),
    ("next=javascript:alert(1)", "/"),
    ("next=JaVaScRiPt%3Aalert(1)", "/"),
    ("next=data:text/html,hi", "/"),
    ("next=/%2F%2Fevil.example", "/"),
    ("next=/%252F%252Fevil.example", "/"),  # decoded once more it would be //evil.example
    ("next=/%2525/x", "/%25/x"),  # decoded once more it is /%/x: a path, harmless
    ("next=/%00/x", None),  # NUL: refused before any view (web.strict_input), 400
    ("next=/%7f/x", "/"),
    ("next=/%c2%85/x", "/"),  # NEL
    ("next=/%e3%80%80/x", "/"),  # ideographic space
    # not UTF-8: in a query string werkzeug keeps the escapes (a harmless path); in a form body
    # (which only our own pages post, always UTF-8) they are refused: see NOT_UTF8_IN_A_FORM
    ("next=/%ff%fe", "/%FF%FE"),
    ("next=/%ed%a0%80", "/%ED%A0%80"),  # an encoded lone surrogate
    ("next=/" + "a" * 5000, "/"),
    ("next=", "/"),
    ("next=x", "/"),
    ("next=/instances?status=running%26page=2", "/instances?status=running&page=2"),
    ("next=/%E4%B8%AD", "/%E4%B8%AD"),
]
NOT_UTF8_IN_A_FORM = {"next=/%ff%fe", "next=/%ed%a0%80"}


def in_a_form(query: str, expected: str | None) -> str | None:
    """What a form body holding ``query`` leads to: None for a refusal (400)."""
    return None if query in NOT_UTF8_IN_A_FORM else expected


@pytest.mark.parametrize(("query", "expected"), NASTY_QUERIES)
def test_language_switch_redirects_only_to_this_site(client, query, expected):
    r = client.get("/lang/en?" + query)
    if expected is None:
        assert r.status_code == 400
        return
    assert r.status_code == 302
    assert r.headers["Location"] == expected


def _csrf(client):
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_login_form_next_stays_on_this_site(client, api_staff):
    for query, expected in NASTY_QUERIES:
        with client.session_transaction() as s:
            old = s.get("csrf_token")
        if old:
            client.post("/logout", data={"csrf_token": old})
        # the same value in a urlencoded form body
        body = f"username=alice&password={PASSWORD}&csrf_token={_csrf(client)}&{query}"
        r = client.post("/login", data=body, content_type="application/x-www-form-urlencoded")
        if in_a_form(query, expected) is None:
            assert r.status_code == 400, query
            continue
        assert r.status_code == 302, (query, r.get_data(as_text=True)[:300])
        assert r.headers["Location"] == expected, query
        # logged in now: GET /login?next=… redirects at once, through the same rule
        r = client.get("/login?" + query)
        assert r.status_code == 302, query
        assert r.headers["Location"] == expected, query


def test_page_forms_with_a_next_field_never_leave_the_site(client, api_staff):
    client.post("/login", data={"username": "alice", "password": PASSWORD,
                                "csrf_token": _csrf(client)})
    with client.session_transaction() as s:
        token = s["csrf_token"]
    for query, expected in NASTY_QUERIES:
        # 全部已读 (notifications) takes a `next`; its own fallback is the notifications page
        r = client.post("/notifications/read-all", data=f"csrf_token={token}&{query}",
                        content_type="application/x-www-form-urlencoded")
        if in_a_form(query, expected) is None:
            assert r.status_code == 400, query
            continue
        assert r.status_code == 303, query
        location = r.headers["Location"]
        assert location.startswith("/") and not location.startswith(("//", "/\\")), query
        assert location.isascii() and not re.search(r"[\x00-\x20\x7f]", location), query


@pytest.mark.parametrize(
    "value",
    [None, 42, "", "/ok\u2028x", "\ud800", "/\ud800", "/x\x00", " /x", "/x ", "\t//x"],
)
def test_function_never_raises_and_refuses_oddities(value):
    assert safe_redirect_target(value) == "/"


def test_function_keeps_ordinary_paths():
    assert safe_redirect_target("/tasks/abc?tab=ops#form") == "/tasks/abc?tab=ops#form"
    assert safe_redirect_target("/x", "/fallback") == "/x"
    assert safe_redirect_target("//x", "/fallback") == "/fallback"
