"""Sending work back, from the task page: 退回 (the handler returns the task to an earlier step,
told when that also cancels a parallel branch) and 撤回 (whoever completed a step takes it back
while nobody has acted on the next one). Models approval_demo (提交说明 for 策划专员 -> amount >
1000 -> 经理审批 for 策划部经理) and parallel_review (models_ops)."""

from __future__ import annotations

import re

from engine import operations
from engine.people.accounts import actor_for
from engine.store.db import transaction
from engine.usecases import instances
from tests.ops.conftest import deploy_ops
from tests.pages import as_user, html
from tests.web.staff_helpers import ctx_fixture  # noqa: F401  (the ctx fixture)
from tests.web.task_ops_helpers import (
    at_review,
    audits,
    by_element,
    engine_call,
    offered,
    post,
    row,
)

# --- 退回 -------------------------------------------------------------------------------------


def test_return_to_the_specialists_step(app, ctx):
    iid, submit_id, review = at_review(ctx)
    mgr, alice = as_user(app, "mgr"), as_user(app, "alice")
    path = f"/tasks/{review}/return"
    assert post(alice, path, {"target": "submit", "reason": "x"}).status_code == 403
    assert post(mgr, path, {"target": "submit", "reason": "x"}, token=False).status_code == 400
    r = post(mgr, path, {"target": "submit", "reason": "  "})
    assert r.status_code == 400 and "请填写原因" in html(r)
    assert row(ctx, review).status == "open" and audits(ctx, iid, "task_returned") == []

    r = post(mgr, path, {"target": "submit", "reason": "预算需要细化"})
    assert r.status_code == 303 and r.headers["Location"] == "/tasks"
    assert row(ctx, review).status == "cancelled"
    again = by_element(ctx, iid, "submit")
    assert again.id != submit_id and again.assignee == "alice"
    (entry,) = audits(ctx, iid, "task_returned")
    assert entry.details["reason"] == "预算需要细化" and entry.details["to_element"] == "submit"
    assert again.id in html(alice.get("/tasks"))


def test_return_target_that_also_cancels_a_parallel_branch_says_so(app, ctx):
    deploy_ops(ctx)
    with transaction(ctx.sessions) as s:
        alice = actor_for(s, "alice")
        iid = instances.start(ctx, s, alice, "parallel_review", {"title": "并行"}).id
    engine_call(ctx, instances.complete, "alice", by_element(ctx, iid, "draft").id, {})
    engine_call(ctx, instances.complete, "alice", by_element(ctx, iid, "a1").id, {})
    engine_call(ctx, instances.complete, "bob", by_element(ctx, iid, "b1").id, {})
    a2, b2 = by_element(ctx, iid, "a2").id, by_element(ctx, iid, "b2").id
    sup = as_user(app, "sup")
    page = html(sup.get(f"/tasks/{a2}"))
    warning = re.search(r'value="draft"[^>]*>(.*?)</label>', page, re.S)
    assert warning and "注意：同时会撤销 B2 外部复核" in warning.group(1)
    first = re.search(r'value="a1"[^>]*>(.*?)</label>', page, re.S)
    assert first and "同时会撤销" not in first.group(1)
    r = post(sup, f"/tasks/{a2}/return", {"target": "draft", "reason": "整体重写"})
    assert r.status_code == 303
    assert row(ctx, b2).status == "cancelled" and by_element(ctx, iid, "draft").assignee == "alice"


# --- 撤回 -------------------------------------------------------------------------------------


def test_withdraw_from_the_completed_task_page(app, ctx):
    iid, submit_id, review = at_review(ctx, claim_by=None)
    alice, bob = as_user(app, "alice"), as_user(app, "bob")
    path = f"/tasks/{submit_id}/withdraw"
    assert post(bob, path).status_code == 404
    assert post(alice, path, token=False).status_code == 400
    assert row(ctx, review).status == "open"

    r = post(alice, path, {"reason": "漏填附件"})
    assert r.status_code == 303
    again = by_element(ctx, iid, "submit")
    assert r.headers["Location"] == f"/tasks/{again.id}" and again.assignee == "alice"
    assert row(ctx, review).status == "cancelled"
    (entry,) = audits(ctx, iid, "task_withdrawn")
    assert entry.details["reason"] == "漏填附件"
    assert "已撤回「提交说明」" in html(alice.get(r.headers["Location"]))


def test_withdraw_honours_a_local_next(app, ctx):
    _, submit_id, _ = at_review(ctx, claim_by=None)
    alice = as_user(app, "alice")
    r = post(alice, f"/tasks/{submit_id}/withdraw", {"next": "/tasks/done"})
    assert r.status_code == 303 and r.headers["Location"] == "/tasks/done"


def test_withdraw_button_shown_exactly_while_withdraw_succeeds(app, ctx):
    iid, submit_id, review = at_review(ctx, claim_by=None)
    alice, mgr = as_user(app, "alice"), as_user(app, "mgr")
    assert "withdraw" in offered(html(alice.get(f"/tasks/{submit_id}")), submit_id)
    # the next step is taken up (claimed): the button goes, and the engine agrees
    engine_call(ctx, instances.claim, "mgr", review)
    assert "withdraw" not in offered(html(alice.get(f"/tasks/{submit_id}")), submit_id)
    assert post(alice, f"/tasks/{submit_id}/withdraw").status_code == 409
    # given back to the group: nobody has acted, so it is offered again and it works
    engine_call(ctx, instances.unclaim, "mgr", review)
    assert "withdraw" in offered(html(alice.get(f"/tasks/{submit_id}")), submit_id)
    r = post(alice, f"/tasks/{submit_id}/withdraw", {"reason": "补充"})
    assert r.status_code == 303 and row(ctx, review).status == "cancelled"
    again = by_element(ctx, iid, "submit")
    # the re-opened step is completed again; the next step gets delegated: gone. (The rule
    # orders steps by time, which a fixed clock would not tell apart.)
    ctx.clock.advance(minutes=5)
    engine_call(ctx, instances.complete, "alice", again.id, {"description": "第二版"})
    review2 = by_element(ctx, iid, "review").id
    assert "withdraw" in offered(html(alice.get(f"/tasks/{again.id}")), again.id)
    engine_call(ctx, instances.claim, "mgr", review2)
    engine_call(ctx, operations.delegate, "mgr", review2, "sup")
    engine_call(ctx, operations.recall, "mgr", review2)
    engine_call(ctx, instances.unclaim, "mgr", review2)
    page = html(alice.get(f"/tasks/{again.id}"))  # a delegation is acting, even if recalled
    assert "withdraw" not in offered(page, again.id)
    assert post(alice, f"/tasks/{again.id}/withdraw").status_code == 409
    assert "withdraw" not in offered(html(mgr.get(f"/tasks/{again.id}")), again.id)  # not his


def test_withdraw_after_the_next_step_was_claimed_is_a_conflict(app, ctx):
    iid, submit_id, review = at_review(ctx)
    r = post(as_user(app, "alice"), f"/tasks/{submit_id}/withdraw")
    assert r.status_code == 409 and "后续步骤已被认领或处理" in html(r)
    assert row(ctx, review).status == "open" and audits(ctx, iid, "task_withdrawn") == []
