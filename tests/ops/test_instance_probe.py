"""What a completion asks about its instance with the task's own read
(`engine.store.instance_probe.about_the_instance`, columns of `engine.access.task_access`'s
statement): timers and unresolved incidents, task operations, whether anything is to route
around an absence, the live task rows — and the timer batch's routing for many instances. What
it answers must be what the separate questions it replaces answer (`absence`'s probe,
`has_task_operations`, `timer_rows.timers_and_incidents`, the live rows), on both databases."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import desc, select
from sqlalchemy import event as event_api

from engine import operations
from engine.access import task_access, with_columns
from engine.operations.save_hooks import has_task_operations
from engine.people import absence
from engine.people.accounts import Actor
from engine.store import instance_probe, timer_rows
from engine.store.db import transaction
from engine.store.records_ops import LIVE_STATUSES
from engine.store.tables import HumanTaskRow
from engine.usecases.deploy import deploy, uploads_from_paths
from tests.conftest import FIXTURES, deploy_fixture
from tests.ops.helpers import by_element, complete, run, start
from tests.ops.project_helpers import PROJECT, project_fixture, research  # noqa: F401  (fixture)

_ADMIN = Actor("admin", "管理员", frozenset(), True)


def _probe(ctx, iid, now):
    """The answers read with one of the instance's tasks (the newest, open or not)."""
    with transaction(ctx.sessions) as s:
        task_id = s.scalar(select(HumanTaskRow.id).where(HumanTaskRow.instance_id == iid)
                           .order_by(desc(HumanTaskRow.created_at)).limit(1))
        asked = with_columns(*instance_probe.about_the_instance(s.get_bind().dialect.name))
        found = task_access(s, _ADMIN, task_id, asked, {"now": now})
        known = instance_probe.known_about(found.also)
        timers = timer_rows.timers_and_incidents(s, iid)
        assert [sorted(k) for k in known.timers] == [sorted(t) for t in timers]
        assert known.task_operations == has_task_operations(s, iid)
        assert known.live_tasks == set(s.scalars(select(HumanTaskRow.id).where(
            HumanTaskRow.instance_id == iid, HumanTaskRow.status.in_(LIVE_STATUSES))))
        return known, timers


def test_routing_follows_absences_and_handovers(
    ctx, people, project, clock
):
    iid = project
    other = start(ctx, people["req"], "project_initiation", {**PROJECT, "a_owner": "bob"})
    now = clock.now()
    assert _probe(ctx, iid, now)[0].to_route is False
    assert run(ctx, lambda _c, s: instance_probe.routing(s, [iid, other], now)) == set()
    # li is away from tomorrow: nothing to route today, everything tomorrow
    run(ctx, absence.mark_away, people["li"], "li", starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=3))
    assert _probe(ctx, iid, now)[0].to_route is False
    later = now + timedelta(days=1, minutes=1)
    clock.set(later)
    assert _probe(ctx, iid, later)[0].to_route is True
    assert run(ctx, lambda _c, s: instance_probe.routing(s, [iid, other], later)) == {iid, other}
    research(ctx, people, iid)  # the charter draft goes to zhao (B角): a handover is open
    assert by_element(ctx, iid, "Task_charter_draft").assignee == "zhao"
    # li is back (the period ended) but the handover is still open: only li's instance routes
    back = now + timedelta(days=3, minutes=1)
    assert _probe(ctx, iid, back)[0].to_route is True
    assert _probe(ctx, other, back)[0].to_route is False
    assert run(ctx, lambda _c, s: instance_probe.routing(s, [iid, other], back)) == {iid}


def test_timers_and_task_operations_match_the_separate_reads(
    ctx, people, project, clock
):
    iid = project
    known, _ = _probe(ctx, iid, clock.now())
    assert known.task_operations is False and known.live_tasks
    research(ctx, people, iid)
    draft = by_element(ctx, iid, "Task_charter_draft")
    run(ctx, operations.delegate, people["li"], draft.id, "alice")
    known, _ = _probe(ctx, iid, clock.now())
    assert known.task_operations is True
    assert known.to_route is False
    # an instance waiting on timers: the approval demo's cooling-off timer after approval
    deploy_fixture(ctx)
    demo = start(ctx, people["alice"], "approval_demo", {"title": "预算", "amount": 5000})
    complete(ctx, people["alice"], by_element(ctx, demo, "submit").id, {"description": "b"})
    complete(ctx, people["mgr"], by_element(ctx, demo, "review").id, {"decision": "approve"})
    known, (timers, incidents) = _probe(ctx, demo, clock.now())
    assert [t.element_id for t in timers] == ["wait"] and incidents == []
    assert known.live_tasks == frozenset()  # it waits on its timer


def test_a_completion_beside_waiting_timers_reads_them_with_its_task(ctx, people, clock):
    """The timers come with the task's read, exactly as stored: the save keeps the rows of the
    timers still waiting (same ids: their due times compared equal) and drops the cancelled
    one's, without a read of its own."""
    with transaction(ctx.sessions) as s:
        deploy(ctx, s, uploads_from_paths([FIXTURES / "models_extra" / "timers_demo.bpmn"]),
               "owner")
    event = (clock.now() + timedelta(days=10)).isoformat()
    iid = start(ctx, people["sup"], "timers_demo", {"event_date": event})
    with transaction(ctx.sessions) as s:
        before = {t.element_id: t.id for t in timer_rows.timers_and_incidents(s, iid)[0]}
    assert set(before) == {"t_minus_3", "cool", "every_week"}
    monitor = by_element(ctx, iid, "monitor")
    seen: list[str] = []
    listen = (ctx.db, "before_cursor_execute",
              lambda _c, _k, statement, *_a: seen.append(" ".join(statement.split())))
    event_api.listen(*listen)
    try:  # as the API and the task page complete a task
        run(ctx, operations.submit, people["sup"], monitor.id, {})
    finally:
        event_api.remove(*listen)
    assert not [q for q in seen if q.startswith("SELECT 't' AS src")], seen
    with transaction(ctx.sessions) as s:
        after = {t.element_id: t.id for t in timer_rows.timers_and_incidents(s, iid)[0]}
    # the weekly timer went with the monitoring task; the other two are the same rows
    assert after == {"t_minus_3": before["t_minus_3"], "cool": before["cool"]}
