"""An instance behaves the same whether it ran in one process or across restarts.

Every action here can run in a *renewed* context (`engine.context.renewed`: a new spec cache,
serializer and script environment, as a freshly started server, CLI or worker builds), and the
outcome must equal the warm run's. The department's three processes get the same treatment in
tests/scenarios (their `engine_mode` fixture); this file pins the engine-level causes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from engine.context import EngineContext, renewed
from engine.people.accounts import Actor, actor_for
from engine.store import instance_state as store
from engine.store.db import transaction
from engine.store.tables import HumanTaskRow, IncidentRecord, InstanceRecord, ProcessVersionRecord
from engine.usecases import instances
from engine.usecases.deploy import Upload, deploy

_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs_{key}" targetNamespace="http://planflow.test">
"""
_PROPS = """<bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="candidateGroups" value="planning_specialist"/>
      </spiffworkflow:properties></bpmn:extensionElements>"""

# A parallel split: one branch confirms every guest (parallel or sequential multi-instance,
# then counts the answers), the other is a plain review; both join, then a script reads the
# instance-wide `event_date` and the counted guests.
MI_MODEL = (
    _HEAD
    + """  <bpmn:process id="{key}" name="多实例" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="fork"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f3</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:userTask id="confirm" name="嘉宾确认">
      {props}
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics isSequential="{sequential}">
        <bpmn:loopDataInputRef>guests</bpmn:loopDataInputRef>
        <bpmn:loopDataOutputRef>answers</bpmn:loopDataOutputRef>
        <bpmn:inputDataItem id="guest" name="guest" />
        <bpmn:outputDataItem id="answer" name="answer" />
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:scriptTask id="count" name="统计" scriptFormat="python">
      <bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
      <bpmn:script>confirmed = len([a for a in answers if a == "yes"])</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="review" name="评审">
      {props}
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:parallelGateway id="join"><bpmn:incoming>f5</bpmn:incoming>
      <bpmn:incoming>f6</bpmn:incoming><bpmn:outgoing>f7</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:scriptTask id="summary" name="汇总" scriptFormat="python">
      <bpmn:incoming>f7</bpmn:incoming><bpmn:outgoing>f8</bpmn:outgoing>
      <bpmn:script>summary_date = event_date</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="after" name="现场执行">
      {props}
      <bpmn:incoming>f8</bpmn:incoming><bpmn:outgoing>f9</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f9</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fork"/>
    <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="confirm"/>
    <bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="review"/>
    <bpmn:sequenceFlow id="f4" sourceRef="confirm" targetRef="count"/>
    <bpmn:sequenceFlow id="f5" sourceRef="count" targetRef="join"/>
    <bpmn:sequenceFlow id="f6" sourceRef="review" targetRef="join"/>
    <bpmn:sequenceFlow id="f7" sourceRef="join" targetRef="summary"/>
    <bpmn:sequenceFlow id="f8" sourceRef="summary" targetRef="after"/>
    <bpmn:sequenceFlow id="f9" sourceRef="after" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
)


def mi_model(key: str, sequential: bool) -> bytes:
    return MI_MODEL.format(
        key=key, props=_PROPS, sequential="true" if sequential else "false"
    ).encode()


GUESTS = ["王总", "李记者", "小周"]


def _open(ctx: EngineContext, iid: int, element: str | None = None) -> list[HumanTaskRow]:
    with transaction(ctx.sessions) as s:
        rows = s.scalars(
            select(HumanTaskRow)
            .where(HumanTaskRow.instance_id == iid, HumanTaskRow.status == "open")
            .order_by(HumanTaskRow.id)
        ).all()
        return [r for r in rows if element is None or r.element_id == element]


def _data(ctx: EngineContext, iid: int) -> dict[str, Any]:
    with transaction(ctx.sessions) as s:
        record = s.get(InstanceRecord, iid)
        assert record is not None
        return {"status": record.status, **(record.data or {})}


def _incidents(ctx: EngineContext, iid: int) -> list[str]:
    with transaction(ctx.sessions) as s:
        return [
            f"{i.element_id}: {i.message}"
            for i in s.scalars(select(IncidentRecord).where(IncidentRecord.instance_id == iid))
        ]


def _in(ctx: EngineContext, cold: bool) -> EngineContext:
    return renewed(ctx) if cold else ctx


def _run_launch(
    ctx: EngineContext, alice: Actor, key: str, cold: bool, move_date: str | None
) -> dict[str, Any]:
    def move(when: str) -> None:
        if move_date == when:  # a manager moves it (the model has no start form to own it)
            with transaction(ctx.sessions) as s:
                sup = actor_for(s, "sup")
                instances.update_data(_in(ctx, cold), s, sup, iid, {"event_date": "2026-03-15"})

    with transaction(ctx.sessions) as s:
        deploy(ctx, s, [Upload(f"{key}.bpmn", mi_model(key, key.endswith("seq")))], "owner")
    with transaction(ctx.sessions) as s:
        iid = instances.start(_in(ctx, cold), s, alice, key,
                              {"guests": GUESTS, "event_date": "2026-03-12"}).id
    move("both_open")
    [review] = _open(ctx, iid, "review")
    with transaction(ctx.sessions) as s:
        instances.complete(_in(ctx, cold), s, alice, review.id, {})
    move("review_at_join")  # one branch waits at the join with the old value
    for n in range(len(GUESTS)):
        rows = _open(ctx, iid, "confirm")
        assert rows, (n, _incidents(ctx, iid))
        with transaction(ctx.sessions) as s:
            instances.complete(
                _in(ctx, cold), s, alice, rows[0].id, {"answer": "yes" if n else "no"}
            )
        if n == 0:
            move("guests_open")  # one guest answered, the others still open
    assert _incidents(ctx, iid) == []
    assert [r.element_id for r in _open(ctx, iid)] == ["after"], "stalled after the guests"
    return _data(ctx, iid)


@pytest.mark.parametrize("key", ["mi_par", "mi_seq"])
@pytest.mark.parametrize("move_date", [None, "both_open", "review_at_join", "guests_open"])
def test_multi_instance_completes_the_same_warm_and_cold(
    ctx: EngineContext, staff: dict[str, Actor], key: str, move_date: str | None
) -> None:
    warm = _run_launch(ctx, staff["alice"], key, cold=False, move_date=move_date)
    cold = _run_launch(ctx, staff["alice"], key + "_cold", cold=True, move_date=move_date)
    assert warm["confirmed"] == cold["confirmed"] == 2
    assert warm["answers"] == cold["answers"] == ["no", "yes", "yes"]
    expected = "2026-03-15" if move_date else "2026-03-12"
    assert warm["summary_date"] == cold["summary_date"] == expected
    assert warm["event_date"] == cold["event_date"] == expected
    assert {k: v for k, v in warm.items() if k != "instance_id"} == {
        k: v for k, v in cold.items() if k != "instance_id"
    }


def test_parsed_multi_instance_child_is_wired_to_its_parent(
    ctx: EngineContext, staff: dict[str, Actor]
) -> None:
    """The root cause, at its depth: SpiffWorkflow connects a multi-instance child spec's
    `completed_event` to the parent's `merge_child` only when the parent creates children (or
    when it deserializes a *spec*). Our specs come from the parser, so a process that restored
    an instance without having created those children itself never heard a child complete and
    the parent stayed STARTED for good. A freshly parsed model must be wired already."""
    with transaction(ctx.sessions) as s:
        deploy(ctx, s, [Upload("mi_wire.bpmn", mi_model("mi_wire", False))], "owner")
    fresh = renewed(ctx)
    with transaction(fresh.sessions) as s:
        version = s.scalars(select(ProcessVersionRecord)).one()
        model = store.parsed_model(fresh, s, version.id)
    loop = model.spec.task_specs["confirm"]
    child = model.spec.task_specs[loop.task_spec]
    assert child.completed_event.is_connected(loop.merge_child)


def test_an_instance_that_cannot_progress_is_an_incident(
    ctx: EngineContext, staff: dict[str, Actor]
) -> None:
    """Without the wiring (as before the fix) the parent stays STARTED after the last guest:
    that silent stop must surface as an incident naming the multi-instance task."""
    with transaction(ctx.sessions) as s:
        deploy(ctx, s, [Upload("mi_stall.bpmn", mi_model("mi_stall", False))], "owner")
    with transaction(ctx.sessions) as s:
        iid = instances.start(ctx, s, staff["alice"], "mi_stall", {"guests": GUESTS[:1]}).id
    [review] = _open(ctx, iid, "review")
    with transaction(ctx.sessions) as s:
        instances.complete(ctx, s, staff["alice"], review.id, {})
    fresh = renewed(ctx)
    with transaction(fresh.sessions) as s:
        version = s.scalars(select(ProcessVersionRecord)).one()
        model = store.parsed_model(fresh, s, version.id)
    loop = model.spec.task_specs["confirm"]
    model.spec.task_specs[loop.task_spec].completed_event.disconnect(loop.merge_child)
    [guest] = _open(ctx, iid, "confirm")
    with transaction(fresh.sessions) as s:
        instances.complete(fresh, s, staff["alice"], guest.id, {"answer": "yes"})
    assert _data(ctx, iid)["status"] == "error"
    [incident] = _incidents(ctx, iid)
    assert incident.startswith("confirm: 流程无法继续")


def test_doctor_lists_stalled_instances_and_disagreeing_projections(
    ctx: EngineContext, staff: dict[str, Actor]
) -> None:
    from click.testing import CliRunner

    from engine.store.tables import TimerRow
    from engine.usecases.doctor import diagnose
    from web.cli import main

    test_an_instance_that_cannot_progress_is_an_incident(ctx, staff)  # instance 1: stalled
    with transaction(ctx.sessions) as s:
        deploy(ctx, s, [Upload("timer_doc.bpmn", TIMER_MODEL)], "owner")
    with transaction(ctx.sessions) as s:
        healthy = instances.start(ctx, s, staff["alice"], "timer_doc", {}).id
        broken = instances.start(ctx, s, staff["alice"], "timer_doc", {}).id
    with transaction(ctx.sessions) as s:
        assert diagnose(renewed(ctx), s)[0].kind == "stalled"
        assert not [f for f in diagnose(renewed(ctx), s) if f.instance_id == healthy]
        s.execute(TimerRow.__table__.delete().where(TimerRow.instance_id == broken))
    runner = CliRunner()
    env = {
        "PLANFLOW_DATABASE_URL": ctx.settings.database_url,
        "PLANFLOW_SECRET_KEY": ctx.settings.secret_key,
    }
    result = runner.invoke(main, ["doctor", "--json"], env=env)
    assert result.exit_code == 1, result.output
    found = {(f["instance_id"], f["kind"], f["element_id"]) for f in json.loads(result.output)}
    assert found == {(1, "stalled", "confirm"), (broken, "timer_missing", "wait")}
    text = runner.invoke(main, ["doctor"], env=env).output
    assert "流程停滞" in text and "定时器缺失" in text and "would never fire" in text


TIMER_MODEL = (
    _HEAD.format(key="timer_doc")
    + """  <bpmn:process id="timer_doc" name="定时" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>"P1D"</bpmn:timeDuration>
      </bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
).encode()


# A call activity, a repeating boundary timer and a message loop, in parallel.
FEATURES = (
    (
        _HEAD.format(key="features")
        + """  <bpmn:message id="m_ping" name="ping"/>
  <bpmn:process id="features" name="特性" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="fork"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>a1</bpmn:outgoing><bpmn:outgoing>b1</bpmn:outgoing>
      <bpmn:outgoing>c1</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:callActivity id="call_sub" calledElement="sub_proc">
      <bpmn:incoming>a1</bpmn:incoming><bpmn:outgoing>a2</bpmn:outgoing></bpmn:callActivity>
    <bpmn:userTask id="monitor" name="监控">{props}
      <bpmn:incoming>b1</bpmn:incoming><bpmn:outgoing>b2</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="hourly" attachedToRef="monitor" cancelActivity="false">
      <bpmn:outgoing>t1</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeCycle>"R3/PT1H"</bpmn:timeCycle>
      </bpmn:timerEventDefinition></bpmn:boundaryEvent>
    <bpmn:scriptTask id="tick" name="计数" scriptFormat="python">
      <bpmn:incoming>t1</bpmn:incoming><bpmn:outgoing>t2</bpmn:outgoing>
      <bpmn:script>ticks = ticks + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="tick_end"><bpmn:incoming>t2</bpmn:incoming></bpmn:endEvent>
    <bpmn:receiveTask id="wait_ping" name="等待" messageRef="m_ping">
      <bpmn:incoming>c1</bpmn:incoming><bpmn:incoming>c4</bpmn:incoming>
      <bpmn:outgoing>c2</bpmn:outgoing></bpmn:receiveTask>
    <bpmn:scriptTask id="count_ping" name="计数" scriptFormat="python">
      <bpmn:incoming>c2</bpmn:incoming><bpmn:outgoing>c3</bpmn:outgoing>
      <bpmn:script>pings = pings + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="again" default="c5"><bpmn:incoming>c3</bpmn:incoming>
      <bpmn:outgoing>c4</bpmn:outgoing><bpmn:outgoing>c5</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:parallelGateway id="join"><bpmn:incoming>a2</bpmn:incoming>
      <bpmn:incoming>b2</bpmn:incoming><bpmn:incoming>c5</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:userTask id="final" name="收尾">{props}
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fork"/>
    <bpmn:sequenceFlow id="a1" sourceRef="fork" targetRef="call_sub"/>
    <bpmn:sequenceFlow id="a2" sourceRef="call_sub" targetRef="join"/>
    <bpmn:sequenceFlow id="b1" sourceRef="fork" targetRef="monitor"/>
    <bpmn:sequenceFlow id="b2" sourceRef="monitor" targetRef="join"/>
    <bpmn:sequenceFlow id="t1" sourceRef="hourly" targetRef="tick"/>
    <bpmn:sequenceFlow id="t2" sourceRef="tick" targetRef="tick_end"/>
    <bpmn:sequenceFlow id="c1" sourceRef="fork" targetRef="wait_ping"/>
    <bpmn:sequenceFlow id="c2" sourceRef="wait_ping" targetRef="count_ping"/>
    <bpmn:sequenceFlow id="c3" sourceRef="count_ping" targetRef="again"/>
    <bpmn:sequenceFlow id="c4" sourceRef="again" targetRef="wait_ping">
      <bpmn:conditionExpression>pings &lt; 2</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="c5" sourceRef="again" targetRef="join"/>
    <bpmn:sequenceFlow id="f2" sourceRef="join" targetRef="final"/>
    <bpmn:sequenceFlow id="f3" sourceRef="final" targetRef="end"/>
  </bpmn:process>
  <bpmn:process id="sub_proc" name="子流程" isExecutable="true">
    <bpmn:startEvent id="s_start"><bpmn:outgoing>s1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="sub_task" name="子任务">{props}
      <bpmn:incoming>s1</bpmn:incoming><bpmn:outgoing>s2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="s_end"><bpmn:incoming>s2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="s1" sourceRef="s_start" targetRef="sub_task"/>
    <bpmn:sequenceFlow id="s2" sourceRef="sub_task" targetRef="s_end"/>
  </bpmn:process>
</bpmn:definitions>
"""
    )
    .replace("{props}", _PROPS)
    .encode()
)


def _audit(ctx: EngineContext, iid: int) -> list[tuple[Any, ...]]:
    from engine.store.tables import AuditRecord

    with transaction(ctx.sessions) as s:
        rows = s.scalars(
            select(AuditRecord).where(AuditRecord.instance_id == iid).order_by(AuditRecord.id)
        )
        return [(a.action, a.element_id, a.at) for a in rows]


def _run_features(
    ctx: EngineContext, clock: Any, alice: Actor, cold: bool
) -> tuple[dict[str, Any], list[tuple[Any, ...]], list[str]]:
    from datetime import timedelta

    from engine.timing.timers import process_due

    start_at = clock.now()
    with transaction(ctx.sessions) as s:
        iid = instances.start(_in(ctx, cold), s, alice, "features", {"ticks": 0, "pings": 0}).id

    def send(name: str) -> None:
        with transaction(ctx.sessions) as s:
            instances.send_message(_in(ctx, cold), s, alice, iid, name, {"from": name})

    def do(element: str, data: dict[str, Any]) -> None:
        [row] = _open(ctx, iid, element)
        with transaction(ctx.sessions) as s:
            instances.complete(_in(ctx, cold), s, alice, row.id, data)

    send("ping")
    for hour in (1, 2):
        clock.set(start_at + timedelta(hours=hour, seconds=1))
        report = process_due(_in(ctx, cold))
        assert not report.failed, report.failed
    do("sub_task", {"sub_answer": "ok"})
    send("ping")
    do("monitor", {"monitored": True})
    assert _incidents(ctx, iid) == []
    assert [r.element_id for r in _open(ctx, iid)] == ["final"]
    do("final", {})
    clock.set(start_at)
    with transaction(ctx.sessions) as s:
        record = s.get(InstanceRecord, iid)
        assert record is not None
        passed = list(record.passed_elements or [])
    return _data(ctx, iid), _audit(ctx, iid), passed


def test_call_activity_timers_and_messages_warm_and_cold(
    ctx: EngineContext, staff: dict[str, Actor], clock: Any
) -> None:
    with transaction(ctx.sessions) as s:
        deploy(ctx, s, [Upload("features.bpmn", FEATURES)], "owner")
    warm, warm_audit, warm_passed = _run_features(ctx, clock, staff["alice"], cold=False)
    cold, cold_audit, cold_passed = _run_features(ctx, clock, staff["alice"], cold=True)
    assert warm["status"] == "completed" and warm["sub_answer"] == "ok"
    actions = [a for a, _e, _at in warm_audit]
    assert actions.count("timer_fired") == 2 and actions.count("message_received") == 2
    assert {"sub_task", "tick", "count_ping", "final"} <= set(warm_passed)
    assert {k: v for k, v in warm.items() if k != "instance_id"} == {
        k: v for k, v in cold.items() if k != "instance_id"
    }
    assert warm_audit == cold_audit
    assert warm_passed == cold_passed


_EVENT_SUB = """    <bpmn:subProcess id="on_note" triggeredByEvent="true">
      <bpmn:startEvent id="note_start" isInterrupting="false"><bpmn:outgoing>n1</bpmn:outgoing>
        <bpmn:messageEventDefinition messageRef="m_note"/></bpmn:startEvent>
      <bpmn:scriptTask id="count_note" name="记录" scriptFormat="python">
        <bpmn:incoming>n1</bpmn:incoming><bpmn:outgoing>n2</bpmn:outgoing>
        <bpmn:script>notes = notes + 1</bpmn:script></bpmn:scriptTask>
      <bpmn:endEvent id="note_end"><bpmn:incoming>n2</bpmn:incoming></bpmn:endEvent>
      <bpmn:sequenceFlow id="n1" sourceRef="note_start" targetRef="count_note"/>
      <bpmn:sequenceFlow id="n2" sourceRef="count_note" targetRef="note_end"/>
    </bpmn:subProcess>
"""
EVENT_SUBPROCESS = FEATURES.replace(
    b'    <bpmn:sequenceFlow id="f1"',
    (_EVENT_SUB + '    <bpmn:sequenceFlow id="f1"').encode(),
    1,
).replace(
    b'<bpmn:message id="m_ping"',
    b'<bpmn:message id="m_note" name="note"/>\n  <bpmn:message id="m_ping"',
)


def test_event_subprocesses_are_refused_at_deploy(ctx: EngineContext) -> None:
    """SpiffWorkflow 3.2 never starts a `triggeredByEvent` subprocess (checked here: no task is
    created for it and its message or timer is not awaited), so a diagram with one would deploy
    and silently ignore it. Deploy says so instead, naming the element."""
    from engine.errors import InvalidModel

    with transaction(ctx.sessions) as s, pytest.raises(InvalidModel) as refused:
        deploy(ctx, s, [Upload("features.bpmn", EVENT_SUBPROCESS)], "owner")
    assert refused.value.details["element_id"] == "on_note"
    assert "事件子流程" in refused.value.message
