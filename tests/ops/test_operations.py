"""Each task operation at engine level, on SQLite and PostgreSQL (fixture ops_chain.bpmn:
prepare → handle (form ops_handle.form) → finish)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import operations
from engine.errors import Conflict, Forbidden, FormInvalid, InvalidInput, NotFound
from engine.store.db import transaction
from engine.store.records_ops import NotificationRecord, TaskDelegationRecord
from engine.usecases import instances
from tests.ops.helpers import (
    HANDLE_DATA,
    audit,
    by_element,
    complete,
    instance,
    open_elements,
    run,
    start,
    tasks,
)


def chain(ctx, people, **data):
    """An ops_chain instance started by req, with prepare already done by alice."""
    seed = {
        "prep_group": "planning_specialist",
        "handle_group": "planning_specialist",
        "finish_group": "planning_manager",
        **data,
    }
    iid = start(ctx, people["req"], "ops_chain", seed)
    complete(ctx, people["alice"], by_element(ctx, iid, "prepare").id, {"prep_v": 1})
    return iid, by_element(ctx, iid, "handle")


def inbox(ctx, who):
    from engine.read import queries

    with transaction(ctx.sessions) as s:
        return [t["id"] for t in queries.list_tasks(ctx, s, who).items]


def bell(ctx, username):
    with transaction(ctx.sessions) as s:
        return [
            (n.event, n.title)
            for n in s.scalars(
                select(NotificationRecord)
                .where(NotificationRecord.username == username)
                .order_by(NotificationRecord.id)
            )
        ]


# --- 转办 ---------------------------------------------------------------------------------------


def test_transfer_moves_the_task_for_good(ctx, people):
    iid, handle = chain(ctx, people, handle_user="bob")
    run(ctx, operations.transfer, people["bob"], handle.id, "carol", "我出差")
    row = by_element(ctx, iid, "handle")
    assert row.assignee == "carol" and row.id == handle.id
    assert handle.id in inbox(ctx, people["carol"]) and handle.id not in inbox(ctx, people["bob"])
    with pytest.raises(Forbidden):
        complete(ctx, people["bob"], handle.id, HANDLE_DATA)
    complete(ctx, people["carol"], handle.id, HANDLE_DATA)
    [t] = audit(ctx, iid, "task_transferred")
    assert t.actor == "bob" and t.details["from"] == "bob" and t.details["to"] == "carol"
    assert ("task_assigned", "【待办】办理") in bell(ctx, "carol")


def test_manager_assigns_a_group_task_and_staff_may_not(ctx, people):
    iid, handle = chain(ctx, people)
    with pytest.raises(Forbidden):
        run(ctx, operations.transfer, people["bob"], handle.id, "carol")
    run(ctx, operations.transfer, people["mgr"], handle.id, "carol")
    assert by_element(ctx, iid, "handle").assignee == "carol"
    with pytest.raises(InvalidInput):
        run(ctx, operations.transfer, people["mgr"], handle.id, "carol")  # already hers
    with pytest.raises(Exception) as err:
        run(ctx, operations.transfer, people["mgr"], handle.id, "nobody")
    assert err.value.__class__.__name__ == "NotFound"


# --- 委派 ---------------------------------------------------------------------------------------


def test_delegate_resolve_returns_to_owner_who_completes(ctx, people):
    iid, handle = chain(ctx, people, handle_user="bob")
    run(ctx, operations.delegate, people["bob"], handle.id, "carol", "帮忙核对金额")
    assert by_element(ctx, iid, "handle").assignee == "carol"
    # the delegate may not complete the BPMN task, neither through the plain use case ...
    with pytest.raises(Forbidden):
        complete(ctx, people["carol"], handle.id, HANDLE_DATA)
    # ... nor through submit; the owner cannot act while it is delegated
    with pytest.raises(Forbidden):
        run(ctx, operations.submit, people["carol"], handle.id, HANDLE_DATA)
    with pytest.raises(Forbidden):
        run(ctx, operations.submit, people["bob"], handle.id, HANDLE_DATA)
    # the delegate saves their part (validated field by field) and resolves
    with pytest.raises(FormInvalid):
        run(ctx, operations.resolve, people["carol"], handle.id, {"amount": -5}, "x")
    run(ctx, operations.resolve, people["carol"], handle.id, {"amount": 250}, "金额已核对")
    row = by_element(ctx, iid, "handle")
    assert row.assignee == "bob"
    assert instance(ctx, iid).data["amount"] == 250  # prefilled for the owner
    with transaction(ctx.sessions) as s:
        [d] = s.scalars(select(TaskDelegationRecord)).all()
        assert (d.status, d.owner, d.delegate, d.data) == (
            "resolved",
            "bob",
            "carol",
            {"amount": 250},
        )
    run(ctx, operations.submit, people["bob"], handle.id, {"summary": "好", "amount": 250})
    assert open_elements(ctx, iid) == ["finish"]
    [done] = [t for t in tasks(ctx, iid, None) if t.id == handle.id]
    assert done.completed_by == "bob"
    actions = [a.action for a in audit(ctx, iid)]
    assert actions.index("task_delegated") < actions.index("task_delegate_resolved")


def test_delegation_recall_and_refusals(ctx, people):
    iid, handle = chain(ctx, people, handle_user="bob")
    with pytest.raises(InvalidInput):
        run(ctx, operations.delegate, people["bob"], handle.id, "bob")
    run(ctx, operations.delegate, people["bob"], handle.id, "carol")
    with pytest.raises(Conflict):
        run(ctx, operations.transfer, people["mgr"], handle.id, "dave")
    with pytest.raises(Forbidden):
        run(ctx, operations.recall, people["alice"], handle.id)
    run(ctx, operations.recall, people["bob"], handle.id)
    assert by_element(ctx, iid, "handle").assignee == "bob"
    with pytest.raises(Conflict):
        run(ctx, operations.resolve, people["bob"], handle.id)


# --- 加签 / 减签 --------------------------------------------------------------------------------


def test_before_signer_signs_first_then_it_comes_back(ctx, people):
    iid, handle = chain(ctx, people, handle_user="bob")
    run(ctx, operations.add_signers, people["bob"], handle.id, ["mgr"], "before", "请先看")
    assert handle.id not in inbox(ctx, people["bob"])  # it left bob's inbox
    assert by_element(ctx, iid, "handle", status="on_hold").id == handle.id
    [step] = [t for t in tasks(ctx, iid) if t.assignee == "mgr"]
    assert step.id in inbox(ctx, people["mgr"]) and step.name.startswith("办理")
    with pytest.raises(Conflict):  # the held BPMN task cannot be completed meanwhile
        complete(ctx, people["bob"], handle.id, HANDLE_DATA)
    run(ctx, operations.sign, people["mgr"], step.id, "approve", "同意")
    assert handle.id in inbox(ctx, people["bob"])  # back to bob
    run(ctx, operations.submit, people["bob"], handle.id, HANDLE_DATA)
    assert open_elements(ctx, iid) == ["finish"]


def test_after_signer_signs_before_the_process_continues(ctx, people):
    iid, handle = chain(ctx, people, handle_user="bob")
    run(ctx, operations.add_signers, people["bob"], handle.id, ["mgr", "fin"], "after")
    assert open_elements(ctx, iid) == ["handle"]  # nothing opens before bob submits
    run(ctx, operations.submit, people["bob"], handle.id, HANDLE_DATA)
    [step1] = [t for t in tasks(ctx, iid) if t.element_id == "handle"]
    assert step1.assignee == "mgr"  # sequential: mgr first
    run(ctx, operations.sign, people["mgr"], step1.id, "approve")
    [step2] = [t for t in tasks(ctx, iid) if t.element_id == "handle"]
    assert step2.assignee == "fin"
    assert instance(ctx, iid).stage == "办理"
    run(ctx, operations.sign, people["fin"], step2.id, "approve", "预算内")
    assert open_elements(ctx, iid) == ["finish"]
    [done] = [t for t in tasks(ctx, iid, None) if t.id == handle.id]
    assert done.status == "completed" and done.completed_by == "bob"
    assert instance(ctx, iid).data["summary"] == "已办理"
    [completion] = [a for a in audit(ctx, iid, "task_completed") if a.task_id == handle.id]
    assert [s["signer"] for s in completion.details["signers"]] == ["mgr", "fin"]


def test_after_signer_rejects_back_to_owner_and_must_be_asked_again(ctx, people):
    iid, handle = chain(ctx, people, handle_user="bob")
    run(ctx, operations.add_signers, people["bob"], handle.id, ["mgr"], "after")
    run(ctx, operations.submit, people["bob"], handle.id, HANDLE_DATA)
    [step] = [t for t in tasks(ctx, iid) if t.assignee == "mgr"]
    with pytest.raises(InvalidInput):  # a rejection needs a reason
        run(ctx, operations.sign, people["mgr"], step.id, "reject", "")
    run(ctx, operations.sign, people["mgr"], step.id, "reject", "金额太高")
    assert by_element(ctx, iid, "handle").assignee == "bob"  # open again for bob
    assert ("returned", "【退回】办理") in bell(ctx, "bob")
    with pytest.raises(Conflict):  # the rejection blocks until mgr is asked again
        run(ctx, operations.submit, people["bob"], handle.id, HANDLE_DATA)
    with pytest.raises(Conflict):  # 减签 only for signers who have not acted
        signer_id = run(ctx, operations.task_operations, people["bob"], handle.id)["signers"][0]
        run(ctx, operations.remove_signer, people["bob"], signer_id["id"])
    run(ctx, operations.add_signers, people["bob"], handle.id, ["mgr"], "after", "已降价")
    run(ctx, operations.submit, people["bob"], handle.id, {**HANDLE_DATA, "amount": 50})
    [step] = [t for t in tasks(ctx, iid) if t.assignee == "mgr"]
    run(ctx, operations.sign, people["mgr"], step.id, "approve")
    assert open_elements(ctx, iid) == ["finish"]
    assert instance(ctx, iid).data["amount"] == 50


def test_parallel_countersign_all_must_sign_and_remove_signer(ctx, people):
    iid, handle = chain(ctx, people, handle_user="bob")
    run(ctx, operations.add_signers, people["bob"], handle.id, ["mgr", "fin", "erin"], "parallel")
    steps = {t.assignee: t for t in tasks(ctx, iid) if t.id != handle.id}
    assert set(steps) == {"mgr", "fin", "erin"}
    assert [t.status for t in tasks(ctx, iid, None) if t.id == handle.id] == ["open"]  # bob works
    run(ctx, operations.sign, people["mgr"], steps["mgr"].id, "approve")
    run(ctx, operations.submit, people["bob"], handle.id, HANDLE_DATA)
    assert [t.status for t in tasks(ctx, iid, None) if t.id == handle.id] == ["on_hold"]
    # 减签: erin has not acted yet
    view = run(ctx, operations.task_operations, people["bob"], handle.id)
    erin = next(s for s in view["signers"] if s["signer"] == "erin")
    with pytest.raises(Forbidden):
        run(ctx, operations.remove_signer, people["alice"], erin["id"])
    run(ctx, operations.remove_signer, people["bob"], erin["id"], "不需要法务")
    assert [t.status for t in tasks(ctx, iid, None) if t.id == steps["erin"].id] == ["cancelled"]
    assert [t.assignee for t in tasks(ctx, iid)] == ["fin"]
    run(ctx, operations.sign, people["fin"], steps["fin"].id, "approve")
    assert open_elements(ctx, iid) == ["finish"]
    with pytest.raises(Conflict):  # already signed
        run(ctx, operations.sign, people["fin"], steps["fin"].id, "approve")


def test_removing_the_last_pending_signer_completes(ctx, people):
    iid, handle = chain(ctx, people, handle_user="bob")
    run(ctx, operations.add_signers, people["bob"], handle.id, ["mgr"], "parallel")
    run(ctx, operations.submit, people["bob"], handle.id, HANDLE_DATA)
    signer = run(ctx, operations.task_operations, people["bob"], handle.id)["signers"][0]
    run(ctx, operations.remove_signer, people["bob"], signer["id"])
    assert open_elements(ctx, iid) == ["finish"]


def test_signer_refusals(ctx, people):
    iid, handle = chain(ctx, people, handle_user="bob")
    with pytest.raises(Forbidden):  # bob's task, offered to carol's group: she sees it only
        run(ctx, operations.add_signers, people["carol"], handle.id, ["mgr"], "before")
    with pytest.raises(NotFound):  # erin (legal) has no part in it
        run(ctx, operations.add_signers, people["erin"], handle.id, ["mgr"], "before")
    with pytest.raises(Forbidden):  # a manager sees it but may not add signers to it
        run(ctx, operations.add_signers, people["mgr"], handle.id, ["sup"], "before")
    with pytest.raises(InvalidInput):
        run(ctx, operations.add_signers, people["bob"], handle.id, ["mgr"], "sideways")
    with pytest.raises(InvalidInput):
        run(ctx, operations.add_signers, people["bob"], handle.id, ["bob"], "before")
    run(ctx, operations.add_signers, people["bob"], handle.id, ["mgr"], "parallel")
    with pytest.raises(Conflict):
        run(ctx, operations.add_signers, people["bob"], handle.id, ["mgr"], "after")
    [step] = [t for t in tasks(ctx, iid) if t.assignee == "mgr"]
    with pytest.raises(Forbidden):  # only the signer signs
        run(ctx, operations.sign, people["root"], step.id, "approve")
    with pytest.raises(Conflict):  # a signature row is not completed like a task
        complete(ctx, people["mgr"], step.id, {})
    with pytest.raises(Conflict):
        run(ctx, operations.delegate, people["mgr"], step.id, "mgr2")


# --- 撤回 -----------------------------------------------------------------------------------------


def test_withdraw_while_next_step_untouched(ctx, people):
    iid, handle = chain(ctx, people)
    prepare = by_element(ctx, iid, "prepare", status="completed")
    with pytest.raises(Forbidden):
        run(ctx, operations.withdraw, people["bob"], prepare.id)
    run(ctx, operations.withdraw, people["alice"], prepare.id, "写错了")
    assert open_elements(ctx, iid) == ["prepare"]
    again = by_element(ctx, iid, "prepare")
    # back to its owner, claimed: written with the new row (no UPDATE after it)
    assert again.assignee == "alice" and again.id != prepare.id and again.claimed_at is not None
    assert [t.status for t in tasks(ctx, iid, None) if t.id == handle.id] == ["cancelled"]
    [w] = audit(ctx, iid, "task_withdrawn")
    assert w.details["cancelled"] == [{"task_id": handle.id, "element_id": "handle"}]
    assert any(e == "withdrawn" for e, _ in bell(ctx, "bob"))  # handle's group was told


def test_withdraw_refused_once_the_next_step_was_claimed_or_done(ctx, people):
    iid, handle = chain(ctx, people)
    prepare = by_element(ctx, iid, "prepare", status="completed")
    run(ctx, instances.claim, people["bob"], handle.id)
    with pytest.raises(Conflict):
        run(ctx, operations.withdraw, people["alice"], prepare.id)
    run(ctx, instances.unclaim, people["bob"], handle.id)
    complete(ctx, people["bob"], handle.id, HANDLE_DATA)
    with pytest.raises(Conflict):
        run(ctx, operations.withdraw, people["alice"], prepare.id)


def test_initiator_withdraws_the_instance_before_anyone_acted(ctx, people):
    iid = start(
        ctx,
        people["req"],
        "ops_chain",
        {"prep_group": "planning_specialist", "handle_group": "legal"},
    )
    with pytest.raises(Forbidden):
        run(ctx, operations.withdraw_instance, people["alice"], iid)
    run(ctx, operations.withdraw_instance, people["req"], iid, "不需要了")
    record = instance(ctx, iid)
    assert record.status == "terminated"
    assert [a.action for a in audit(ctx, iid)][-2:] == ["instance_withdrawn", "terminated"]
    iid2, _ = chain(ctx, people)
    with pytest.raises(Conflict):  # prepare was completed already
        run(ctx, operations.withdraw_instance, people["req"], iid2)


# --- 催办 -----------------------------------------------------------------------------------------


def test_remind_rate_limited_per_interval(ctx, people, clock):
    iid, handle = chain(ctx, people, handle_user="bob")
    with pytest.raises(Forbidden):  # the assignee cannot remind themselves; staff may not
        run(ctx, operations.remind, people["bob"], handle.id)
    assert run(ctx, operations.remind, people["req"], handle.id, "请尽快") == ["bob"]
    with pytest.raises(Conflict) as err:
        run(ctx, operations.remind, people["mgr"], handle.id)
    assert "next_allowed_at" in err.value.details
    clock.advance(minutes=61)
    assert run(ctx, operations.remind, people["mgr"], handle.id) == ["bob"]
    # both reminders are in the audit log; bob, who read neither, has one entry saying twice
    assert [e for e, _ in bell(ctx, "bob")].count("reminder") == 1
    with transaction(ctx.sessions) as s:
        assert s.scalar(select(NotificationRecord.repeats).where(
            NotificationRecord.username == "bob", NotificationRecord.event == "reminder")) == 2
    assert len(audit(ctx, iid, "reminder")) == 2


def test_manual_reminder_before_due_keeps_the_automatic_overdue_one(ctx, people, clock):
    from engine.timing.reminders import send_due_reminders

    _iid, handle = chain(ctx, people, handle_user="bob")
    run(ctx, operations.remind, people["req"], handle.id)
    clock.advance(hours=4, minutes=1)  # handle is due after PT4H
    with transaction(ctx.sessions) as s:
        assert send_due_reminders(ctx, s, clock.now()) == 1
    events = [e for e, _ in bell(ctx, "bob")]
    assert events.count("reminder") == 1 and events.count("task_overdue") == 1
    assert ("task_overdue", "【逾期】办理") in bell(ctx, "mgr")  # escalation group
    with pytest.raises(Conflict):  # the automatic reminder counts for the interval too
        run(ctx, operations.remind, people["req"], handle.id)


# --- 终止 -----------------------------------------------------------------------------------------


def test_terminate_needs_a_reason_and_the_initiator(ctx, people):
    iid, _ = chain(ctx, people)
    with pytest.raises(Forbidden):
        run(ctx, operations.terminate, people["alice"], iid, "x")
    with pytest.raises(InvalidInput):
        run(ctx, operations.terminate, people["req"], iid, "  ")
    assert instance(ctx, iid).status == "running"
    run(ctx, operations.terminate, people["req"], iid, "需求取消")
    assert instance(ctx, iid).status == "terminated"
    [t] = audit(ctx, iid, "terminated")
    assert t.details["reason"] == "需求取消"


def test_instance_completed_notifies_the_initiator(ctx, people):
    iid, handle = chain(ctx, people, finish_user="mgr")
    complete(ctx, people["bob"], handle.id, HANDLE_DATA)
    complete(ctx, people["mgr"], by_element(ctx, iid, "finish").id, {})
    assert instance(ctx, iid).status == "completed"
    assert ("instance_completed", f"【已完成】操作测试 #{iid}") in bell(ctx, "req")


def test_operations_view_lists_what_the_actor_may_do(ctx, people):
    iid, handle = chain(ctx, people, handle_user="bob")
    ops = run(ctx, operations.task_operations, people["bob"], handle.id)["operations"]
    assert ops["submit"] and ops["transfer"] and ops["delegate"] and ops["add_signer"]
    assert ops["return"] and not ops["remind"] and not ops["claim"]
    mgr_ops = run(ctx, operations.task_operations, people["mgr"], handle.id)["operations"]
    assert mgr_ops["remind"] and mgr_ops["transfer"] and not mgr_ops["submit"]
    with pytest.raises(NotFound):  # erin has no part in it: she may not know it exists
        run(ctx, operations.task_operations, people["erin"], handle.id)
    prepare = by_element(ctx, iid, "prepare", status="completed")
    assert run(ctx, operations.task_operations, people["alice"], prepare.id)["operations"][
        "withdraw"
    ]
    hist = run(ctx, operations.instance_operations, people["alice"], iid)
    assert [h["action"] for h in hist["history"]][:2] == ["task_created", "task_completed"]
