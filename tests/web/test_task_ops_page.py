"""What the task page offers (转办 委派 加签 减签 签署 退回 撤回 催办 抄送 终止), through Flask's
test client: exactly the operations the engine allows, to the handler, the initiator and an
onlooking manager; every operation refuses a post without the CSRF token; the page in English;
and the ops.* catalog. Model approval_demo: 提交说明 (策划专员 group) -> amount > 1000 ->
经理审批 (策划部经理 group)."""

from __future__ import annotations

import re

from sqlalchemy import select

from engine.store.db import transaction
from engine.store.tables import AuditRecord
from tests.pages import as_user, html
from tests.web.staff_helpers import (
    complete_json,
    ctx_fixture,  # noqa: F401  (the ctx fixture)
)
from tests.web.task_ops_helpers import (
    at_review,
    audits,
    claimed_submit,
    instance_status,
    offered,
    post,
    row,
)


def test_page_offers_exactly_the_allowed_operations(app, ctx):
    _iid, submit_id, review = at_review(ctx)
    mgr, alice, bob = as_user(app, "mgr"), as_user(app, "alice"), as_user(app, "bob")

    page = html(mgr.get(f"/tasks/{review}"))  # the handler
    assert offered(page, review) == {"transfer", "delegate", "signers", "return", "cc"}
    assert "提交说明" in page and 'value="submit"' in page  # the return target, by step name
    assert 'id="ops-transfer"' in page and "<summary>转办</summary>" in page

    page = html(alice.get(f"/tasks/{review}"))  # the initiator follows it, may not act on it
    assert offered(page, review) == {"remind", "cc", "terminate-instance"}
    assert 'id="staff-submit"' not in page  # no form submit for her

    # the step she completed: mgr already claimed the next step, so 撤回 is not offered (it
    # would be refused: see test_withdraw_button_shown_exactly_while_withdraw_succeeds in
    # test_task_ops_send_back.py)
    page = html(alice.get(f"/tasks/{submit_id}"))
    assert offered(page, submit_id) == {"cc", "terminate-instance"}

    assert bob.get(f"/tasks/{review}").status_code == 404  # not his, not his instance: 404


def test_manager_opens_any_task_read_only_with_the_matrix_operations(app, ctx):
    iid, tid = claimed_submit(ctx)  # alice's own step: mgr is not a participant
    mgr, bob = as_user(app, "mgr"), as_user(app, "bob")
    r = mgr.get(f"/tasks/{tid}")
    assert r.status_code == 200
    page = html(r)
    # read-only: no form submit, no claim; exactly what the matrix gives a manager on
    # someone else's task (转办 催办 抄送)
    assert 'id="staff-submit"' not in page and "你可以查看此任务，但无权办理" in page
    assert f'action="/tasks/{tid}/claim"' not in page
    assert offered(page, tid) == {"transfer", "remind", "cc"}
    assert complete_json(mgr, tid, {"description": "x"}).status_code == 403
    assert post(mgr, f"/tasks/{tid}/claim").status_code == 403
    assert post(mgr, f"/tasks/{tid}/delegate", {"to": "sup"}).status_code == 403
    assert row(ctx, tid).status == "open" and row(ctx, tid).assignee == "alice"
    # a process owner looks on the same way; alice's colleague sees their group's step with
    # nothing to do on it; a staff stranger gets 404
    assert offered(html(as_user(app, "owner").get(f"/tasks/{tid}")), tid) == {
        "transfer",
        "remind",
        "cc",
    }
    assert offered(html(bob.get(f"/tasks/{tid}")), tid) == set()
    assert as_user(app, "req").get(f"/tasks/{tid}").status_code == 404

    # and the offered operations work
    r = post(mgr, f"/tasks/{tid}/remind", {"message": "请本周内提交"})
    assert r.status_code == 303 and r.headers["Location"] == f"/tasks/{tid}"
    (entry,) = audits(ctx, iid, "reminder")
    assert entry.actor == "mgr" and entry.details["users"] == ["alice"]
    r = post(mgr, f"/tasks/{tid}/cc", {"users": "fin", "note": "知悉"})
    assert r.status_code == 303
    r = post(mgr, f"/tasks/{tid}/transfer", {"to": "bob", "comment": "alice 出差"})
    assert r.status_code == 303 and row(ctx, tid).assignee == "bob"
    assert tid in html(bob.get("/tasks"))
    assert offered(html(mgr.get(f"/tasks/{tid}")), tid) == {"transfer", "remind", "cc"}


def test_group_task_offers_withdraw_on_the_done_page_while_nobody_took_it_up(app, ctx):
    _iid, submit_id, _review = at_review(ctx, claim_by=None)
    alice = as_user(app, "alice")
    page = html(alice.get(f"/tasks/{submit_id}"))
    assert "withdraw" in offered(page, submit_id)
    assert "<summary>撤回</summary>" in page


def test_every_operation_refuses_a_post_without_the_csrf_token(app, ctx):
    iid, submit_id, review = at_review(ctx)
    mgr = as_user(app, "mgr")
    before = len(audits(ctx, iid, "task_claimed"))
    for op in (
        "transfer",
        "delegate",
        "resolve",
        "recall",
        "signers",
        "sign",
        "return",
        "withdraw",
        "remind",
        "cc",
        "terminate-instance",
    ):
        for tid in (review, submit_id):
            r = mgr.post(f"/tasks/{tid}/{op}", data={"to": "sup", "reason": "x", "users": "fin"})
            assert r.status_code == 400, op
    assert mgr.post("/signers/1/remove", data={}).status_code == 400
    assert row(ctx, review).assignee == "mgr" and instance_status(ctx, iid) == "running"
    with transaction(ctx.sessions) as s:
        actions = set(s.scalars(select(AuditRecord.action).where(AuditRecord.instance_id == iid)))
    assert actions.isdisjoint({"task_transferred", "task_delegated", "cc", "reminder"})
    assert len(audits(ctx, iid, "task_claimed")) == before


def test_english_page(app, ctx):
    _, _, review = at_review(ctx)
    mgr = as_user(app, "mgr")
    mgr.set_cookie("lang", "en")
    page = html(mgr.get(f"/tasks/{review}"))
    for text in ("Task operations", "<summary>Transfer</summary>", "<summary>Return</summary>"):
        assert text in page
    r = post(mgr, f"/tasks/{review}/return", {"target": "submit", "reason": ""})
    assert r.status_code == 400 and "Please give a reason" in html(r)


def test_operations_catalog_is_complete_and_every_used_key_exists() -> None:
    import json
    from pathlib import Path

    web = Path(__file__).parents[2] / "web"
    catalog = json.loads((web / "translations" / "operations.json").read_text(encoding="utf-8"))
    assert all(k.startswith("ops.") for k in catalog)
    assert all(v.get("zh") and v.get("en") for v in catalog.values())
    sources = [
        web / "templates" / "partials" / "task_operations.html",
        web / "templates" / "pages" / "task.html",
        web / "pages" / "task_ops.py",
        web / "pages" / "tasks.py",
    ]
    used = set()
    for path in sources:
        used |= set(re.findall(r"""["'](ops\.[a-z_.]+[a-z_])["']""", path.read_text("utf-8")))
    # keys built in the template from a value
    used |= {f"ops.mode.{m}" for m in ("before", "parallel", "after", "vote")}
    used |= {f"ops.mode.{m}.hint" for m in ("before", "parallel", "after")}
    used |= {f"ops.vote.mode.{m}" for m in ("all", "any", "quorum")}
    used |= {
        f"ops.signer.{s}"
        for s in ("pending", "open", "approved", "rejected", "removed", "cancelled", "superseded")
    }
    used |= {f"ops.error.{f}_required" for f in ("reason", "comment")}
    assert len(used) > 60
    assert sorted(used - set(catalog)) == []
