"""会签 (all approve), 或签 (any one decides) and a 2-of-3 quorum, counted by planflow
(fixture votes.bpmn). SpiffWorkflow's completionCondition only sees the last instance's data,
so the count is kept in planflow's vote rows, not in the BPMN."""

from __future__ import annotations

import pytest

from engine import operations
from engine.errors import Conflict, Forbidden
from tests.ops.helpers import (
    audit,
    by_element,
    complete,
    instance,
    open_elements,
    run,
    start,
    tasks,
)

VOTERS = ["mgr", "fin", "erin"]


def vote_rows(ctx, iid):
    return {t.assignee: t for t in tasks(ctx, iid) if t.assignee in VOTERS}


def begin(ctx, people, mode):
    iid = start(ctx, people["req"], "votes", {"mode": mode, "voters": VOTERS})
    held = tasks(ctx, iid, "on_hold")
    assert len(held) == 1 and held[0].assignee is None
    assert sorted(vote_rows(ctx, iid)) == sorted(VOTERS)
    return iid, held[0]


def test_all_must_approve(ctx, people):
    iid, held = begin(ctx, people, "all")
    rows = vote_rows(ctx, iid)
    run(ctx, operations.sign, people["mgr"], rows["mgr"].id, "approve")
    run(ctx, operations.sign, people["fin"], rows["fin"].id, "approve")
    assert sorted(vote_rows(ctx, iid)) == ["erin"]  # not decided yet
    run(ctx, operations.sign, people["erin"], rows["erin"].id, "approve", "可以")
    assert open_elements(ctx, iid) == ["proceed"]
    data = instance(ctx, iid).data
    assert data["vote_all_decision"] == "approve"
    assert [v["user"] for v in data["vote_all_votes"]] == VOTERS
    [held_done] = [t for t in tasks(ctx, iid, None) if t.id == held.id]
    assert held_done.status == "completed" and held_done.completed_by == "erin"


def test_all_one_reject_decides_and_cancels_the_rest(ctx, people):
    iid, _ = begin(ctx, people, "all")
    rows = vote_rows(ctx, iid)
    run(ctx, operations.sign, people["mgr"], rows["mgr"].id, "approve")
    run(ctx, operations.sign, people["fin"], rows["fin"].id, "reject", "超预算")
    assert open_elements(ctx, iid) == ["rework"]
    assert [t.status for t in tasks(ctx, iid, None) if t.id == rows["erin"].id] == ["cancelled"]
    assert instance(ctx, iid).data["vote_all_decision"] == "reject"


def test_any_first_vote_decides(ctx, people):
    iid, _ = begin(ctx, people, "any")
    rows = vote_rows(ctx, iid)
    run(ctx, operations.sign, people["fin"], rows["fin"].id, "approve")
    assert open_elements(ctx, iid) == ["proceed"]
    assert instance(ctx, iid).data["vote_any_decision"] == "approve"
    with pytest.raises(Conflict):  # cancelled: 或签 is decided
        run(ctx, operations.sign, people["mgr"], rows["mgr"].id, "approve")


def test_quorum_two_of_three(ctx, people):
    iid, _ = begin(ctx, people, "quorum")
    rows = vote_rows(ctx, iid)
    run(ctx, operations.sign, people["mgr"], rows["mgr"].id, "reject", "不同意")
    run(ctx, operations.sign, people["fin"], rows["fin"].id, "approve")
    assert sorted(vote_rows(ctx, iid)) == ["erin"]  # 1 approve, 1 reject: still open
    run(ctx, operations.sign, people["erin"], rows["erin"].id, "approve")
    assert open_elements(ctx, iid) == ["proceed"]
    [decided] = audit(ctx, iid, "vote_decided")
    assert decided.details == {
        "mode": "quorum",
        "needed": 2,
        "approvals": 2,
        "rejections": 1,
        "voters": 3,
        "decision": "approve",
    }


def test_quorum_rejected_when_it_can_no_longer_be_reached(ctx, people):
    iid, _ = begin(ctx, people, "quorum")
    rows = vote_rows(ctx, iid)
    run(ctx, operations.sign, people["mgr"], rows["mgr"].id, "reject", "不同意")
    run(ctx, operations.sign, people["fin"], rows["fin"].id, "reject", "不同意")
    assert open_elements(ctx, iid) == ["rework"]
    assert instance(ctx, iid).data["vote_quorum_decision"] == "reject"


def test_votes_are_personal_and_the_held_task_cannot_be_completed(ctx, people):
    iid, held = begin(ctx, people, "all")
    rows = vote_rows(ctx, iid)
    with pytest.raises(Forbidden):
        run(ctx, operations.sign, people["fin"], rows["mgr"].id, "approve")
    with pytest.raises(Forbidden):
        run(ctx, operations.sign, people["root"], rows["mgr"].id, "approve")
    with pytest.raises(Conflict):
        complete(ctx, people["mgr"], held.id, {})
    with pytest.raises(Conflict):
        run(ctx, operations.add_signers, people["root"], held.id, ["bob"], "before")
    # a vote can be handed on (转办) to someone else
    run(ctx, operations.transfer, people["mgr"], rows["mgr"].id, "mgr2")
    run(ctx, operations.sign, people["mgr2"], rows["mgr"].id, "approve")
    view = run(ctx, operations.task_operations, people["fin"], rows["fin"].id)
    assert view["kind"] == "vote" and view["vote"]["approvals"] == 1
    assert view["operations"]["sign"]
    _ = by_element


def test_concurrent_votes_cannot_both_commit_so_the_quorum_is_never_missed(ctx, people):
    """Two voters sign at the same moment: each alone sees one approval (no decision). The
    instance version makes the second commit fail (Conflict); the retry sees both votes."""
    import threading

    from engine.store.db import transaction

    iid, _ = begin(ctx, people, "quorum")
    rows = vote_rows(ctx, iid)
    s1, s2 = ctx.sessions(), ctx.sessions()
    pending = True
    try:
        operations.sign(ctx, s1, people["mgr"], rows["mgr"].id, "approve")
        timer = threading.Timer(0.3, s1.commit)
        timer.start()
        try:
            with pytest.raises(Conflict):
                operations.sign(ctx, s2, people["fin"], rows["fin"].id, "approve")
                s2.commit()
        finally:
            timer.join()
            pending = False
        s2.rollback()
    finally:
        if pending:
            s1.rollback()
        s1.close()
        s2.close()
    assert sorted(vote_rows(ctx, iid)) == ["erin", "fin"]  # fin's vote did not count
    with transaction(ctx.sessions) as s:
        operations.sign(ctx, s, people["fin"], rows["fin"].id, "approve")
    assert open_elements(ctx, iid) == ["proceed"]
