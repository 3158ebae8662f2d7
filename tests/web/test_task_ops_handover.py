"""Handing a task to someone else from its page: 转办 (transfer), and 委派 (delegate) ended by
完成委派 (the delegate, who may hand back form data) or 收回 (the owner). Each changes the state
when allowed, answers 403/404 and changes nothing for someone else, and refuses a post without
the CSRF token. Model approval_demo: 提交说明 (策划专员 group) -> amount > 1000 -> 经理审批
(策划部经理 group)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.store.db import transaction
from engine.store.records_ops import TaskDelegationRecord
from tests.pages import as_user, csrf, html
from tests.web.staff_helpers import (
    complete_json,
    ctx_fixture,  # noqa: F401  (the ctx fixture)
    form_config,
)
from tests.web.task_ops_helpers import (
    at_review,
    audits,
    claimed_submit,
    offered,
    post,
    row,
)

# --- 转办 -------------------------------------------------------------------------------------


def test_transfer(app, ctx):
    iid, _, review = at_review(ctx)
    mgr, bob = as_user(app, "mgr"), as_user(app, "bob")
    path = f"/tasks/{review}/transfer"
    assert post(bob, path, {"to": "bob"}).status_code == 404
    assert post(mgr, path, {"to": "sup"}, token=False).status_code == 400
    assert row(ctx, review).assignee == "mgr"

    r = post(mgr, path, {"to": "sup", "comment": "请代为审批"})
    assert r.status_code == 303 and r.headers["Location"] == "/tasks"
    assert row(ctx, review).assignee == "sup"
    (entry,) = audits(ctx, iid, "task_transferred")
    assert entry.details["to"] == "sup" and entry.details["comment"] == "请代为审批"
    assert "已将「经理审批」转办给 Sup" in html(mgr.get("/tasks"))
    assert review in html(as_user(app, "sup").get("/tasks"))


def test_transfer_to_nobody_or_an_unknown_user_redisplays_the_page(app, ctx):
    _, _, review = at_review(ctx)
    mgr = as_user(app, "mgr")
    r = post(mgr, f"/tasks/{review}/transfer", {"to": "", "comment": "保留的说明"})
    assert r.status_code == 400
    page = html(r)
    assert 'role="alert"' in page and "需要指定用户" in page
    assert '<details id="ops-transfer" class="ops-panel" open>' in page
    assert "保留的说明" in page  # the input is kept
    r = post(mgr, f"/tasks/{review}/transfer", {"to": "nobody"})
    assert r.status_code == 400 and "用户 nobody 不存在" in html(r)
    assert row(ctx, review).assignee == "mgr"


# --- 委派 / 完成委派 / 收回 -----------------------------------------------------------------------


def test_delegate_resolve_and_recall(app, ctx):
    iid, tid = claimed_submit(ctx)
    alice, bob, req = as_user(app, "alice"), as_user(app, "bob"), as_user(app, "req")
    path = f"/tasks/{tid}/delegate"
    assert post(req, path, {"to": "bob"}).status_code == 404
    assert post(alice, path, {"to": "bob"}, token=False).status_code == 400
    assert row(ctx, tid).assignee == "alice"

    r = post(alice, path, {"to": "bob", "comment": "帮忙补充预算"})
    assert r.status_code == 303 and r.headers["Location"] == f"/tasks/{tid}"
    assert row(ctx, tid).assignee == "bob"
    page = html(alice.get(r.headers["Location"]))  # the owner still sees it, and may recall
    assert "委派中" in page and offered(page, tid) >= {"recall"}
    assert "resolve" not in offered(page, tid)
    page = html(bob.get(f"/tasks/{tid}"))  # the delegate resolves (the form's button)
    assert "recall" not in offered(page, tid) and 'id="ops-resolve"' in page
    config = form_config(page)
    assert config["submitUrl"] == f"/tasks/{tid}/resolve" and config["partial"] is True
    assert 'data-label="完成委派"' in page
    # the delegate may not complete, nor unclaim, the owner's task
    assert complete_json(bob, tid, {"description": "x"}).status_code == 403
    assert f'action="/tasks/{tid}/unclaim"' not in page
    assert post(bob, f"/tasks/{tid}/unclaim").status_code == 403
    assert row(ctx, tid).assignee == "bob"

    assert post(alice, f"/tasks/{tid}/resolve").status_code == 403  # only the delegate
    assert post(bob, f"/tasks/{tid}/resolve", token=False).status_code == 400
    assert row(ctx, tid).assignee == "bob"
    r = post(bob, f"/tasks/{tid}/resolve", {"comment": "已补充"})
    assert r.status_code == 303 and r.headers["Location"] == "/tasks"
    assert row(ctx, tid).assignee == "alice"
    (entry,) = audits(ctx, iid, "task_delegate_resolved")
    assert entry.details["comment"] == "已补充"

    # again, and this time the owner takes it back
    post(alice, path, {"to": "bob"})
    assert post(bob, f"/tasks/{tid}/recall").status_code == 403
    r = post(alice, f"/tasks/{tid}/recall")
    assert r.status_code == 303 and row(ctx, tid).assignee == "alice"
    with transaction(ctx.sessions) as s:
        states = [d.status for d in s.scalars(select(TaskDelegationRecord))]
    assert states == ["resolved", "recalled"]


def resolve_json(client, tid: str, data: dict[str, Any], comment: str = ""):
    return client.post(
        f"/tasks/{tid}/resolve",
        json={"data": data, "comment": comment},
        headers={"X-CSRF-Token": csrf(client)},
    )


def test_delegate_hands_back_form_data_which_the_owner_finds_prefilled(app, ctx):
    iid, tid = claimed_submit(ctx)
    alice, bob = as_user(app, "alice"), as_user(app, "bob")
    post(alice, f"/tasks/{tid}/delegate", {"to": "bob"})
    page = html(bob.get(f"/tasks/{tid}"))
    assert form_config(page)["readonly"] is False and 'id="ops-resolve-comment"' in page
    # the owner's own page stays read-only while the task is delegated
    assert form_config(html(alice.get(f"/tasks/{tid}")))["readonly"] is True

    # same contract as completing: 422 with the field's error, nothing changes
    r = resolve_json(bob, tid, {"description": "长" * 501})
    assert r.status_code == 422
    body = r.get_json()["error"]
    assert [f["path"] for f in body["fields"]] == ["description"]
    assert body["fields"][0]["id"] == "f_desc" and body["data"]["description"]
    assert row(ctx, tid).assignee == "bob"
    assert resolve_json(alice, tid, {"description": "x"}).status_code == 403  # the owner
    r = bob.post(f"/tasks/{tid}/resolve", json={"data": {"description": "x"}})
    assert r.status_code == 400  # no CSRF token
    assert row(ctx, tid).assignee == "bob"

    r = resolve_json(bob, tid, {"description": "预算明细见附件"}, "已补充预算")
    assert r.status_code == 200 and r.get_json() == {"ok": True, "redirect": "/tasks"}
    assert row(ctx, tid).assignee == "alice"
    (entry,) = audits(ctx, iid, "task_delegate_resolved")
    assert entry.details == {
        "name": "提交说明",
        "owner": "alice",
        "data": {"description": "预算明细见附件"},
        "comment": "已补充预算",
    }
    assert "已完成委派，「提交说明」已交还" in html(bob.get("/tasks"))
    page = html(alice.get(f"/tasks/{tid}"))
    config = form_config(page)
    assert config["readonly"] is False and config["partial"] is False
    assert config["data"]["description"] == "预算明细见附件"
    assert complete_json(alice, tid, config["data"]).status_code == 200
    assert row(ctx, tid).status == "completed"
