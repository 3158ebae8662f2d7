"""Signers, from the task page: 加签 (parallel, before, after), 签署 (approve; a reject needs a
comment), 减签, completing a task that has an after signer, and the 会签/或签 vote panel. Models
approval_demo (提交说明 for 策划专员 -> amount > 1000 -> 经理审批 for 策划部经理) and votes
(models_ops)."""

from __future__ import annotations

from sqlalchemy import select

from engine import operations
from engine.people.accounts import actor_for
from engine.store.db import transaction
from engine.store.records_ops import TaskSignerRecord, TaskSubmissionRecord
from engine.store.tables import HumanTaskRow
from engine.usecases import instances
from tests.ops.conftest import deploy_ops
from tests.pages import as_user, html
from tests.web.staff_helpers import (
    complete_json,
    ctx_fixture,  # noqa: F401  (the ctx fixture)
)
from tests.web.task_ops_helpers import (
    by_element,
    claimed_submit,
    offered,
    post,
    row,
    rows,
    signers,
)


def test_add_parallel_signer_who_approves_then_the_owner_submits(app, ctx):
    iid, tid = claimed_submit(ctx)
    alice, bob, req = as_user(app, "alice"), as_user(app, "bob"), as_user(app, "req")
    path = f"/tasks/{tid}/signers"
    assert post(req, path, {"users": "bob", "mode": "parallel"}).status_code == 404
    assert post(alice, path, {"users": "bob", "mode": "parallel"}, token=False).status_code == 400
    assert signers(ctx, tid) == []

    r = post(alice, path, {"users": "bob", "mode": "parallel", "comment": "请会签"})
    assert r.status_code == 303 and r.headers["Location"] == f"/tasks/{tid}"
    (entry,) = signers(ctx, tid)
    assert (entry.signer, entry.mode, entry.status) == ("bob", "parallel", "open")
    page = html(alice.get(f"/tasks/{tid}"))
    assert "已加签 1 人" in page and 'data-signer="bob" data-status="open"' in page
    assert f'action="/signers/{entry.id}/remove"' in page

    step = entry.step_task_id
    page = html(bob.get(f"/tasks/{step}"))
    assert offered(page, step) == {"sign", "transfer", "cc"} and "同意" in page and "拒绝" in page
    assert post(alice, f"/tasks/{step}/sign", {"decision": "approve"}).status_code == 403
    r = post(bob, f"/tasks/{step}/sign", {"decision": "approve", "comment": "同意"})
    assert r.status_code == 303 and r.headers["Location"] == "/tasks"
    assert signers(ctx, tid)[0].status == "approved"

    assert complete_json(alice, tid, {"description": "说明"}).status_code == 200
    assert row(ctx, tid).status == "completed"
    assert by_element(ctx, iid, "review").status == "open"


def test_reject_needs_a_comment(app, ctx):
    _, tid = claimed_submit(ctx)
    alice, bob = as_user(app, "alice"), as_user(app, "bob")
    post(alice, f"/tasks/{tid}/signers", {"users": "bob", "mode": "parallel"})
    step = signers(ctx, tid)[0].step_task_id
    r = post(bob, f"/tasks/{step}/sign", {"decision": "reject"})
    assert r.status_code == 400 and "拒绝时请填写审批意见" in html(r)
    assert signers(ctx, tid)[0].status == "open"
    r = post(bob, f"/tasks/{step}/sign", {"decision": "reject", "comment": "预算不足"})
    assert r.status_code == 303 and signers(ctx, tid)[0].status == "rejected"


def test_before_signer_holds_the_task_and_remove_signer_releases_it(app, ctx):
    _, tid = claimed_submit(ctx)
    alice, bob = as_user(app, "alice"), as_user(app, "bob")
    post(alice, f"/tasks/{tid}/signers", {"users": "bob", "mode": "before"})
    assert row(ctx, tid).status == "on_hold"
    page = html(alice.get(f"/tasks/{tid}"))
    assert 'id="ops-on-hold"' in page and 'id="staff-submit"' not in page
    (entry,) = signers(ctx, tid)
    path = f"/signers/{entry.id}/remove"
    assert post(bob, path, {"task_id": tid}).status_code == 403
    assert post(alice, path, {"task_id": tid}, token=False).status_code == 400
    assert signers(ctx, tid)[0].status == "open"

    r = post(alice, path, {"task_id": tid})
    assert r.status_code == 303 and r.headers["Location"] == f"/tasks/{tid}"
    assert signers(ctx, tid)[0].status == "removed"
    assert row(ctx, tid).status == "open" and row(ctx, entry.step_task_id).status == "cancelled"
    page = html(alice.get(f"/tasks/{tid}"))
    assert "已减签：Bob" in page and 'id="staff-submit"' in page


def test_submit_with_an_after_signer_goes_through_task_complete(app, ctx):
    iid, tid = claimed_submit(ctx)
    alice, bob = as_user(app, "alice"), as_user(app, "bob")
    post(alice, f"/tasks/{tid}/signers", {"users": "bob", "mode": "after"})
    assert signers(ctx, tid)[0].status == "pending" and row(ctx, tid).status == "open"
    r = complete_json(alice, tid, {"description": "方案"})
    assert r.status_code == 200 and r.get_json() == {"ok": True, "redirect": "/tasks"}
    assert row(ctx, tid).status == "on_hold"
    with transaction(ctx.sessions) as s:
        assert s.get(TaskSubmissionRecord, tid).data["description"] == "方案"
    assert "等待加签人签署" in html(alice.get("/tasks"))
    assert [r.element_id for r in rows(ctx, iid)] == ["submit"]  # bob's signature row

    step = signers(ctx, tid)[0].step_task_id
    assert post(bob, f"/tasks/{step}/sign", {"decision": "approve"}).status_code == 303
    assert row(ctx, tid).status == "completed"
    assert by_element(ctx, iid, "review").status == "open"


def test_complete_still_answers_422_with_field_errors(app, ctx):
    _, tid = claimed_submit(ctx)
    r = complete_json(as_user(app, "alice"), tid, {})
    assert r.status_code == 422 and r.get_json()["error"]["fields"]


# --- 会签 / 或签 --------------------------------------------------------------------------------


def test_vote_panel_and_vote(app, ctx):
    deploy_ops(ctx)
    with transaction(ctx.sessions) as s:
        iid = instances.start(
            ctx, s, actor_for(s, "req"), "votes", {"mode": "all", "voters": ["mgr", "fin"]}
        ).id
    with transaction(ctx.sessions) as s:
        parent = s.scalar(
            select(HumanTaskRow).where(
                HumanTaskRow.instance_id == iid, HumanTaskRow.element_id == "vote_all",
                HumanTaskRow.status == "on_hold",
            )
        )
        votes = {
            v.signer: v.step_task_id
            for v in s.scalars(
                select(TaskSignerRecord).where(TaskSignerRecord.parent_task_id == parent.id)
            )
        }
    mgr = as_user(app, "mgr")
    page = html(mgr.get(f"/tasks/{votes['mgr']}"))
    assert 'id="ops-vote"' in page and "会签（全部同意）" in page
    assert "需 2 票同意（共 2 人）" in page
    assert offered(page, votes["mgr"]) == {"sign", "transfer", "cc"} and "<h3>投票</h3>" in page
    assert post(mgr, f"/tasks/{votes['mgr']}/sign", {"decision": "approve"}).status_code == 303
    page = html(as_user(app, "fin").get(f"/tasks/{votes['fin']}"))
    assert "同意 1" in page and "拒绝 0" in page
    with transaction(ctx.sessions) as s:
        ops = operations.task_operations(ctx, s, actor_for(s, "fin"), votes["fin"])
    assert ops["vote"]["approvals"] == 1
