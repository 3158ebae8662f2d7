"""Deploy, start, complete, timers, incidents — through the engine's use cases (no Flask),
on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.errors import Conflict, Forbidden, FormInvalid, InvalidModel
from engine.read import model_view
from engine.store.db import transaction
from engine.store.tables import AuditRecord, HumanTaskRow, InstanceRecord, TimerRow
from engine.timing.timers import process_due
from engine.usecases import instances
from engine.usecases.deploy import Upload, deploy
from tests.conftest import MODELS, deploy_fixture


def open_tasks(ctx, instance_id):
    with transaction(ctx.sessions) as s:
        return s.scalars(
            select(HumanTaskRow).where(
                HumanTaskRow.instance_id == instance_id, HumanTaskRow.status == "open"
            )
        ).all()


def start(ctx, actor, data=None, key="approval_demo"):
    with transaction(ctx.sessions) as s:
        return instances.start(ctx, s, actor, key, data or {"title": "新品推广", "amount": 5000})


def complete(ctx, actor, task_id, data):
    with transaction(ctx.sessions) as s:
        return instances.complete(ctx, s, actor, task_id, data)


def audit_actions(ctx, instance_id):
    with transaction(ctx.sessions) as s:
        return [
            a.action
            for a in s.scalars(
                select(AuditRecord)
                .where(AuditRecord.instance_id == instance_id)
                .order_by(AuditRecord.id)
            )
        ]


def test_full_path_with_return_loop_service_task_and_timer(ctx, staff, clock):
    deploy_fixture(ctx)
    inst = start(ctx, staff["alice"])
    assert inst.status == "running"
    [submit] = open_tasks(ctx, inst.id)
    assert submit.element_id == "submit"
    assert [c.group_name for c in submit.candidate_groups] == ["planning_specialist"]
    assert submit.due_at == clock.now() + timedelta(days=2)

    # An invalid form keeps the task open and names the field.
    with pytest.raises(FormInvalid) as err:
        complete(ctx, staff["alice"], submit.id, {"description": ""})
    assert "description" in err.value.details["fields"]
    assert open_tasks(ctx, inst.id)[0].id == submit.id

    complete(ctx, staff["alice"], submit.id, {"description": "预算说明"})
    [review] = open_tasks(ctx, inst.id)
    assert review.element_id == "review"
    assert [c.group_name for c in review.candidate_groups] == ["planning_manager"]
    with pytest.raises(Forbidden):
        complete(ctx, staff["alice"], review.id, {"decision": "approve"})

    # Send back: the submit step comes again.
    complete(ctx, staff["mgr"], review.id, {"decision": "return", "comment": "补充细节"})
    [submit2] = open_tasks(ctx, inst.id)
    assert submit2.element_id == "submit" and submit2.id != submit.id
    complete(ctx, staff["bob"], submit2.id, {"description": "已补充"})
    [review2] = open_tasks(ctx, inst.id)
    complete(ctx, staff["mgr"], review2.id, {"decision": "approve"})

    with transaction(ctx.sessions) as s:
        record = s.get(InstanceRecord, inst.id)
        assert record.status == "waiting"
        assert record.data["note_result"]["recorded"] is True
        [timer] = s.scalars(select(TimerRow).where(TimerRow.instance_id == inst.id)).all()
        assert timer.element_id == "wait"
        assert timer.due_at == clock.now() + timedelta(hours=1)

    # Not yet due: nothing happens.
    assert process_due(ctx).fired == 0
    clock.advance(hours=1, seconds=5)
    report = process_due(ctx)
    assert report.woken == [inst.id]
    with transaction(ctx.sessions) as s:
        record = s.get(InstanceRecord, inst.id)
        assert record.status == "completed"
        assert s.scalars(select(TimerRow).where(TimerRow.instance_id == inst.id)).all() == []
        fired = s.scalars(
            select(AuditRecord).where(
                AuditRecord.instance_id == inst.id, AuditRecord.action == "timer_fired"
            )
        ).one()
        assert fired.details["late_seconds"] == pytest.approx(5, abs=0.01)
    actions = audit_actions(ctx, inst.id)
    assert actions[0] == "started"
    assert actions.count("task_completed") == 4
    assert "service_called" in actions and actions[-1] == "completed"


def test_small_amount_skips_review(ctx, staff):
    deploy_fixture(ctx)
    inst = start(ctx, staff["alice"], {"title": "小额", "amount": 10})
    [submit] = open_tasks(ctx, inst.id)
    complete(ctx, staff["alice"], submit.id, {"description": "x"})
    assert open_tasks(ctx, inst.id) == []
    with transaction(ctx.sessions) as s:
        assert s.get(InstanceRecord, inst.id).data["decision"] == "approve"


def test_start_form_is_validated(ctx, staff):
    deploy_fixture(ctx)
    with pytest.raises(FormInvalid) as err:
        start(ctx, staff["alice"], {"title": "", "amount": 0})
    assert set(err.value.details["fields"]) == {"title", "amount"}
    with transaction(ctx.sessions) as s:
        assert s.scalars(select(InstanceRecord)).all() == []


def test_second_completion_of_same_task_conflicts(ctx, staff):
    deploy_fixture(ctx)
    inst = start(ctx, staff["alice"])
    [submit] = open_tasks(ctx, inst.id)
    complete(ctx, staff["alice"], submit.id, {"description": "a"})
    with pytest.raises(Conflict):
        complete(ctx, staff["alice"], submit.id, {"description": "b"})


def test_concurrent_completions_exactly_one_wins(ctx, staff):
    """Two sessions load the same task; both run the engine; only one may commit."""
    deploy_fixture(ctx)
    inst = start(ctx, staff["alice"])
    [submit] = open_tasks(ctx, inst.id)
    s1, s2 = ctx.sessions(), ctx.sessions()
    try:
        instances.complete(ctx, s1, staff["alice"], submit.id, {"description": "first"})
        # s2 read nothing yet; its engine run starts from the state before s1 commits.
        s1_pending = True
        with pytest.raises(Conflict):
            # s2's flush must wait for s1 (row lock / SQLite write lock) and then see the new
            # version: commit s1 from a helper thread while s2 waits.
            import threading

            t = threading.Timer(0.3, s1.commit)
            t.start()
            try:
                instances.complete(ctx, s2, staff["bob"], submit.id, {"description": "second"})
                s2.commit()
            finally:
                t.join()
                s1_pending = False
        s2.rollback()
    finally:
        if s1_pending:
            s1.rollback()
        s1.close()
        s2.close()
    with transaction(ctx.sessions) as s:
        row = s.get(HumanTaskRow, submit.id)
        assert row.status == "completed" and row.completed_by == "alice"
        completions = s.scalars(
            select(AuditRecord).where(
                AuditRecord.instance_id == inst.id, AuditRecord.action == "task_completed"
            )
        ).all()
        assert [c.details["data"]["description"] for c in completions] == ["first"]


def test_deploy_versions_and_running_instances_keep_theirs(ctx, staff):
    deploy_fixture(ctx)
    inst = start(ctx, staff["alice"])
    source = (MODELS / "approval_demo.bpmn").read_text()
    changed = source.replace('name="提交说明"', 'name="提交详细说明"')
    with transaction(ctx.sessions) as s:
        same = deploy(ctx, s, [Upload("approval_demo.bpmn", source.encode())], "owner")
        assert [(r.version, r.created) for r in same] == [(1, False)]
        new = deploy(ctx, s, [Upload("approval_demo.bpmn", changed.encode())], "owner")
        assert [(r.version, r.created) for r in new] == [(2, True)]
        model = model_view.model_detail(s, "approval_demo")
        assert [v["version"] for v in model["versions"]] == [2, 1]
        # The forms came along from version 1.
        assert "approval_submit.form" in model["versions"][0]["files"]
    inst2 = start(ctx, staff["alice"])
    assert (inst.version_number, inst2.version_number) == (1, 2)
    assert open_tasks(ctx, inst2.id)[0].name == "提交详细说明"
    assert open_tasks(ctx, inst.id)[0].name == "提交说明"
    [t] = open_tasks(ctx, inst.id)
    complete(ctx, staff["alice"], t.id, {"description": "old version still runs"})


@pytest.mark.parametrize(
    ("mutation", "expect"),
    [
        (lambda s: s.replace("amount &gt; 1000", "amount &gt;"), "gw_amount"),
        (lambda s: s.replace("decision = 'approve'", "import os"), "auto"),
        (
            lambda s: s.replace('value="approval_review.form"', 'value="missing.form"'),
            "missing.form",
        ),
        (lambda s: s.replace('id="record_note"', 'id="no_such_handler"'), "no_such_handler"),
        (lambda s: s.replace("<bpmn:process ", "<bpmn:proces "), "approval_demo.bpmn"),
        (lambda s: s.replace('name="策划部经理"', 'name="不存在的部门"'), "review"),
        (lambda s: s.replace('"PT1H"', "().__class__.__bases__"), "wait"),
        (
            lambda s: s.replace(
                '<bpmn:sequenceFlow id="f2" sourceRef="init" targetRef="submit"/>',
                '<bpmn:sequenceFlow id="f2" sourceRef="init" targetRef="submit">'
                "<bpmn:conditionExpression>amount &gt; 1</bpmn:conditionExpression>"
                "</bpmn:sequenceFlow>",
            ),
            "f2",
        ),
    ],
)
def test_invalid_upload_is_refused_and_old_version_stays(ctx, staff, mutation, expect):
    deploy_fixture(ctx)
    broken = mutation((MODELS / "approval_demo.bpmn").read_text())
    with transaction(ctx.sessions) as s, pytest.raises(InvalidModel) as err:
        deploy(ctx, s, [Upload("approval_demo.bpmn", broken.encode())], "owner")
    assert expect in err.value.message + json.dumps(err.value.details, ensure_ascii=False)
    with transaction(ctx.sessions) as s:
        assert model_view.model_detail(s, "approval_demo")["latest_version"] == 1
    inst = start(ctx, staff["alice"])
    assert inst.version_number == 1 and inst.status == "running"


def test_hostile_xml_is_refused(ctx):
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><bpmn:definitions '
        'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol2;</bpmn:definitions>'
    )
    xxe = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&e;'
        "</bpmn:definitions>"
    )
    for payload in (bomb, xxe):
        with transaction(ctx.sessions) as s, pytest.raises(InvalidModel) as err:
            deploy(ctx, s, [Upload("evil.bpmn", payload.encode())], "owner")
        assert "DOCTYPE" in err.value.message
    with transaction(ctx.sessions) as s, pytest.raises(InvalidModel, match="文件过大"):
        deploy(ctx, s, [Upload("huge.bpmn", b" " * (ctx.settings.max_model_bytes + 1))], "owner")


def test_raise_risk_message_starts_contingency_without_stopping(ctx, staff):
    deploy_fixture(ctx)
    inst = start(ctx, staff["alice"])
    [submit] = open_tasks(ctx, inst.id)
    complete(ctx, staff["alice"], submit.id, {"description": "x"})
    with transaction(ctx.sessions) as s:
        instances.send_message(ctx, s, staff["alice"], inst.id, "raise_risk", {"risk": "暴雨"})
    names = sorted(t.element_id for t in open_tasks(ctx, inst.id))
    assert names == ["handle_risk", "review"]
    with transaction(ctx.sessions) as s, pytest.raises(Conflict):
        instances.send_message(ctx, s, staff["alice"], inst.id, "no_such_message", {})


def test_state_round_trips_without_the_spec_and_keeps_dates(ctx, staff):
    from datetime import date

    from engine.store import instance_state as store

    deploy_fixture(ctx)
    inst = start(ctx, staff["alice"])
    with transaction(ctx.sessions) as s:
        record = s.get(InstanceRecord, inst.id)
        state = json.loads(record.state)
        assert state["planflow_format"] == "planflow-state/1"
        assert state["spec"] == "approval_demo"  # the name only, not the whole spec
        assert "subprocess_specs" not in state
        workflow, _ = store.restore(ctx, s, record, [])
        workflow.task_tree.data["on"] = date(2026, 3, 2)
        again = ctx.serializer.loads(ctx.serializer.dumps(workflow), workflow.spec, {})
        assert again.task_tree.data["on"] == date(2026, 3, 2)
        assert [str(t.id) for t in again.get_tasks()] == [str(t.id) for t in workflow.get_tasks()]
