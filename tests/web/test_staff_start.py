"""发起流程: the catalogue of models, the start form, and starting an instance from it."""

from __future__ import annotations

from engine.store.db import transaction
from engine.store.tables import InstanceRecord
from tests.pages import as_user, csrf, html
from tests.web.staff_helpers import (
    ctx_fixture,  # noqa: F401  (the ctx fixture)
    form_config,
)


def test_start_catalogue_and_form(app, ctx):
    alice = as_user(app, "alice")
    page = html(alice.get("/start"))
    assert 'href="/start/approval_demo"' in page and "测试审批" in page and "v1" in page
    page = html(alice.get("/start/approval_demo"))
    config = form_config(page)
    assert config["schema"]["id"] == "approval_start"
    assert config["submitUrl"] == "/start/approval_demo" and config["readonly"] is False
    assert "发起：测试审批" in page
    r = alice.get("/start/no_such_model")
    assert r.status_code == 404 and "流程模型不存在" in html(r)


def test_start_submit(app, ctx):
    alice = as_user(app, "alice")
    url = "/start/approval_demo"
    assert alice.post(url, json={"data": {"title": "x", "amount": 5}}).status_code == 400
    typed = {"title": "", "amount": 0}
    r = alice.post(url, json={"data": typed}, headers={"X-CSRF-Token": csrf(alice)})
    assert r.status_code == 422
    error = r.get_json()["error"]
    assert error["data"] == typed
    assert {f["id"] for f in error["fields"]} == {"f_title", "f_amount"}
    r = alice.post(
        url,
        json={"data": {"title": "秋季订货会", "amount": 3000}},
        headers={"X-CSRF-Token": csrf(alice)},
    )
    assert r.status_code == 200
    body = r.get_json()
    assert body["ok"] is True and body["redirect"] in (
        "/tasks",
        f"/instances/{body['instance_id']}",
    )
    with transaction(ctx.sessions) as s:
        record = s.get(InstanceRecord, body["instance_id"])
        assert record.started_by == "alice" and record.title == "秋季订货会"
    page = html(alice.get("/tasks"))
    assert "流程已发起：秋季订货会" in page and "秋季订货会" in page
    r = alice.post("/start/no_such_model", json={"data": {}}, headers={"X-CSRF-Token": csrf(alice)})
    assert r.status_code == 404
