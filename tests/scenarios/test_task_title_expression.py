"""`titleExpression` (a user-task property, engine.store.task_properties.task_title): each task
instance is named by the expression over its own data when it opens — one name per item of a
multi-instance task. A failing expression leaves the element's name and a warning incident;
deploying refuses one that does not compile."""

from __future__ import annotations

from typing import Any

import pytest

from engine.clock import FixedClock
from engine.context import EngineContext
from engine.errors import InvalidModel
from engine.store.db import transaction
from engine.usecases.deploy import Upload, deploy
from tests.scenarios import Api

MODEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs_titles" targetNamespace="http://planflow.test">
  <bpmn:process id="titles" name="titles" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="review" name="逐人审阅">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="candidateGroups" value="admin"/>
        <spiffworkflow:property name="titleExpression" value="{title}"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:property id="people" name="people"/>
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopDataInputRef>people</bpmn:loopDataInputRef>
        <bpmn:inputDataItem id="person" name="person"/>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def deploy_titles(ctx: EngineContext, title: str) -> None:
    content = MODEL.format(title=title.replace("'", "&apos;")).encode()
    with transaction(ctx.sessions) as session:
        deploy(ctx, session, [Upload("titles.bpmn", content)], "owner")


@pytest.fixture
def api(client: Any, token_for: Any, api_staff: Any, clock: FixedClock) -> Api:
    return Api(client, token_for, clock)


def test_each_instance_is_named_by_its_own_data(api: Api, scenario_ctx: EngineContext) -> None:
    deploy_titles(scenario_ctx, "'审阅：' + person['name'] + '（' + department + '）'")
    started = api.start(
        "root", "titles", {"people": [{"name": "张三"}, {"name": "李四"}], "department": "策划部"}
    )
    assert sorted(t["name"] for t in started["open_tasks"]) == [
        "审阅：张三（策划部）",
        "审阅：李四（策划部）",
    ]
    assert started["incidents"] == []


def test_a_failing_title_leaves_the_step_name_and_a_warning(
    api: Api, scenario_ctx: EngineContext
) -> None:
    deploy_titles(scenario_ctx, "'审阅：' + person['missing']")
    started = api.start("root", "titles", {"people": [{"name": "张三"}]})
    assert [t["name"] for t in started["open_tasks"]] == ["逐人审阅"]
    [incident] = started["incidents"]
    assert "titleExpression" in incident["message"] and incident["resolved_at"]
    assert started["status"] == "running"


def test_deploying_refuses_a_title_that_does_not_compile(scenario_ctx: EngineContext) -> None:
    with pytest.raises(InvalidModel, match="titleExpression"):
        deploy_titles(scenario_ctx, "'审阅：' +")
