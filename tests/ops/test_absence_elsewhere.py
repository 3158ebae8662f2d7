"""A save checks for absences with one probe: one committed by another connection (another
process) is seen by the very next save, and so is its end — nothing is remembered between saves."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, update

from engine.store.db import transaction
from engine.store.records_ops import AbsenceRecord
from engine.usecases import instances
from tests.ops.helpers import audit, by_element
from tests.ops.project_helpers import project_fixture, research  # noqa: F401  (fixture)


def test_an_absence_written_elsewhere_is_seen_by_the_next_save(
    ctx, people, project, clock
):
    iid = project
    now = clock.now()
    # Not through engine.people.absence: a plain row committed on a connection of its own.
    with ctx.db.begin() as conn:
        conn.execute(insert(AbsenceRecord.__table__).values(
            username="li", starts_at=now - timedelta(hours=1), ends_at=None, deputy=None,
            reason="", set_by="li", created_at=now))
    research(ctx, people, iid)  # the save that creates the charter draft routes it to zhao
    assert by_element(ctx, iid, "Task_charter_draft").assignee == "zhao"
    assert [a.details["to"] for a in audit(ctx, iid, "task_handover")] == ["zhao"]
    # The absence ends elsewhere too; the next save of the instance gives the task back.
    with ctx.db.begin() as conn:
        conn.execute(update(AbsenceRecord.__table__).values(ends_at=now))
    with transaction(ctx.sessions) as s:
        instances.update_data(ctx, s, people["req"], iid, {"initial_goal": "销售额 +25%"})
    assert by_element(ctx, iid, "Task_charter_draft").assignee == "li"
    assert [a.details["to"] for a in audit(ctx, iid, "task_handback")] == ["li"]


def test_a_start_routes_its_first_task_around_an_absence(ctx, people, clock):
    """A start asks whether anyone is away together with the model's version (one statement):
    the first task of someone away goes to their deputy in the start's own save."""
    from tests.ops.helpers import start

    now = clock.now()
    with ctx.db.begin() as conn:
        conn.execute(insert(AbsenceRecord.__table__).values(
            username="alice", starts_at=now - timedelta(hours=1), ends_at=None, deputy="carol",
            reason="", set_by="alice", created_at=now))
    iid = start(ctx, people["req"], "ops_chain",
                {"prep_user": "alice", "prep_group": "planning_specialist"})
    assert by_element(ctx, iid, "prepare").assignee == "carol"
    assert [a.details["to"] for a in audit(ctx, iid, "task_handover")] == ["carol"]
