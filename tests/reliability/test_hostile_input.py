"""Hostile JSON (issue 12): lone UTF-16 surrogates (in values and in keys), NaN/±Infinity,
JSON nested 1000 deep, NUL characters and oversized values, sent to every channel that takes
instance data (API start, API completion, PATCH data, a message) and to the public token
endpoint, and to the pages that post JSON (the start form, the task form). Each is refused at
the edge with 400 naming the field, nothing is written (instances, state, tasks and audit log
unchanged), and the instance is still readable afterwards. On SQLite and PostgreSQL."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.people.accounts import issue_token
from engine.store.db import transaction
from engine.store.tables import AuditRecord, HumanTaskRow, InstanceRecord
from engine.strict_json import MAX_DEPTH, MAX_STRING_CHARS
from engine.usecases.deploy import Upload, deploy
from tests.conftest import PASSWORD, make_staff
from tests.reliability.conftest import APPROVAL3

DEEP = "[" * 1000 + "]" * 1000

# (case id, the value of `data` as raw JSON text, the field the answer must name)
HOSTILE_DATA = [
    ("surrogate", '{"title": "x\\ud800y"}', "data.title"),
    ("low_surrogate_in_list", '{"guests": [{"name": "a"}, {"name": "b"}, {"name": "\\udc00"}]}',
     "data.guests[2].name"),
    ("surrogate_key", '{"\\ud83d": 1}', 'data["\\ud83d"]'),
    ("nan", '{"amount": NaN}', "data.amount"),
    ("infinity", '{"amount": Infinity}', "data.amount"),
    ("minus_infinity", '{"amount": -Infinity}', "data.amount"),
    ("overflow_to_infinity", '{"amount": 1e999}', "data.amount"),
    # the first container deeper than MAX_DEPTH is named (the body object is depth 1)
    ("deep", '{"x": ' + DEEP + "}", "data.x" + "[0]" * (MAX_DEPTH - 2)),
    ("nul", '{"title": "a\\u0000b"}', "data.title"),
    ("huge_int", '{"amount": 1' + "0" * 30 + "}", "data.amount"),
    # past Python's 4,300-digit limit for int(): still the field's range, not "not valid JSON"
    ("giant_int", '{"n": [1, {"amount": 9' + "9" * 5000 + "}]}", "data.n[1].amount"),
    ("giant_negative_int", '{"amount": -' + "7" * 5000 + "}", "data.amount"),
    # a key twice: parsers disagree on which value counts (Python's keeps the last)
    ("duplicate_key", '{"amount": 1, "title": "x", "amount": 900}', "data.amount"),
    ("duplicate_nested_key", '{"guests": [{"name": "a"}, {"name": "b", "name": "c"}]}',
     "data.guests[1].name"),
    ("long_string", '{"title": "' + "x" * (MAX_STRING_CHARS + 1) + '"}', "data.title"),
    # a key too long is named by its start: the answer does not echo 100,000 characters
    ("long_key", '{"' + "k" * 100_000 + '": 1}', "data." + "k" * 60 + "…"),
]


@pytest.fixture
def site(ctx: Any) -> Any:
    from web import create_app

    make_staff(ctx)
    with transaction(ctx.sessions) as s:
        deploy(ctx, s, [Upload("rel3.bpmn", APPROVAL3.encode())], "owner")
        from engine.people.accounts import actor_for

        tokens = {name: issue_token(s, actor_for(s, name), ctx.clock.now(), 24)
                  for name in ("req", "root")}
    app = create_app({"TESTING": True}, context=ctx)
    client = app.test_client()
    headers = {name: {"Authorization": f"Bearer {t}"} for name, t in tokens.items()}
    r = client.post("/api/v1/process-instances", json={"process": "rel3", "data": {"a": 1}},
                    headers=headers["req"])
    assert r.status_code == 201, r.get_json()
    instance = r.get_json()
    return SimpleNamespace(app=app, client=client, headers=headers, instance=instance)


def snapshot(ctx: Any) -> tuple[Any, ...]:
    with ctx.sessions() as s:
        instances = s.execute(
            select(InstanceRecord.id, InstanceRecord.lock_version, InstanceRecord.state)
            .order_by(InstanceRecord.id)).all()
        return (tuple(instances), s.scalar(select(func.count()).select_from(AuditRecord)),
                s.scalar(select(func.count()).select_from(HumanTaskRow)))


def raw_post(client: Any, method: str, url: str, body: str, headers: dict[str, str]) -> Any:
    return client.open(url, method=method, data=body.encode("utf-8"),
                       content_type="application/json", headers=headers)


def assert_refused(r: Any, field: str, case: str = "") -> None:
    assert r.status_code == 400, (case, r.status_code, r.get_data(as_text=True)[:400])
    body = r.get_json()
    assert body["error"]["code"] == "invalid_input", case
    assert body["error"]["details"]["field"] == field, case
    assert field.split("[")[0].split(".")[-1] in body["error"]["message"]
    r.get_data().decode("utf-8")  # the answer itself is valid UTF-8
    assert len(r.get_data()) < 2048, (case, len(r.get_data()))  # names the field, briefly


def assert_still_readable(client: Any, headers: dict[str, str], instance_id: int) -> None:
    r = client.get(f"/api/v1/process-instances/{instance_id}", headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    r = client.get("/api/v1/process-instances", headers=headers)
    assert r.status_code == 200


def test_api_start_refuses_hostile_data(ctx, site):
    client, headers, instance = site.client, site.headers, site.instance
    before = snapshot(ctx)
    for case, data, field in HOSTILE_DATA:
        r = raw_post(client, "POST", "/api/v1/process-instances",
                     '{"process": "rel3", "data": ' + data + "}", headers["req"])
        assert_refused(r, field, case)
        assert snapshot(ctx) == before, case
        assert_still_readable(client, headers["req"], instance["id"])


def test_api_completion_refuses_hostile_data(ctx, site):
    client, headers, instance = site.client, site.headers, site.instance
    task_id = instance["tasks"][0]["id"]
    before = snapshot(ctx)
    for case, data, field in HOSTILE_DATA:
        r = raw_post(client, "POST", f"/api/v1/tasks/{task_id}/complete",
                     '{"data": ' + data + "}", headers["req"])
        assert_refused(r, field, case)
        assert snapshot(ctx) == before, case
        assert_still_readable(client, headers["req"], instance["id"])
    # and the task can still be completed with good data
    r = client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"amount": 5}},
                    headers=headers["req"])
    assert r.status_code == 200, r.get_json()
    assert_still_readable(client, headers["req"], instance["id"])


def test_api_patch_data_and_messages_refuse_hostile_data(ctx, site):
    client, headers, instance = site.client, site.headers, site.instance
    before = snapshot(ctx)
    for case, data, field in HOSTILE_DATA:
        r = raw_post(client, "PATCH", f"/api/v1/process-instances/{instance['id']}/data",
                     '{"data": ' + data + "}", headers["root"])
        assert_refused(r, field, case)
        r = raw_post(client, "POST", f"/api/v1/process-instances/{instance['id']}/messages/m",
                     '{"data": ' + data + "}", headers["root"])
        assert_refused(r, field, case)
        assert snapshot(ctx) == before, case
    assert_still_readable(client, headers["root"], instance["id"])


TOKEN_BODIES = [
    ("surrogate_password", '{"username": "alice", "password": "\\ud800"}', "password"),
    ("surrogate_username", '{"username": "\\udfff", "password": "x"}', "username"),
    ("surrogate_key", '{"username": "alice", "password": "x", "\\ud800": 1}', '["\\ud800"]'),
    ("nan", '{"username": "alice", "password": NaN}', "password"),
    ("infinity", '{"username": "alice", "password": Infinity}', "password"),
    ("minus_infinity", '{"username": "alice", "password": -Infinity}', "password"),
    ("deep", '{"username": ' + DEEP + "}", "username" + "[0]" * (MAX_DEPTH - 1)),
    ("deep_top", DEEP, "[0]" * MAX_DEPTH),
    # the second username would be the one logged in with, a first one the one a proxy saw
    ("duplicate_username", f'{{"username": "mallory", "password": "{PASSWORD}", '
     '"username": "alice"}', "username"),
    ("nul", '{"username": "alice\\u0000", "password": "x"}', "username"),
]


def test_token_endpoint_refuses_hostile_json(ctx, site):
    client = site.client
    before = snapshot(ctx)
    for case, body, field in TOKEN_BODIES:
        r = raw_post(client, "POST", "/api/v1/auth/token", body, {})
        assert_refused(r, field, case)
        assert snapshot(ctx) == before, case
    r = client.post("/api/v1/auth/token", json={"username": "alice", "password": PASSWORD})
    assert r.status_code == 201


def _page_login(client: Any, username: str) -> str:
    import re

    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"username": username, "password": PASSWORD,
                                    "csrf_token": csrf})
    assert r.status_code == 302
    with client.session_transaction() as s:
        return s["csrf_token"]


def test_pages_start_and_task_forms_refuse_hostile_data(ctx, site):
    app, headers, instance = site.app, site.headers, site.instance
    client = app.test_client()
    csrf = _page_login(client, "req")
    before = snapshot(ctx)
    for case, data, field in HOSTILE_DATA:
        for url in ("/start/rel3", f"/tasks/{instance['tasks'][0]['id']}/complete"):
            r = raw_post(client, "POST", url, '{"data": ' + data + "}", {"X-CSRF-Token": csrf})
            assert r.status_code == 400, (case, url, r.status_code)
            assert r.get_json()["error"]["details"]["field"] == field, (case, url)
            assert snapshot(ctx) == before, (case, url)
    assert client.get(f"/instances/{instance['id']}").status_code in (200, 302)
    assert_still_readable(app.test_client(), headers["req"], instance["id"])


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/process-instances?process=a%00b", "query.process"),
        ("/api/v1/process-models/a%00b", "path.key"),
        ("/api/v1/tasks?process=" + "x" * 100_001, "query.process"),
    ],
)
def test_api_query_and_path_fields_are_checked_too(ctx, site, url, field):
    r = site.client.get(url, headers=site.headers["root"])
    assert_refused(r, field)


def test_form_fields_with_nul_are_refused_before_the_database_sees_them(ctx, site):
    client = site.app.test_client()
    import re

    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"username": "al\x00ice", "password": PASSWORD,
                                    "csrf_token": csrf})
    assert r.status_code == 400
    r = client.get("/instances?process=a%00b")
    assert r.status_code in (302, 400)  # anonymous: to the login page; never a 500


UNSTORABLE = [float("nan"), float("inf"), float("-inf"), "x\ud800", {"\udfff": 1},
              ["\ud83d\ude00\ud83d"]]


def test_engine_never_stores_a_state_it_could_not_read_again(ctx, site):
    """Defence in depth behind the edge (a script could compute such values): the serializer
    refuses, the transaction rolls back, nothing is written."""
    from engine.errors import InvalidInput
    from engine.people.accounts import actor_for
    from engine.usecases import instances

    before = snapshot(ctx)
    for value in UNSTORABLE:
        with pytest.raises(InvalidInput), transaction(ctx.sessions) as s:
            instances.start(ctx, s, actor_for(s, "req"), "rel3", {"x": value})
        assert snapshot(ctx) == before, repr(value)
    assert_still_readable(site.client, site.headers["req"], site.instance["id"])


def test_serializer_keeps_emoji_and_typed_backslashes(ctx, site):
    from engine.people.accounts import actor_for
    from engine.usecases import instances

    text = "🚀 C:\\ud800 \\\\ud83d 中文"
    with transaction(ctx.sessions) as s:
        record = instances.start(ctx, s, actor_for(s, "req"), "rel3", {"x": text})
        instance_id = record.id
    r = site.client.get(f"/api/v1/process-instances/{instance_id}", headers=site.headers["req"])
    assert r.status_code == 200 and r.get_json()["data"]["x"] == text


@pytest.mark.parametrize(
    "value", ["NaN", '"\\ud800"', DEEP, "9" * 5000, '{"name": 1, "name": 2}'])
def test_cli_data_follows_the_same_rules(value):
    import click

    from web.cli_common import parse_json

    with pytest.raises(click.BadParameter, match=r"\(field guests\b"):
        parse_json('{"guests": ' + value + "}")
