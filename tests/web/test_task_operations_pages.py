"""The task page's operations (转办 委派 加签 减签 签署 退回 撤回 催办 抄送 终止) through Flask's
test client: each one changes the state when allowed, answers 403 and changes nothing for
someone else, refuses a post without the CSRF token, and the page offers exactly the
operations the engine allows. Model approval_demo: 提交说明 (策划专员 group) -> amount > 1000 ->
经理审批 (策划部经理 group); votes (models_ops) for the vote panel."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from engine import operations
from engine.people.accounts import actor_for
from engine.store.db import transaction
from engine.store.records_ops import (
    InstanceCcRecord,
    TaskDelegationRecord,
    TaskSignerRecord,
    TaskSubmissionRecord,
)
from engine.store.tables import AuditRecord, HumanTaskRow, InstanceRecord
from engine.usecases import instances
from tests.conftest import deploy_fixture
from tests.ops.conftest import deploy_ops
from tests.pages import as_user, csrf, html
from tests.web.test_staff_pages import complete_json, form_config, start

# --- fixtures and helpers -------------------------------------------------------------------


@pytest.fixture
def ctx(sqlite_ctx, api_staff):
    deploy_fixture(sqlite_ctx)
    return sqlite_ctx


def engine_call(ctx, fn, username: str, *args: Any) -> Any:
    with transaction(ctx.sessions) as s:
        return fn(ctx, s, actor_for(s, username), *args)


def rows(ctx, instance_id: int, status: str | None = "open") -> list[HumanTaskRow]:
    with transaction(ctx.sessions) as s:
        q = select(HumanTaskRow).where(HumanTaskRow.instance_id == instance_id)
        if status:
            q = q.where(HumanTaskRow.status == status)
        return list(s.scalars(q.order_by(HumanTaskRow.created_at, HumanTaskRow.id)))


def row(ctx, task_id: str) -> HumanTaskRow:
    with transaction(ctx.sessions) as s:
        return s.get(HumanTaskRow, task_id)


def by_element(ctx, instance_id: int, element: str, status: str = "open") -> HumanTaskRow:
    found = [r for r in rows(ctx, instance_id, status) if r.element_id == element]
    assert len(found) == 1, [(r.element_id, r.status, r.assignee) for r in rows(ctx, instance_id)]
    return found[0]


def audits(ctx, instance_id: int, action: str) -> list[AuditRecord]:
    with transaction(ctx.sessions) as s:
        return list(
            s.scalars(
                select(AuditRecord).where(
                    AuditRecord.instance_id == instance_id, AuditRecord.action == action
                )
            )
        )


def signers(ctx, task_id: str) -> list[TaskSignerRecord]:
    with transaction(ctx.sessions) as s:
        return list(
            s.scalars(
                select(TaskSignerRecord)
                .where(TaskSignerRecord.parent_task_id == task_id)
                .order_by(TaskSignerRecord.id)
            )
        )


def instance_status(ctx, instance_id: int) -> str:
    with transaction(ctx.sessions) as s:
        return s.get(InstanceRecord, instance_id).status


def claimed_submit(ctx, username: str = "alice", amount: int = 5000) -> tuple[int, str]:
    """An instance started by alice whose 提交说明 step `username` has claimed."""
    iid = start(ctx, amount=amount)
    tid = by_element(ctx, iid, "submit").id
    engine_call(ctx, instances.claim, username, tid)
    return iid, tid


def at_review(ctx, claim_by: str | None = "mgr") -> tuple[int, str, str]:
    """alice submitted 提交说明; 经理审批 is open (claimed by `claim_by`)."""
    iid, submit_id = claimed_submit(ctx)
    engine_call(ctx, instances.complete, "alice", submit_id, {"description": "方案说明"})
    review = by_element(ctx, iid, "review").id
    if claim_by:
        engine_call(ctx, instances.claim, claim_by, review)
    return iid, submit_id, review


def post(client, path: str, data: dict[str, Any] | None = None, token: bool = True):
    body = dict(data or {})
    if token:
        body["csrf_token"] = csrf(client)
    return client.post(path, data=body)


OPS_URL = re.compile(r'action="/tasks/([^/"]+)/([a-z-]+)"')


def offered(page: str, task_id: str) -> set[str]:
    """The operations the page offers for this task (the form actions under /tasks/<id>/)."""
    return {op for tid, op in OPS_URL.findall(page) if tid == task_id} - {"claim", "unclaim"}


# --- what the page offers ---------------------------------------------------------------------


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
    # would be refused: see test_withdraw_button_shown_exactly_while_withdraw_succeeds)
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


# --- 加签 / 减签 / 签署 ---------------------------------------------------------------------------
# --- 加签 / 减签 / 签署 ---------------------------------------------------------------------------


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


# --- 催办 / 抄送 ------------------------------------------------------------------------------


def test_remind_once_per_interval(app, ctx):
    iid, _, review = at_review(ctx)
    alice, bob = as_user(app, "alice"), as_user(app, "bob")
    path = f"/tasks/{review}/remind"
    assert post(bob, path).status_code == 404
    assert post(alice, path, token=False).status_code == 400
    assert audits(ctx, iid, "reminder") == []

    r = post(alice, path, {"message": "请尽快审批"})
    assert r.status_code == 303 and r.headers["Location"] == f"/tasks/{review}"
    (entry,) = audits(ctx, iid, "reminder")
    assert entry.details["users"] == ["mgr"] and entry.details["message"] == "请尽快审批"
    page = html(alice.get(f"/tasks/{review}"))
    assert "已催办 1 人" in page and 'id="ops-remind-wait"' in page
    r = post(alice, path)
    assert r.status_code == 409 and "催办过于频繁" in html(r)
    assert len(audits(ctx, iid, "reminder")) == 1


def test_cc(app, ctx):
    iid, _, review = at_review(ctx)
    mgr, req = as_user(app, "mgr"), as_user(app, "req")
    path = f"/tasks/{review}/cc"
    assert post(req, path, {"users": "fin"}).status_code == 404
    assert post(mgr, path, {"users": "fin"}, token=False).status_code == 400
    r = mgr.post(path, data={"csrf_token": csrf(mgr), "users": ["fin", "owner"], "note": "知悉"})
    assert r.status_code == 303 and r.headers["Location"] == f"/tasks/{review}"
    with transaction(ctx.sessions) as s:
        copies = s.scalars(select(InstanceCcRecord).where(InstanceCcRecord.instance_id == iid))
        assert sorted((c.username, c.task_id, c.note) for c in copies) == [
            ("fin", review, "知悉"),
            ("owner", review, "知悉"),
        ]


# --- 终止 -------------------------------------------------------------------------------------


def test_initiator_terminates_with_a_reason(app, ctx):
    iid, _, review = at_review(ctx)
    alice, mgr = as_user(app, "alice"), as_user(app, "mgr")
    path = f"/tasks/{review}/terminate-instance"
    assert post(mgr, path, {"reason": "x"}).status_code == 403  # not the initiator
    assert post(alice, path, {"reason": "x"}, token=False).status_code == 400
    r = post(alice, path, {"reason": ""})
    assert r.status_code == 400 and "请填写原因" in html(r)
    assert instance_status(ctx, iid) == "running"

    r = post(alice, path, {"reason": "活动取消"})
    assert r.status_code == 303 and r.headers["Location"] == "/instances/mine"
    assert instance_status(ctx, iid) == "terminated"
    assert row(ctx, review).status == "cancelled"
    # once ended, nothing is offered any more
    page = html(alice.get(f"/tasks/{review}"))
    assert offered(page, review) == set()


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


def test_english_page(app, ctx):
    _, _, review = at_review(ctx)
    mgr = as_user(app, "mgr")
    mgr.set_cookie("lang", "en")
    page = html(mgr.get(f"/tasks/{review}"))
    for text in ("Task operations", "<summary>Transfer</summary>", "<summary>Return</summary>"):
        assert text in page
    r = post(mgr, f"/tasks/{review}/return", {"target": "submit", "reason": ""})
    assert r.status_code == 400 and "Please give a reason" in html(r)


# --- the catalog ------------------------------------------------------------------------------


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
