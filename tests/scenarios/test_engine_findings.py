"""Engine misbehaviour met while writing the scenarios, kept as regression tests now that it
is fixed: read-only form fields keep the process's value; a timer due exactly "now" fires."""

from __future__ import annotations

import json
from typing import Any

from engine.clock import FixedClock
from engine.context import EngineContext
from engine.store.db import transaction
from engine.usecases.deploy import Upload, deploy
from tests.scenarios import Api, add_extra_staff, deploy_department_models, fire_timers

TIMER_MODEL = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs_finding_timer" targetNamespace="http://planflow.test">
  <bpmn:process id="finding_timer" name="one hour timer" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition id="td">
        <bpmn:timeDuration>"PT1H"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="after" name="after the timer">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="candidateGroups" value="admin"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="after"/>
    <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


READONLY_MODEL = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs_finding_readonly" targetNamespace="http://planflow.test">
  <bpmn:process id="finding_readonly" name="readonly field" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="approve" name="approve">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formFile" value="finding_readonly.form"/>
        <spiffworkflow:property name="candidateGroups" value="admin"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="next" name="next">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="candidateGroups" value="admin"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approve"/>
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="next"/>
    <bpmn:sequenceFlow id="f3" sourceRef="next" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
# Like budget_approval.form: the amount and the approver group are shown read-only.
READONLY_FORM = json.dumps(
    {
        "type": "default",
        "id": "Form_finding_readonly",
        "schemaVersion": 16,
        "components": [
            {"type": "number", "key": "budget", "label": "预算", "id": "F1", "readonly": True},
            {
                "type": "textfield",
                "key": "approver_group",
                "label": "审批层级",
                "id": "F2",
                "readonly": True,
            },
            {
                "type": "radio",
                "key": "decision",
                "label": "结论",
                "id": "F3",
                "values": [{"label": "批准", "value": "approve"}],
                "validate": {"required": True},
            },
        ],
    }
).encode()


def test_readonly_fields_keep_the_process_value(
    scenario_ctx: EngineContext, client: Any, token_for: Any, api_staff: Any, clock: FixedClock
) -> None:
    uploads = [
        Upload("finding_readonly.bpmn", READONLY_MODEL),
        Upload("finding_readonly.form", READONLY_FORM),
    ]
    with transaction(scenario_ctx.sessions) as session:
        deploy(scenario_ctx, session, uploads, "owner")
    api = Api(client, token_for, clock)
    iid = api.start(
        "root", "finding_readonly", {"budget": 120000, "approver_group": "planning_manager"}
    )["id"]
    instance = api.do("root", iid, "approve", {"decision": "approve"})
    assert instance["data"]["decision"] == "approve"
    assert instance["data"]["budget"] == 120000
    assert instance["data"]["approver_group"] == "planning_manager"


def test_timer_due_exactly_now_fires(
    scenario_ctx: EngineContext, client: Any, token_for: Any, api_staff: Any, clock: FixedClock
) -> None:
    with transaction(scenario_ctx.sessions) as session:
        deploy(scenario_ctx, session, [Upload("finding_timer.bpmn", TIMER_MODEL)], "owner")
    api = Api(client, token_for, clock)
    iid = api.start("root", "finding_timer", {})["id"]
    clock.advance(hours=1)  # exactly the due time
    report = fire_timers(scenario_ctx)
    detail = api.instance("root", iid)
    fired = [a for a in detail["audit"] if a["action"] == "timer_fired"]
    assert report.woken == [iid] and len(fired) == 1
    assert [t["element_id"] for t in detail["open_tasks"]] == ["after"]
    assert detail["timers"] == []


def test_the_same_timer_fires_a_moment_later(
    scenario_ctx: EngineContext, client: Any, token_for: Any, api_staff: Any, clock: FixedClock
) -> None:
    """Control for the finding above: one second after the due time all is well."""
    with transaction(scenario_ctx.sessions) as session:
        deploy(scenario_ctx, session, [Upload("finding_timer.bpmn", TIMER_MODEL)], "owner")
    api = Api(client, token_for, clock)
    iid = api.start("root", "finding_timer", {})["id"]
    clock.advance(hours=1, seconds=1)
    fire_timers(scenario_ctx)
    detail = api.instance("root", iid)
    assert [t["element_id"] for t in detail["open_tasks"]] == ["after"]
    assert detail["timers"] == []


def test_each_guest_confirmation_task_shows_its_own_guest(
    scenario_ctx: EngineContext, client: Any, token_for: Any, api_staff: Any, clock: FixedClock
) -> None:
    add_extra_staff(scenario_ctx)
    deploy_department_models(scenario_ctx)
    api = Api(client, token_for, clock)
    iid = api.start(
        "sup",
        "product_launch",
        {
            "event_name": "发布会",
            "theme": "主题",
            "event_date": "2026-04-15T14:00",
            "venue": "上海",
        },
    )["id"]
    names = ["李记者", "王总", "小周"]
    api.do(
        "alice",
        iid,
        "Task_guest_list",
        {
            "guests": [{"guest_name": n, "guest_type": "client"} for n in names],
            "invitation_methods": ["electronic"],
        },
    )
    tasks = api.tasks("alice", iid, "Task_guest_confirmation")
    shown = {
        api.get("alice", f"/tasks/{t['id']}").get_json()["data"]["guest"]["guest_name"]
        for t in tasks
    }
    assert shown == set(names)
