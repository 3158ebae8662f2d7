"""Refusals found by a hostile-input audit (2026-12-07), each on the channel it was found on:
a lone surrogate in an uploaded form file (a 500 whose real refusal was hidden), form files
that skipped the rules every other JSON keeps, werkzeug's English-only 404/405 under /api,
refusals that did not name their field, an urlencoded value that was no UTF-8 (stored as the
literal "%ED%B2%80"), a terminate reason cut at 1000 characters instead of refused, a copy to
people already copied that still wrote, and answers echoing a 1 MB username whole. Each answer
names the field, and nothing is written."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.errors import InvalidModel
from engine.forms.loader import load_form
from engine.forms.schema import FormSchemaError
from engine.store.db import transaction
from engine.store.tables import AuditRecord, InstanceRecord, ProcessVersionRecord
from engine.usecases.deploy import Upload, deploy
from tests.api.api_helpers import deployed_fixture, start  # noqa: F401
from tests.conftest import MODELS
from tests.pages import login
from web.errors import SHOWN_CHARS, shown


def counts(ctx: Any) -> tuple[int, int, int]:
    with ctx.sessions() as s:
        return (s.scalar(select(func.count()).select_from(AuditRecord)),
                s.scalar(select(func.count()).select_from(ProcessVersionRecord)),
                s.scalar(select(func.sum(InstanceRecord.lock_version))) or 0)


def form_with(component: str) -> str:
    return '{"type": "default", "id": "f", "components": [' + component + "]}"


# --- form files keep the strict JSON rules ----------------------------------------------------

@pytest.mark.parametrize(("text", "field"), [
    (form_with('{"type": "textfield", "key": "\\ud800", "label": "x"}'), "components[0].key"),
    (form_with('{"type": "textfield", "key": "a", "key": "b"}'), "components[0].key"),
    (form_with('{"type": "number", "key": "n", "validate": {"min": ' + str(2**70) + "}}"),
     "components[0].validate.min"),
    (form_with('{"type": "textfield", "key": "a", "label": NaN}'), "components[0].label"),
    ('{"type": "default", "components": ' + "[" * 5000 + "]" * 5000 + "}", "components"),
])
def test_a_form_file_breaking_the_json_rules_is_refused_naming_the_path(text, field):
    with pytest.raises(FormSchemaError) as refused:
        load_form(text)
    message = str(refused.value)
    assert field in message, message
    assert "recursion" not in message
    message.encode("utf-8")  # a lone surrogate is never quoted back


def test_forms_nested_as_deep_as_the_loader_allows_still_load():
    from engine.forms.loader import MAX_NESTING

    inner = '{"type": "textfield", "key": "leaf", "label": "叶", ' \
            '"validate": {"required": true}}'
    for _ in range(MAX_NESTING):
        inner = '{"type": "group", "label": "组", "components": [' + inner + "]}"
    schema = load_form(form_with(inner))
    assert [f.key for f in schema.fields] == ["leaf"]


def test_an_upload_with_a_surrogate_in_a_form_is_a_400_and_the_old_version_stays(
        client, token_for, deployed, sqlite_ctx):
    before = counts(sqlite_ctx)
    bpmn = (MODELS / "approval_demo.bpmn").read_bytes()
    form = form_with('{"type": "textfield", "key": "\\ud800", "label": "x"}').encode()
    r = client.post("/api/v1/process-models", headers=token_for("owner"),
                    content_type="multipart/form-data",
                    data={"files": [(io.BytesIO(bpmn), "approval_demo.bpmn"),
                                    (io.BytesIO(form), "approval_submit.form")]})
    assert r.status_code == 400, r.get_data(as_text=True)[:300]
    error = r.get_json()["error"]
    assert error["code"] == "invalid_model" and "components[0].key" in error["message"]
    assert counts(sqlite_ctx) == before
    with transaction(sqlite_ctx.sessions) as s, pytest.raises(InvalidModel):
        deploy(sqlite_ctx, s, [Upload("approval_demo.bpmn", bpmn),
                               Upload("approval_submit.form", form)], "owner")


def test_an_error_answer_never_fails_on_what_it_quotes():
    assert shown("a\ud800b") == "a\\ud800b"
    assert shown({"k\udfff": ["x" * (SHOWN_CHARS + 5)]}) == {"k\\udfff": ["x" * SHOWN_CHARS + "…"]}
    assert shown("正常 text") == "正常 text" and shown(5) == 5


def test_an_unknown_username_is_not_echoed_whole(client, token_for, deployed):
    iid = start(client, token_for("req")).get_json()["id"]
    r = client.post(f"/api/v1/process-instances/{iid}/cc", headers=token_for("req"),
                    json={"users": ["u" * 100_000]})
    assert 400 <= r.status_code < 500
    assert len(r.get_data()) < 3 * SHOWN_CHARS + 500, len(r.get_data())


# --- werkzeug's own refusals under /api speak Chinese first -----------------------------------

@pytest.mark.parametrize(("method", "path", "status", "zh"), [
    ("GET", "/api/v1/process-instances/-1", 404, "未找到"),
    ("GET", "/api/v1/leads/1180591620717411303424", 404, "未找到"),
    ("GET", "/api/v1/no-such-thing", 404, "未找到"),
    ("DELETE", "/api/v1/process-instances", 405, "该地址不支持此请求方法"),
])
def test_api_http_errors_answer_chinese_first(client, token_for, method, path, status, zh):
    r = client.open(path, method=method, headers=token_for("req"))
    assert r.status_code == status
    message = r.get_json()["error"]["message"]
    assert message.startswith(zh) and "(" in message, message
    assert "The requested URL" not in message


# --- refusals name their field and write nothing ---------------------------------------------

@pytest.mark.parametrize("users", [[], "", "  "])
def test_a_copy_to_nobody_names_the_users_field(client, token_for, deployed, sqlite_ctx, users):
    iid = start(client, token_for("req")).get_json()["id"]
    before = counts(sqlite_ctx)
    r = client.post(f"/api/v1/process-instances/{iid}/cc", headers=token_for("req"),
                    json={"users": users})
    assert r.status_code == 400, r.get_json()
    assert r.get_json()["error"]["details"]["field"] == "users"
    assert counts(sqlite_ctx) == before


def test_copying_people_already_copied_writes_nothing(client, token_for, deployed, sqlite_ctx):
    iid = start(client, token_for("req")).get_json()["id"]
    r = client.post(f"/api/v1/process-instances/{iid}/cc", headers=token_for("req"),
                    json={"users": ["alice"]})
    assert r.status_code == 201 and len(r.get_json()["items"]) == 1
    before = counts(sqlite_ctx)
    for _ in range(3):
        r = client.post(f"/api/v1/process-instances/{iid}/cc", headers=token_for("req"),
                        json={"users": ["alice"]})
        assert r.status_code == 201 and r.get_json()["items"] == []
    assert counts(sqlite_ctx) == before


@pytest.mark.parametrize("body", [{}, {"data": {}}, {"data": None}])
def test_a_data_change_without_changes_names_the_data_field(client, token_for, deployed, body):
    iid = start(client, token_for("req")).get_json()["id"]
    r = client.patch(f"/api/v1/process-instances/{iid}/data", headers=token_for("root"),
                     json=body)
    assert r.status_code == 400
    assert r.get_json()["error"]["details"]["field"] == "data"


def test_a_terminate_reason_too_long_is_refused_not_cut(client, token_for, deployed, sqlite_ctx):
    iid = start(client, token_for("req")).get_json()["id"]
    before = counts(sqlite_ctx)
    r = client.post(f"/api/v1/process-instances/{iid}/terminate", headers=token_for("req"),
                    json={"reason": "长" * 2001})
    assert r.status_code == 400, r.get_json()
    assert r.get_json()["error"]["details"] == {"field": "reason", "problem": "too_long"}
    assert counts(sqlite_ctx) == before
    r = client.post(f"/api/v1/process-instances/{iid}/terminate", headers=token_for("req"),
                    json={"reason": "长" * 2000})
    assert r.status_code == 200 and r.get_json()["status"] == "terminated"
    with sqlite_ctx.sessions() as s:
        details = s.scalar(select(AuditRecord.details).where(
            AuditRecord.instance_id == iid, AuditRecord.action == "terminated"))
    assert details["reason"] == "长" * 2000  # whole, as typed


# --- an urlencoded value that is no UTF-8 is refused, not stored as "%ED%B2%80" ----------------

def test_a_page_form_value_that_is_no_utf8_is_refused(client, token_for, deployed, sqlite_ctx):
    iid = start(client, token_for("req")).get_json()["id"]
    token = login(client, "req")
    before = counts(sqlite_ctx)
    r = client.post(f"/instances/{iid}/terminate",
                    data=f"csrf_token={token}&reason=%ED%B2%80".encode(),
                    content_type="application/x-www-form-urlencoded")
    assert r.status_code == 400, r.status_code
    assert "form.reason" in r.get_data(as_text=True)
    assert counts(sqlite_ctx) == before
    with sqlite_ctx.sessions() as s:
        assert s.get(InstanceRecord, iid).status == "running"
    # a typed "%" arrives as %25 and is kept as typed
    r = client.post(f"/instances/{iid}/terminate",
                    data=f"csrf_token={token}&reason=100%25%20%E5%AE%8C%E6%88%90".encode(),
                    content_type="application/x-www-form-urlencoded")
    assert r.status_code == 303
    with sqlite_ctx.sessions() as s:
        details = s.scalar(select(AuditRecord.details).where(
            AuditRecord.instance_id == iid, AuditRecord.action == "terminated"))
    assert details["reason"] == "100% 完成"


@pytest.mark.parametrize("data", [{"": 1}, {"  ": 1}, {"_private": 1}])
def test_a_data_key_no_script_could_name_is_refused(client, token_for, deployed, sqlite_ctx,
                                                     data):
    iid = start(client, token_for("req")).get_json()["id"]
    before = counts(sqlite_ctx)
    r = client.patch(f"/api/v1/process-instances/{iid}/data", headers=token_for("root"),
                     json={"data": data})
    assert r.status_code == 400, r.get_json()
    assert r.get_json()["error"]["details"]["field"] == "data"
    assert counts(sqlite_ctx) == before


def test_a_json_body_sent_as_text_is_told_its_content_type(client, token_for, deployed):
    r = client.post("/api/v1/process-instances", headers=token_for("req"),
                    data='{"process": "approval_demo", "data": {}}', content_type="text/plain")
    assert r.status_code == 400
    error = r.get_json()["error"]
    assert error["details"]["problem"] == "content_type" and "application/json" in error["message"]
    r = client.post("/api/v1/process-instances", headers=token_for("req"),
                    data="{not json", content_type="application/json")
    assert r.status_code == 400 and "不是有效的 JSON" in r.get_json()["error"]["message"]
