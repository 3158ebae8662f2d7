"""Signer (`assignees`) expressions of 会签/或签 steps at run time (issue 12): an expression that
raises, or names people who are not active users, becomes a warning-level incident and an
audit entry naming the element; the step still opens (without the unknown voters, or as a
plain task when nobody is left)."""

from __future__ import annotations

from engine.read import queries
from engine.store.db import transaction
from tests.ops.helpers import audit, by_element, start, tasks


def incidents(ctx, people, iid):
    with transaction(ctx.sessions) as s:
        return queries.get_instance(ctx, s, people["root"], iid)


def test_unknown_voters_are_left_out_with_an_incident(ctx, people):
    iid = start(ctx, people["req"], "votes", {"mode": "all", "voters": ["mgr", "ghost", "fin"]})
    votes = [t for t in tasks(ctx, iid) if t.element_id == "vote_all"]
    assert sorted(t.assignee for t in votes) == ["fin", "mgr"]
    info = incidents(ctx, people, iid)
    [incident] = info["incidents"]
    assert incident["element_id"] == "vote_all" and "ghost" in incident["message"]
    assert incident["resolved_at"] == incident["created_at"]  # warning level
    assert info["status"] == "running"
    [entry] = audit(ctx, iid, "expression_failed")
    assert entry.element_id == "vote_all" and entry.details["property"] == "assignees"


def test_a_failing_voter_expression_opens_a_plain_task_with_an_incident(ctx, people):
    iid = start(ctx, people["req"], "votes", {"mode": "all"})  # no `voters` in the data
    row = by_element(ctx, iid, "vote_all")
    assert row.status == "open" and row.assignee is None
    assert [g.group_name for g in row.candidate_groups] == ["planning_manager"]
    [incident] = incidents(ctx, people, iid)["incidents"]
    assert incident["element_id"] == "vote_all" and "NameError" in incident["message"]
    assert [a.element_id for a in audit(ctx, iid, "expression_failed")] == ["vote_all"]
    assert audit(ctx, iid, "vote_without_voters")  # as before: said in the audit too
