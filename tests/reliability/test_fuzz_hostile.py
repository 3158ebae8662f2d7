"""Property-based fuzzing with hostile values (issue 12), in process through the Flask app:
JSON bodies built from lone surrogates, NUL, NaN/±Infinity, huge numbers, deep nesting and odd
keys, sent raw to the API's data endpoints, the token endpoint and the pages' JSON forms; and
raw urlencoded/multipart form bodies and `next` targets to the pages. Every request either
succeeds and leaves every instance readable, or answers 4xx with nothing written. Never a 5xx.

Deterministic (derandomize) and bounded (MAX_EXAMPLES per test) so it runs in the normal test
command in well under a minute on SQLite."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from engine.people.accounts import actor_for, issue_token
from engine.store.db import transaction
from engine.store.tables import AuditRecord, HumanTaskRow, InstanceRecord
from engine.usecases.deploy import Upload, deploy
from tests.conftest import PASSWORD, make_staff
from tests.reliability.conftest import APPROVAL3

MAX_EXAMPLES = 60
FUZZ = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))

# Text that includes what breaks storage: lone surrogates, NUL, controls, CJK, emoji.
HOSTILE_CHARS = st.one_of(
    st.characters(codec=None),  # anything, surrogates included
    st.sampled_from(["\ud800", "\udfff", "\x00", "\u2028", "中", "🚀", "\\", '"', "\t"]),
)
TEXT = st.text(HOSTILE_CHARS, max_size=12)
NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
)
LEAVES = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=20,
)


def nested(depth: int, leaf: Any) -> Any:
    for i in range(depth):
        leaf = [leaf] if i % 2 else {"k": leaf}
    return leaf


DATA = st.one_of(
    st.dictionaries(TEXT, VALUES, max_size=5),
    st.builds(lambda d, v: {"deep": nested(d, v)}, st.integers(0, 1200), LEAVES),
)


def encode(value: Any, ascii_only: bool) -> bytes:
    """JSON as a client might send it: NaN/Infinity written as such, surrogates either as
    \\u escapes or as (invalid) UTF-8 bytes."""
    text = json.dumps(value, ensure_ascii=ascii_only, allow_nan=True, check_circular=False)
    return text.encode("utf-8", "surrogatepass")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from engine.context import build_context
    from engine.store.migrate import upgrade
    from tests.conftest import make_settings
    from web import create_app

    tmp = tmp_path_factory.mktemp("fuzz_hostile")
    ctx = build_context(make_settings(f"sqlite:///{tmp / 'f.sqlite3'}", tmp))
    upgrade(ctx.db)
    make_staff(ctx)
    with transaction(ctx.sessions) as s:
        deploy(ctx, s, [Upload("rel3.bpmn", APPROVAL3.encode())], "owner")
        tokens = {n: issue_token(s, actor_for(s, n), ctx.clock.now(), 24) for n in ("req", "root")}
    app = create_app({"TESTING": True}, context=ctx)
    api = app.test_client()
    headers = {n: {"Authorization": f"Bearer {t}"} for n, t in tokens.items()}
    r = api.post("/api/v1/process-instances", json={"process": "rel3", "data": {}},
                 headers=headers["req"])
    assert r.status_code == 201
    instance_id = r.get_json()["id"]
    pages = app.test_client()
    page = pages.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert pages.post("/login", data={"username": "req", "password": PASSWORD,
                                      "csrf_token": csrf}).status_code == 302
    with pages.session_transaction() as sess:
        csrf = sess["csrf_token"]
    yield {"ctx": ctx, "api": api, "pages": pages, "csrf": csrf, "headers": headers,
           "instance": instance_id}
    ctx.db.dispose()


def snapshot(ctx: Any) -> Any:
    with ctx.sessions() as s:
        return (tuple(s.execute(select(InstanceRecord.id, InstanceRecord.lock_version)
                                .order_by(InstanceRecord.id)).all()),
                s.scalar(select(func.count()).select_from(AuditRecord)),
                s.scalar(select(func.count()).select_from(HumanTaskRow)))


def open_task(site: Any) -> str:
    with site["ctx"].sessions() as s:
        task_id = s.scalar(select(HumanTaskRow.id).where(
            HumanTaskRow.instance_id == site["instance"], HumanTaskRow.status == "open"))
    if task_id is None:  # completed by an earlier example: start another instance
        r = site["api"].post("/api/v1/process-instances", json={"process": "rel3", "data": {}},
                             headers=site["headers"]["req"])
        assert r.status_code == 201
        site["instance"] = r.get_json()["id"]
        return open_task(site)
    return task_id


def check_outcome(site: Any, before: Any, r: Any, what: str) -> None:
    assert r.status_code < 500, (what, r.status_code, r.get_data()[:300])
    r.get_data().decode("utf-8")  # every answer is valid UTF-8
    if r.status_code >= 400:
        assert snapshot(site["ctx"]) == before, (what, r.status_code)
    # whatever happened, every instance is still readable
    with site["ctx"].sessions() as s:
        ids = s.scalars(select(InstanceRecord.id)).all()
    for instance_id in ids[-3:]:
        got = site["api"].get(f"/api/v1/process-instances/{instance_id}",
                              headers=site["headers"]["root"])
        assert got.status_code == 200, (what, instance_id, got.get_data()[:300])


@FUZZ
@given(data=DATA, ascii_only=st.booleans(),
       channel=st.sampled_from(["start", "complete", "patch", "page_start", "page_complete"]))
def test_hostile_json_data_never_breaks_an_instance(site, data, ascii_only, channel):
    api, headers = site["api"], site["headers"]
    task_id = open_task(site)
    before = snapshot(site["ctx"])
    body = {"process": "rel3", "data": data} if channel == "start" else {"data": data}
    raw = encode(body, ascii_only)
    url, method, client, extra = {
        "start": ("/api/v1/process-instances", "POST", api, headers["req"]),
        "complete": (f"/api/v1/tasks/{task_id}/complete", "POST", api, headers["req"]),
        "patch": (f"/api/v1/process-instances/{site['instance']}/data", "PATCH", api,
                  headers["root"]),
        "page_start": ("/start/rel3", "POST", site["pages"], {"X-CSRF-Token": site["csrf"]}),
        "page_complete": (f"/tasks/{task_id}/complete", "POST", site["pages"],
                          {"X-CSRF-Token": site["csrf"]}),
    }[channel]
    r = client.open(url, method=method, data=raw, content_type="application/json",
                    headers=extra)
    check_outcome(site, before, r, channel)


@FUZZ
@given(username=st.one_of(TEXT, VALUES), password=st.one_of(TEXT, VALUES),
       extra=st.dictionaries(TEXT, VALUES, max_size=2), ascii_only=st.booleans())
def test_hostile_token_requests_never_fail_the_server(site, username, password, extra,
                                                      ascii_only):
    before = snapshot(site["ctx"])
    raw = encode({**extra, "username": username, "password": password}, ascii_only)
    r = site["api"].post("/api/v1/auth/token", data=raw, content_type="application/json")
    assert r.status_code in (201, 400, 401, 429), r.get_data()[:300]
    if r.status_code != 201:
        assert snapshot(site["ctx"]) == before


FORM_BYTES = st.binary(max_size=200)
FORM_TEXT = st.text(st.characters(codec="utf-8"), max_size=40)


@FUZZ
@given(
    kind=st.sampled_from(["urlencoded", "multipart", "raw"]),
    fields=st.dictionaries(st.sampled_from(["username", "password", "next", "reason", "x", ""]),
                           FORM_TEXT, max_size=4),
    raw=FORM_BYTES,
    url=st.sampled_from(["/login", "/notifications/read-all", "/lang/en", "/start/rel3",
                         "/cc/read-all", "/logout"]),
    next_target=st.one_of(FORM_TEXT, st.sampled_from(
        ["/%0d/x", "//x", "/\\x", "http://x", "javascript:x", "/%09/evil.example", "/" * 3000,
         "/%ff%fe", "/%ed%a0%80"])),
)
def test_hostile_form_posts_never_fail_the_server(site, kind, fields, raw, url, next_target):
    client = site["pages"]
    before = snapshot(site["ctx"])
    fields = {**fields, "csrf_token": site["csrf"], "next": next_target}
    if url == "/logout":
        fields.pop("csrf_token")  # stay logged in: no valid logout
    if url == "/lang/en":
        r = client.get(url, query_string={"next": next_target})
    elif kind == "raw":
        r = client.post(url, data=raw, content_type="application/x-www-form-urlencoded")
    elif kind == "multipart":
        r = client.post(url, data=fields, content_type="multipart/form-data")
    else:
        r = client.post(url, data=fields)
    assert r.status_code < 500, (url, kind, r.status_code)
    location = r.headers.get("Location")
    if location is not None:
        assert location.startswith("/") and not location.startswith(("//", "/\\"))
        assert location.isascii() and not re.search(r"[\x00-\x20\x7f]", location)
    if r.status_code >= 400:
        assert snapshot(site["ctx"]) == before
