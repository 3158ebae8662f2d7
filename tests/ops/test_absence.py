"""A角/B角: project_initiation (the real model) records a_owner/b_owner; while A is away their
new and open tasks go to B, and come back when A returns — applied at save time (no scheduler)
and by the explicit mark away/back operations. Both see the history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import operations
from engine.errors import Conflict, Forbidden
from engine.people import absence, handover
from engine.store.db import transaction
from engine.store.records_ops import NotificationRecord, TaskHandoverRecord
from engine.usecases import instances
from tests.ops.helpers import audit, by_element, run, start, tasks
from tests.ops.project_helpers import project_fixture, research  # noqa: F401  (fixture)


def handovers(ctx, iid):
    with transaction(ctx.sessions) as s:
        return [
            (h.from_user, h.to_user, h.returned_at is not None)
            for h in s.scalars(
                select(TaskHandoverRecord)
                .where(TaskHandoverRecord.instance_id == iid)
                .order_by(TaskHandoverRecord.id)
            )
        ]


def test_mark_away_hands_open_tasks_to_b_and_back(ctx, people, project):
    iid = project
    research(ctx, people, iid)
    draft = by_element(ctx, iid, "Task_charter_draft")
    assert draft.assignee == "li"
    with pytest.raises(Forbidden):  # staff cannot mark someone else away
        run(ctx, absence.mark_away, people["alice"], "li")
    run(ctx, absence.mark_away, people["li"], "li", reason="年假")
    assert by_element(ctx, iid, "Task_charter_draft").assignee == "zhao"
    assert handovers(ctx, iid) == [("li", "zhao", False)]
    with transaction(ctx.sessions) as s:
        kinds = [
            n.title
            for n in s.scalars(
                select(NotificationRecord).where(NotificationRecord.username == "zhao")
            )
        ]
    assert "【待办】编制《项目立项书》" in kinds
    # both A and B see the history (li has no task of her own any more)
    for who in ("li", "zhao"):
        hist = run(ctx, operations.instance_operations, people[who], iid)
        assert [h["from"] for h in hist["handovers"]] == ["li"]
        assert "task_handover" in [h["action"] for h in hist["history"]]
    run(ctx, absence.mark_back, people["mgr"], "li")  # a manager may mark her back
    assert by_element(ctx, iid, "Task_charter_draft").assignee == "li"
    assert handovers(ctx, iid) == [("li", "zhao", True)]
    actions = [a.action for a in audit(ctx, iid)]
    assert actions.index("task_handover") < actions.index("task_handback")
    with pytest.raises(Conflict):
        run(ctx, absence.mark_back, people["li"], "li")


def test_new_tasks_go_to_b_while_a_is_away_and_back_at_the_next_save(ctx, people, project, clock):
    iid = project
    now = clock.now()
    run(ctx, absence.mark_away, people["li"], "li", starts_at=now, ends_at=now + timedelta(days=2))
    research(ctx, people, iid)  # the save that creates the charter draft routes it to zhao
    draft = by_element(ctx, iid, "Task_charter_draft")
    assert draft.assignee == "zhao"
    assert [a.details["to"] for a in audit(ctx, iid, "task_handover")] == ["zhao"]
    # the absence ends by time; nothing runs on a schedule, the next save of the instance
    # gives the task back
    clock.advance(days=2, minutes=1)
    assert by_element(ctx, iid, "Task_charter_draft").assignee == "zhao"
    with transaction(ctx.sessions) as s:
        instances.update_data(ctx, s, people["req"], iid, {"initial_goal": "销售额 +25%"})
    assert by_element(ctx, iid, "Task_charter_draft").assignee == "li"
    assert handovers(ctx, iid) == [("li", "zhao", True)]


def test_b_away_too_means_no_handover_and_deputy_for_other_instances(ctx, people, project):
    iid = project
    run(ctx, absence.mark_away, people["zhao"], "zhao")
    run(ctx, absence.mark_away, people["li"], "li")
    research(ctx, people, iid)
    assert by_element(ctx, iid, "Task_charter_draft").assignee == "li"  # nobody to take it
    # an instance without an A/B pair uses the absence's deputy
    other = start(
        ctx, people["req"], "ops_chain", {"prep_user": "alice", "prep_group": "planning_specialist"}
    )
    run(ctx, absence.mark_away, people["mgr"], "alice", deputy="carol")
    assert by_element(ctx, other, "prepare").assignee == "carol"
    run(ctx, absence.mark_back, people["alice"], "alice")
    assert by_element(ctx, other, "prepare").assignee == "alice"


def test_sync_all_applies_periods_that_started_meanwhile(ctx, people, project, clock):
    iid = project
    research(ctx, people, iid)
    now = clock.now()
    run(ctx, absence.mark_away, people["li"], "li", starts_at=now + timedelta(hours=1))
    assert by_element(ctx, iid, "Task_charter_draft").assignee == "li"  # not yet
    clock.advance(hours=2)
    assert run(ctx, handover.sync_all) == 1
    assert by_element(ctx, iid, "Task_charter_draft").assignee == "zhao"
    listed = run(ctx, absence.list_absences, people["li"])
    assert listed[0]["username"] == "li" and listed[0]["active"]


def test_a_signer_who_is_away_is_replaced_by_their_deputy(ctx, people):
    from engine import operations

    iid = start(
        ctx, people["req"], "ops_chain", {"prep_user": "bob", "prep_group": "planning_specialist"}
    )
    prepare = by_element(ctx, iid, "prepare")
    run(ctx, absence.mark_away, people["mgr"], "mgr", deputy="mgr2")
    run(ctx, operations.add_signers, people["bob"], prepare.id, ["mgr"], "parallel")
    [step] = [t for t in tasks(ctx, iid) if t.id != prepare.id]
    assert step.assignee == "mgr2"
    assert [a.details["to"] for a in audit(ctx, iid, "task_handover")] == ["mgr2"]
    run(ctx, operations.sign, people["mgr2"], step.id, "approve")


def test_an_absence_over_a_time_already_covered_is_refused(ctx, people, clock):
    """A repeated 外出 request added another overlapping absence each time (27 for one user,
    each naming a deputy for the same days). The second is refused naming starts_at; one that
    starts when the first ends, or after the user is back, is taken."""
    from engine.errors import InvalidInput
    from engine.store.records_ops import AbsenceRecord

    def count() -> int:
        with transaction(ctx.sessions) as s:
            return len(s.scalars(select(AbsenceRecord).where(AbsenceRecord.username == "li")).all())

    now = clock.now()
    week = {"starts_at": now + timedelta(days=1), "ends_at": now + timedelta(days=8)}
    run(ctx, absence.mark_away, people["li"], "li", **week, reason="年假")
    for overlap in (week, {"starts_at": now + timedelta(days=7)},
                    {"starts_at": now, "ends_at": now + timedelta(days=2)}):
        with pytest.raises(Conflict) as refused:
            run(ctx, absence.mark_away, people["li"], "li", **overlap)
        assert refused.value.details["field"] == "starts_at"
    assert count() == 1
    run(ctx, absence.mark_away, people["li"], "li", starts_at=week["ends_at"],
        ends_at=week["ends_at"] + timedelta(days=1))
    assert count() == 2
    with pytest.raises(InvalidInput) as refused:  # refused whole, not cut at 1,000
        run(ctx, absence.mark_away, people["li"], "li", starts_at=now + timedelta(days=30),
            reason="长" * 1001)
    assert refused.value.details == {"field": "reason", "problem": "too_long"}
    assert count() == 2
