"""The one probe a completion makes before it saves (`engine.store.instance_probe`): timers and
unresolved incidents, task operations, and whether anything is to route around an absence —
and the timer batch's routing for many instances. What it answers must be what the separate
questions it replaces answer (`absence.apply_for_instance`'s probe, `has_task_operations`,
`timer_rows.timers_and_incidents`), on both databases."""

from __future__ import annotations

from datetime import timedelta

from engine import operations
from engine.operations.save_hooks import has_task_operations
from engine.people import absence
from engine.store import instance_probe, timer_rows
from engine.store.db import transaction
from tests.conftest import deploy_fixture
from tests.ops.helpers import by_element, complete, run, start
from tests.ops.project_helpers import PROJECT, project_fixture, research  # noqa: F401  (fixture)


def _probe(ctx, iid, now):
    with transaction(ctx.sessions) as s:
        known = instance_probe.probe(s, iid, now)
        assert known.timers == timer_rows.timers_and_incidents(s, iid)
        assert known.task_operations == has_task_operations(s, iid)
        return known


def test_routing_follows_absences_and_handovers(
    ctx, people, project, clock
):
    iid = project
    other = start(ctx, people["req"], "project_initiation", {**PROJECT, "a_owner": "bob"})
    now = clock.now()
    assert _probe(ctx, iid, now).to_route is False
    assert run(ctx, lambda _c, s: instance_probe.routing(s, [iid, other], now)) == set()
    # li is away from tomorrow: nothing to route today, everything tomorrow
    run(ctx, absence.mark_away, people["li"], "li", starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=3))
    assert _probe(ctx, iid, now).to_route is False
    later = now + timedelta(days=1, minutes=1)
    clock.set(later)
    assert _probe(ctx, iid, later).to_route is True
    assert run(ctx, lambda _c, s: instance_probe.routing(s, [iid, other], later)) == {iid, other}
    research(ctx, people, iid)  # the charter draft goes to zhao (B角): a handover is open
    assert by_element(ctx, iid, "Task_charter_draft").assignee == "zhao"
    # li is back (the period ended) but the handover is still open: only li's instance routes
    back = now + timedelta(days=3, minutes=1)
    assert _probe(ctx, iid, back).to_route is True
    assert _probe(ctx, other, back).to_route is False
    assert run(ctx, lambda _c, s: instance_probe.routing(s, [iid, other], back)) == {iid}


def test_timers_and_task_operations_match_the_separate_reads(
    ctx, people, project, clock
):
    iid = project
    known = _probe(ctx, iid, clock.now())
    assert known.task_operations is False
    research(ctx, people, iid)
    draft = by_element(ctx, iid, "Task_charter_draft")
    run(ctx, operations.delegate, people["li"], draft.id, "alice")
    known = _probe(ctx, iid, clock.now())
    assert known.task_operations is True
    assert known.to_route is False
    # an instance waiting on timers: the approval demo's cooling-off timer after approval
    deploy_fixture(ctx)
    demo = start(ctx, people["alice"], "approval_demo", {"title": "预算", "amount": 5000})
    complete(ctx, people["alice"], by_element(ctx, demo, "submit").id, {"description": "b"})
    complete(ctx, people["mgr"], by_element(ctx, demo, "review").id, {"decision": "approve"})
    timers, incidents = _probe(ctx, demo, clock.now()).timers
    assert [t.element_id for t in timers] == ["wait"] and incidents == []
