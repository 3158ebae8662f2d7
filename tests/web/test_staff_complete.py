"""Completing a task from its page (the JSON post of the form script): the CSRF token, field
errors that keep the typed data, a bad payload, the task moving on to 已办 and the next step's
group, and completing twice."""

from __future__ import annotations

from tests.pages import as_user, csrf, html
from tests.web.staff_helpers import (
    complete_json,
    ctx_fixture,  # noqa: F401  (the ctx fixture)
    form_config,
    start,
    task_id,
    task_rows,
)


def test_complete_needs_csrf(app, ctx):
    tid = task_id(ctx, start(ctx))
    alice = as_user(app, "alice")
    assert complete_json(alice, tid, {"description": "x"}, token=None).status_code == 400
    assert complete_json(alice, tid, {"description": "x"}, token="wrong").status_code == 400
    assert task_rows(html(alice.get("/tasks"))) == [tid]  # still open


def test_validation_error_keeps_data_and_names_the_field(app, ctx):
    tid = task_id(ctx, start(ctx))
    alice = as_user(app, "alice")
    typed = {"description": "x" * 501}
    r = complete_json(alice, tid, typed)
    assert r.status_code == 422
    error = r.get_json()["error"]
    assert error["code"] == "form_invalid" and error["data"] == typed
    (field,) = error["fields"]
    assert field["id"] == "f_desc" and field["path"] == "description"
    assert field["label"] == "说明" and "500" in field["message"]
    r = complete_json(alice, tid, {"description": ""})
    assert r.status_code == 422 and r.get_json()["error"]["fields"][0]["id"] == "f_desc"
    # nothing happened
    assert task_rows(html(alice.get("/tasks"))) == [tid]
    # English messages for an English page
    alice.get("/lang/en?next=/tasks")
    r = complete_json(alice, tid, {"description": ""})
    assert r.get_json()["error"]["fields"][0]["message"].isascii()


def test_bad_payload_is_400(app, ctx):
    tid = task_id(ctx, start(ctx))
    alice = as_user(app, "alice")
    r = alice.post(f"/tasks/{tid}/complete", data="nope", headers={"X-CSRF-Token": csrf(alice)})
    assert r.status_code == 400
    r = alice.post(
        f"/tasks/{tid}/complete", json={"data": [1]}, headers={"X-CSRF-Token": csrf(alice)}
    )
    assert r.status_code == 400


def test_complete_moves_task_to_done_and_on_to_the_manager(app, ctx):
    iid = start(ctx, title="华东区经销商大会", amount=5000)
    tid = task_id(ctx, iid)
    alice, mgr = as_user(app, "alice"), as_user(app, "mgr")
    r = complete_json(alice, tid, {"description": "请审批预算"})
    assert r.status_code == 200 and r.get_json() == {"ok": True, "redirect": "/tasks"}
    inbox = html(alice.get("/tasks"))
    assert "已提交「提交说明」" in inbox and task_rows(inbox) == []
    done = html(alice.get("/tasks/done"))
    assert task_rows(done) == [tid] and "华东区经销商大会" in done and "运行中" in done
    # the manager now has 经理审批, with alice's step in the history
    review = task_id(ctx, iid)
    page = html(mgr.get("/tasks"))
    assert task_rows(page) == [review] and "经理审批" in page
    assert 'aria-label="1">1</span>' in page
    page = html(mgr.get(f"/tasks/{review}"))
    assert "提交说明" in page and "请审批预算" in page and "Alice" in page
    assert form_config(page)["schema"]["id"] == "approval_review"
    r = complete_json(mgr, review, {"decision": "approve", "comment": "同意"})
    assert r.status_code == 200
    assert task_rows(html(mgr.get("/tasks"))) == []
    # alice still sees her completed task, read-only
    page = html(alice.get(f"/tasks/{tid}"))
    assert "办理完成" in page and form_config(page)["readonly"] is True
    assert form_config(page)["data"]["description"] == "请审批预算"


def test_completing_twice_is_409_with_a_clear_message(app, ctx):
    tid = task_id(ctx, start(ctx))
    alice = as_user(app, "alice")
    assert complete_json(alice, tid, {"description": "一"}).status_code == 200
    r = complete_json(alice, tid, {"description": "二"})
    assert r.status_code == 409
    assert r.get_json()["error"]["message"] == "此任务已被处理或已取消，无需再操作。"
