"""Due timers are woken in batches: N instances per transaction, each in its own savepoint.

One failing or conflicting instance rolls back only itself; the rest of the batch commits once;
workers racing over the same due timers (and a worker dying mid-batch) fire each exactly once.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, update

from engine.store.db import transaction
from engine.store.tables import IncidentRecord, InstanceRecord, TimerRow
from engine.timing import timers as timers_module
from engine.timing.timers import process_due
from engine.usecases.deploy import deploy, uploads_from_paths
from tests.conftest import FIXTURES
from tests.engine.timer_helpers import fired_counts, start_many

PROBE_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs_timer_probe" targetNamespace="http://planflow.test">
  <bpmn:process id="timer_probe" name="定时后调用" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait" name="等待">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition id="td">
        <bpmn:timeDuration>"PT1H"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:serviceTask id="call" name="调用外部系统">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="batch_probe" resultVariable="probe">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="mode" type="str" value="mode"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="call"/>
    <bpmn:sequenceFlow id="f3" sourceRef="call" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def probe_ctx(ctx, tmp_path: Path):
    @ctx.handlers.handler("batch_probe")
    def probe(params, _hctx):
        if params["mode"] == "fail":
            raise RuntimeError("外部系统不可用 (system down)")
        return {"ok": True}

    path = tmp_path / "timer_probe.bpmn"
    path.write_text(PROBE_BPMN, encoding="utf-8")
    with transaction(ctx.sessions) as s:
        deploy(ctx, s, uploads_from_paths([path, FIXTURES / "models_extra" / "timer_once.bpmn"]),
               "owner")
    return ctx


def commits_during(ctx):
    """Counts database COMMITs (savepoint releases are not commits)."""
    counter = Counter()

    def count(_conn):
        counter["commits"] += 1

    event.listen(ctx.db, "commit", count)
    return counter, lambda: event.remove(ctx.db, "commit", count)


def status_of(ctx, ids: list[int]) -> dict[int, str]:
    with transaction(ctx.sessions) as s:
        rows = s.execute(select(InstanceRecord.id, InstanceRecord.status)
                         .where(InstanceRecord.id.in_(ids))).all()
        return dict(rows)


def due_timer_kinds(ctx, instance_id: int) -> list[str]:
    with transaction(ctx.sessions) as s:
        return sorted(s.scalars(select(TimerRow.kind).where(TimerRow.instance_id == instance_id)))


def test_a_failing_handler_keeps_its_retry_and_the_batch_commits_once(probe_ctx, clock):
    ctx = probe_ctx
    modes = ["ok", "ok", "fail", "ok", "ok", "ok"]
    ids = start_many(ctx, "timer_probe", [{"mode": m} for m in modes])
    failing = ids[2]
    clock.advance(hours=1, seconds=1)
    counter, stop = commits_during(ctx)
    try:
        report = process_due(ctx, batch_size=50)
    finally:
        stop()
    assert sorted(report.woken) == sorted(ids)
    assert report.failed == {} and report.conflicts == []
    # Claim and six wake-ups in one transaction.
    assert counter["commits"] == 1
    status = status_of(ctx, ids)
    assert [status[i] for i in ids if i != failing] == ["completed"] * 5
    # The failing call left an incident with an automatic retry, exactly as unbatched.
    assert status[failing] == "waiting"
    with transaction(ctx.sessions) as s:
        [incident] = s.scalars(select(IncidentRecord)
                               .where(IncidentRecord.instance_id == failing)).all()
        assert incident.retry_at == clock.now() + timedelta(seconds=30)
        assert incident.resolved_at is None
    assert due_timer_kinds(ctx, failing) == ["retry"]
    assert fired_counts(ctx, ids) == Counter({i: 1 for i in ids})
    # The retry runs in a later batch (and fails again: one more attempt scheduled).
    clock.advance(seconds=31)
    assert process_due(ctx).woken == [failing]
    with transaction(ctx.sessions) as s:
        attempts = s.scalars(select(IncidentRecord.attempts)
                             .where(IncidentRecord.instance_id == failing)
                             .order_by(IncidentRecord.id)).all()
        assert attempts == [1, 2]


def test_an_instance_that_raises_rolls_back_alone(probe_ctx, clock, monkeypatch):
    ctx = probe_ctx
    ids = start_many(ctx, "timer_probe", [{"mode": "ok"}] * 5)
    broken = ids[1]
    real = timers_module.fire_due_timers

    def fire(ctx_, session, instance_id, **kw):
        result = real(ctx_, session, instance_id, **kw)
        if instance_id == broken:
            # After its save was flushed inside the savepoint: all of it must roll back.
            raise RuntimeError("state is corrupt")
        return result

    monkeypatch.setattr(timers_module, "fire_due_timers", fire)
    clock.advance(hours=2)
    report = process_due(ctx, batch_size=50)
    assert report.failed == {broken: "state is corrupt"}
    assert sorted(report.woken) == sorted(i for i in ids if i != broken)
    status = status_of(ctx, ids)
    assert status[broken] == "waiting"
    assert all(status[i] == "completed" for i in ids if i != broken)
    assert due_timer_kinds(ctx, broken) == ["timer"]
    assert fired_counts(ctx, ids) == Counter({i: 1 for i in ids if i != broken})
    # Once it is fixed, the next tick fires it (once).
    monkeypatch.setattr(timers_module, "fire_due_timers", real)
    assert process_due(ctx).woken == [broken]
    assert fired_counts(ctx, ids) == Counter({i: 1 for i in ids})


def test_a_concurrently_modified_instance_does_not_roll_back_the_others(
    probe_ctx, clock, monkeypatch
):
    ctx = probe_ctx
    ids = start_many(ctx, "timer_probe", [{"mode": "ok"}] * 5)
    changed = ids[3]
    real = timers_module.fire_due_timers

    def fire(ctx_, session, instance_id, **kw):
        if instance_id == changed:
            # Someone saved this instance after the batch read it: its version moved on.
            session.execute(update(InstanceRecord.__table__)
                            .where(InstanceRecord.__table__.c.id == changed)
                            .values(lock_version=InstanceRecord.__table__.c.lock_version + 1))
        return real(ctx_, session, instance_id, **kw)

    monkeypatch.setattr(timers_module, "fire_due_timers", fire)
    clock.advance(hours=2)
    report = process_due(ctx, batch_size=50)
    assert report.conflicts == [changed]
    assert sorted(report.woken) == sorted(i for i in ids if i != changed)
    status = status_of(ctx, ids)
    assert status[changed] == "waiting"
    assert all(status[i] == "completed" for i in ids if i != changed)
    assert fired_counts(ctx, ids)[changed] == 0
    monkeypatch.setattr(timers_module, "fire_due_timers", real)
    assert process_due(ctx).woken == [changed]
    assert fired_counts(ctx, ids) == Counter({i: 1 for i in ids})


def test_an_instance_failing_after_its_save_leaves_its_timer_and_no_audit(
    probe_ctx, clock, monkeypatch
):
    """A batch deletes the fired timer rows and inserts the audit entries of all its instances
    at once (timer_rows.BatchWrites): an instance whose savepoint rolls back after its save
    must take its part back out, so its timer still fires later, exactly once."""
    ctx = probe_ctx
    ids = start_many(ctx, "timer_probe", [{"mode": "ok"}] * 4)
    broken = ids[2]
    real = timers_module.fire_due_timers

    def fire(ctx_, session, instance_id, **kw):
        result = real(ctx_, session, instance_id, **kw)  # saved: its writes are in the batch
        if instance_id == broken:
            raise RuntimeError("after the save")
        return result

    monkeypatch.setattr(timers_module, "fire_due_timers", fire)
    clock.advance(hours=2)
    report = process_due(ctx, batch_size=50)
    assert list(report.failed) == [broken]
    assert sorted(report.woken) == sorted(i for i in ids if i != broken)
    assert fired_counts(ctx, ids) == Counter({i: 1 for i in ids if i != broken})
    with transaction(ctx.sessions) as s:
        assert s.scalar(select(func.count()).where(TimerRow.instance_id == broken)) == 1
        assert s.scalar(select(func.count()).where(TimerRow.instance_id.in_(ids))) == 1
    monkeypatch.setattr(timers_module, "fire_due_timers", real)
    assert process_due(ctx).woken == [broken]
    assert fired_counts(ctx, ids) == Counter({i: 1 for i in ids})


def test_batches_and_limit(probe_ctx, clock):
    ctx = probe_ctx
    ids = start_many(ctx, "timer_once", [{"delay": "PT1M"}] * 25)
    clock.advance(minutes=2)
    counter, stop = commits_during(ctx)
    try:
        first = process_due(ctx, limit=12, batch_size=5)
    finally:
        stop()
    assert first.fired == 12
    assert counter["commits"] == 3  # 5 + 5 + 2
    rest = process_due(ctx, batch_size=5)
    assert rest.fired == 13 and not set(first.woken) & set(rest.woken)
    assert process_due(ctx).fired == 0
    assert fired_counts(ctx, ids) == Counter({i: 1 for i in ids})


def test_two_workers_racing_over_200_due_timers_fire_each_once(probe_ctx, clock):
    ctx = probe_ctx
    ids = start_many(ctx, "timer_once", [{"delay": "PT1M"}] * 200)
    clock.advance(minutes=2)
    woken: list[list[int]] = [[], [], []]
    errors: list[BaseException] = []
    go = threading.Barrier(len(woken))

    def worker(slot: int) -> None:
        try:
            go.wait()
            while True:
                report = process_due(ctx, limit=60, batch_size=10)
                woken[slot] += report.woken
                assert not report.failed, report.failed
                if report.handled == 0:
                    return
        except BaseException as exc:  # reported below: a thread's assert is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(woken))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    all_woken = [i for slot in woken for i in slot]
    assert sorted(all_woken) == sorted(ids)  # each exactly once, across workers
    assert fired_counts(ctx, ids) == Counter({i: 1 for i in ids})
    assert set(status_of(ctx, ids).values()) == {"completed"}


def test_a_worker_dying_mid_batch_leaves_its_batch_to_the_next(probe_ctx, clock, monkeypatch):
    ctx = probe_ctx
    ids = start_many(ctx, "timer_once", [{"delay": "PT1M"}] * 8)
    clock.advance(minutes=2)
    real = timers_module.fire_due_timers
    calls: list[int] = []

    def fire(ctx_, session, instance_id, **kw):
        calls.append(instance_id)
        if len(calls) == 4:
            raise SystemExit("worker killed")  # not an Exception: nothing catches it
        return real(ctx_, session, instance_id, **kw)

    monkeypatch.setattr(timers_module, "fire_due_timers", fire)
    with pytest.raises(SystemExit):
        process_due(ctx, batch_size=8)
    # The three woken before the crash were in the uncommitted batch: nothing fired.
    assert fired_counts(ctx, ids) == Counter()
    assert set(status_of(ctx, ids).values()) == {"waiting"}
    monkeypatch.setattr(timers_module, "fire_due_timers", real)
    assert sorted(process_due(ctx).woken) == sorted(ids)
    assert fired_counts(ctx, ids) == Counter({i: 1 for i in ids})


def test_the_batch_tells_the_save_which_instances_never_had_a_task_operation(
    ctx, staff, monkeypatch
):
    from engine.operations import save_hooks as task_hooks
    from engine.store.records_ops import TaskSubmissionRecord
    from engine.store.tables import HumanTaskRow

    with transaction(ctx.sessions) as s:
        deploy(ctx, s, uploads_from_paths([FIXTURES / "models_extra" / "timers_demo.bpmn"]),
               "owner")
    event_date = (ctx.clock.now() + timedelta(days=10)).isoformat()
    ids = start_many(ctx, "timers_demo", [{"event_date": event_date}] * 3)
    with transaction(ctx.sessions) as s:
        task = s.scalars(select(HumanTaskRow).where(HumanTaskRow.instance_id == ids[1])).first()
        s.add(TaskSubmissionRecord(task_id=task.id, instance_id=ids[1], submitted_by="alice",
                                   data={}, submitted_at=ctx.clock.now()))
    with transaction(ctx.sessions) as s:
        assert task_hooks.with_task_operations(s, ids) == {ids[1]}
        assert task_hooks.has_task_operations(s, ids[1])
        assert not task_hooks.has_task_operations(s, ids[0])
    # The batch hands that knowledge to each save explicitly (timer_rows.Known): the save of an
    # instance without operations does not probe for them again.
    probes: list[int] = []
    real = task_hooks.has_task_operations
    monkeypatch.setattr(
        task_hooks, "has_task_operations", lambda s, i: probes.append(i) or real(s, i)
    )
    ctx.clock.advance(days=11)
    assert sorted(process_due(ctx).woken) == sorted(ids)
    assert probes == []


def test_one_poll_drains_a_backlog_in_back_to_back_rounds(probe_ctx, clock, monkeypatch):
    from engine.timing import scheduler
    from engine.timing.scheduler import TimerService

    ctx = probe_ctx
    ids = start_many(ctx, "timer_once", [{"delay": "PT1M"}] * 12)
    clock.advance(minutes=2)
    monkeypatch.setattr(scheduler, "ROUND", 5)
    service = TimerService(ctx)
    service.poll()  # rounds of 5, 5, 2: all of them, not just the first round
    assert fired_counts(ctx, ids) == Counter({i: 1 for i in ids})
    service.release_lease()
