"""A script's long integer (beyond 64 bits, within Python's 4,300 digits) is data like any other:
the instance's data column, its audit entries and what the API answers hold it exactly, as the
engine state does. orjson read such numbers back as floats (2**70 + 1 became
1.1805916207174113e+21), so the projection of the data differed from the state it came from.
On SQLite and on PostgreSQL."""

from __future__ import annotations

import json

from sqlalchemy import select

from engine import jsoncodec
from engine.read import queries
from engine.store.db import transaction
from engine.store.tables import AuditRecord, InstanceRecord
from engine.usecases import instances
from engine.usecases.deploy import Upload, deploy

BIG = 2**70 + 1
LOW = -(2**63) - 1

MODEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d_big"
    targetNamespace="http://planflow.test">
  <bpmn:process id="big_numbers" name="大数" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="t" name="计算"><bpmn:incoming>f</bpmn:incoming>
      <bpmn:outgoing>g</bpmn:outgoing>
      <bpmn:script>serial = 2 ** 70 + 1
parts = [-(2 ** 63) - 1, 7]</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="u" name="核对"><bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="candidateGroups" value="planning_specialist"/>
      </spiffworkflow:properties></bpmn:extensionElements><bpmn:incoming>g</bpmn:incoming>
      <bpmn:outgoing>h</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>h</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t"/>
    <bpmn:sequenceFlow id="g" sourceRef="t" targetRef="u"/>
    <bpmn:sequenceFlow id="h" sourceRef="u" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_scripts_long_integer_stays_an_integer_everywhere(ctx, staff):
    with transaction(ctx.sessions) as s:
        deploy(ctx, s, [Upload("big_numbers.bpmn", MODEL.encode())], "owner")
    with transaction(ctx.sessions) as s:
        instance_id = instances.start(ctx, s, staff["alice"], "big_numbers", {"title": "大数"}).id
    with transaction(ctx.sessions) as s:  # a fresh session: read back from the database
        record = s.get(InstanceRecord, instance_id)
        assert repr(record.data["serial"]) == repr(BIG)
        assert repr(record.data["parts"]) == repr([LOW, 7])
        answer = queries.get_instance(ctx, s, staff["alice"], instance_id)
        task_id = answer["open_tasks"][0]["id"]
        text = jsoncodec.dumps(answer)  # what the API sends
        assert json.loads(text)["data"]["serial"] == BIG
        assert str(BIG) in text and str(LOW) in text
    with transaction(ctx.sessions) as s:
        instances.complete(ctx, s, staff["alice"], task_id, {"checked": True})
    with transaction(ctx.sessions) as s:
        record = s.get(InstanceRecord, instance_id)
        assert record.status == "completed"
        assert repr(record.data["serial"]) == repr(BIG)
        done = s.scalars(select(AuditRecord).where(
            AuditRecord.instance_id == instance_id, AuditRecord.action == "completed")).all()
        assert done
