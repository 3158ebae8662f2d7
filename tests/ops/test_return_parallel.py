"""退回 across a parallel split (fixture parallel_review.bpmn: draft → split → [a1 → a2] and
[b1 → b2] → join → approve): returning inside one branch leaves the other branch alone, also
after the join fired in the other branch; the projection shows exactly the right open tasks."""

from __future__ import annotations

import pytest

from engine import operations
from engine.errors import Conflict, Forbidden, InvalidInput
from engine.store import instance_state
from tests.ops.helpers import audit, by_element, complete, open_elements, run, start, tasks


def _flow_to_branches(ctx, people):
    iid = start(ctx, people["alice"], "parallel_review", {"title": "并行"})
    complete(ctx, people["alice"], by_element(ctx, iid, "draft").id, {"draft_v": 1})
    assert open_elements(ctx, iid) == ["a1", "b1"]
    return iid


def test_return_inside_one_branch_keeps_the_other(ctx, people):
    iid = _flow_to_branches(ctx, people)
    a1 = by_element(ctx, iid, "a1")
    complete(ctx, people["alice"], a1.id, {"a1_v": 1})
    complete(ctx, people["bob"], by_element(ctx, iid, "b1").id, {"b1_v": 1})
    assert open_elements(ctx, iid) == ["a2", "b2"]
    b2_before = by_element(ctx, iid, "b2")
    a2 = by_element(ctx, iid, "a2")

    targets = run(ctx, operations.return_targets, people["sup"], a2.id)
    assert [t["element_id"] for t in targets] == ["a1", "draft"]
    assert targets[0]["completed_by"] == "alice" and targets[0]["also_cancels"] == []
    assert [c["element_id"] for c in targets[1]["also_cancels"]] == ["b2"]

    run(ctx, operations.return_to, people["sup"], a2.id, "a1", "数据不全")
    assert open_elements(ctx, iid) == ["a1", "b2"]
    # b2 is the very same task (same id), untouched; a1 is a new task for its former handler
    assert by_element(ctx, iid, "b2").id == b2_before.id
    new_a1 = by_element(ctx, iid, "a1")
    assert new_a1.id != a1.id and new_a1.assignee == "alice"
    # history: the old a1 stays completed, a2 is cancelled, the return is audited with reason
    old_a1 = next(t for t in tasks(ctx, iid, None) if t.id == a1.id)
    assert old_a1.status == "completed" and old_a1.completed_by == "alice"
    assert [t.status for t in tasks(ctx, iid, None) if t.id == a2.id] == ["cancelled"]
    [entry] = audit(ctx, iid, "task_returned")
    assert entry.details["reason"] == "数据不全" and entry.details["to_element"] == "a1"
    assert entry.details["redone"] == [] and entry.details["cancelled"] == [
        {"task_id": a2.id, "element_id": "a2"}
    ]

    # both branches carry on; the join fires once
    complete(ctx, people["alice"], new_a1.id, {"a1_v": 2})
    complete(ctx, people["sup"], by_element(ctx, iid, "a2").id, {})
    assert open_elements(ctx, iid) == ["b2"]
    complete(ctx, people["fin"], by_element(ctx, iid, "b2").id, {})
    assert open_elements(ctx, iid) == ["approve"]
    data = run(ctx, lambda c, s: instance_state.get_instance(s, iid).data)
    assert data["a1_v"] == 2 and data["b1_v"] == 1


def test_return_across_a_join_that_fired_in_the_other_branch(ctx, people):
    iid = _flow_to_branches(ctx, people)
    complete(ctx, people["alice"], by_element(ctx, iid, "a1").id, {"a1_v": 1})
    complete(ctx, people["sup"], by_element(ctx, iid, "a2").id, {"a2_v": 1})
    complete(ctx, people["bob"], by_element(ctx, iid, "b1").id, {"b1_v": 1})
    b2 = by_element(ctx, iid, "b2")
    complete(ctx, people["fin"], b2.id, {"b2_v": 1})  # B arrives last: the join fires in B
    approve = by_element(ctx, iid, "approve")
    targets = [
        t["element_id"] for t in run(ctx, operations.return_targets, people["mgr"], approve.id)
    ]
    assert sorted(targets) == ["a1", "a2", "b1", "b2", "draft"]

    run(ctx, operations.return_to, people["mgr"], approve.id, "a1", "A 分支重做")
    # only a1 is open: approve (under the join fired in B) is gone, B stays done
    assert open_elements(ctx, iid) == ["a1"]
    assert [t.status for t in tasks(ctx, iid, None) if t.id == b2.id] == ["completed"]
    complete(ctx, people["alice"], by_element(ctx, iid, "a1").id, {"a1_v": 2})
    assert open_elements(ctx, iid) == ["a2"]
    complete(ctx, people["sup"], by_element(ctx, iid, "a2").id, {"a2_v": 2})
    assert open_elements(ctx, iid) == ["approve"]  # exactly one approve
    complete(ctx, people["mgr"], by_element(ctx, iid, "approve").id, {})
    record = run(ctx, lambda c, s: instance_state.get_instance(s, iid))
    assert record.status == "completed"
    assert record.data.get("a1_v") == 2 and record.data.get("b2_v") == 1, sorted(record.data)


def test_return_within_branch_b_while_a_waits_at_the_join(ctx, people):
    iid = _flow_to_branches(ctx, people)
    complete(ctx, people["alice"], by_element(ctx, iid, "a1").id, {})
    complete(ctx, people["sup"], by_element(ctx, iid, "a2").id, {})  # A waits at the join
    complete(ctx, people["bob"], by_element(ctx, iid, "b1").id, {})
    b2 = by_element(ctx, iid, "b2")
    assert [t["element_id"] for t in run(ctx, operations.return_targets, people["fin"], b2.id)] == [
        "b1",
        "draft",
    ]
    run(ctx, operations.return_to, people["fin"], b2.id, "b1", "重新调研")
    assert open_elements(ctx, iid) == ["b1"]
    assert by_element(ctx, iid, "b1").assignee == "bob"
    complete(ctx, people["bob"], by_element(ctx, iid, "b1").id, {})
    complete(ctx, people["fin"], by_element(ctx, iid, "b2").id, {})
    assert open_elements(ctx, iid) == ["approve"]


def test_return_before_the_split_cancels_both_branches(ctx, people):
    iid = _flow_to_branches(ctx, people)
    complete(ctx, people["alice"], by_element(ctx, iid, "a1").id, {})
    a2 = by_element(ctx, iid, "a2")
    run(ctx, operations.return_to, people["sup"], a2.id, "draft", "方向不对")
    assert open_elements(ctx, iid) == ["draft"]
    assert by_element(ctx, iid, "draft").assignee == "alice"
    complete(ctx, people["alice"], by_element(ctx, iid, "draft").id, {})
    assert open_elements(ctx, iid) == ["a1", "b1"]


def test_return_refusals_change_nothing(ctx, people):
    iid = _flow_to_branches(ctx, people)
    complete(ctx, people["alice"], by_element(ctx, iid, "a1").id, {})
    a2 = by_element(ctx, iid, "a2")
    before = [(t.id, t.status, t.assignee) for t in tasks(ctx, iid, None)]
    n_audit = len(audit(ctx, iid))
    with pytest.raises(Forbidden):  # bob is not in planning_supervisor
        run(ctx, operations.return_to, people["bob"], a2.id, "a1", "x")
    with pytest.raises(InvalidInput):  # a reason is required
        run(ctx, operations.return_to, people["sup"], a2.id, "a1", "  ")
    with pytest.raises(Conflict):  # b1 is in the other branch: not on this path
        run(ctx, operations.return_to, people["sup"], a2.id, "b1", "x")
    with pytest.raises(Conflict):  # not a step at all
        run(ctx, operations.return_to, people["sup"], a2.id, "nope", "x")
    assert [(t.id, t.status, t.assignee) for t in tasks(ctx, iid, None)] == before
    assert len(audit(ctx, iid)) == n_audit
