"""SpiffWorkflow runs diagram code through the sandbox: script tasks, gateway conditions and DMN
cells, and what a refused or runaway script does to its task.

No Flask: SpiffWorkflow 3.2.0 runs with the restricted environment on a tiny BPMN and a tiny DMN
written inline.
"""

from __future__ import annotations

import time
from typing import Any
from xml.sax.saxutils import escape

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.sandbox import RestrictedEnvironment
from engine.sandbox.diagram_helpers import make_helpers
from tests.engine.script_helpers import (  # noqa: F401  (fixtures)
    SHORT,
    env_fixture,
    fixed_clock,
    pool_fixture,
    short_env_fixture,
)

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs_sandbox" targetNamespace="planflow-tests">
  <bpmn:process id="sandboxed" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="calc" name="Calculate">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="gw" default="f_low">
      <bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f_high</bpmn:outgoing><bpmn:outgoing>f_low</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:scriptTask id="high"><bpmn:incoming>f_high</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing><bpmn:script>route = 'high'</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="low"><bpmn:incoming>f_low</bpmn:incoming>
      <bpmn:outgoing>f4</bpmn:outgoing><bpmn:script>route = 'low'</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end_high"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_low"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="calc"/>
    <bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="gw"/>
    <bpmn:sequenceFlow id="f_high" sourceRef="gw" targetRef="high">
      <bpmn:conditionExpression>{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_low" sourceRef="gw" targetRef="low"/>
    <bpmn:sequenceFlow id="f3" sourceRef="high" targetRef="end_high"/>
    <bpmn:sequenceFlow id="f4" sourceRef="low" targetRef="end_low"/>
  </bpmn:process>
</bpmn:definitions>
"""


GOOD_SCRIPT = """total = 0
for line in lines:
    total += line["qty"] * line["price"]
due = add_workdays(today(), 3).isoformat()
summary = f"{len(lines)} lines, total {total:,.2f}"
"""


def make_workflow(
    environment: RestrictedEnvironment,
    script: str = GOOD_SCRIPT,
    condition: str = "total > 1000",
    **data: Any,
) -> BpmnWorkflow:
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(BPMN.format(script=escape(script), condition=escape(condition)).encode())
    workflow = BpmnWorkflow(
        parser.get_spec("sandboxed"),
        parser.get_subprocess_specs("sandboxed"),
        script_engine=PythonScriptEngine(environment=environment),
    )
    workflow.task_tree.data.update(data)
    return workflow


def errored_task(workflow: BpmnWorkflow, bpmn_id: str) -> Any:
    [task] = [t for t in workflow.get_tasks(state=TaskState.ERROR)]
    assert task.task_spec.bpmn_id == bpmn_id
    return task


@pytest.mark.parametrize(
    ("lines", "route"),
    [([{"qty": 3, "price": 500.0}], "high"), ([{"qty": 1, "price": 20.5}], "low")],
)
def test_bpmn_script_and_gateway_run_in_the_sandbox(
    env: RestrictedEnvironment, lines: list[dict[str, Any]], route: str
) -> None:
    workflow = make_workflow(env, lines=lines)
    workflow.do_engine_steps()
    assert workflow.is_completed()
    assert workflow.data["route"] == route
    assert workflow.data["due"] == "2025-03-06"
    assert workflow.data["summary"].startswith("1 lines, total ")


@pytest.mark.parametrize(
    ("script", "cause"),
    [
        ("x = ().__class__.__bases__[0].__subclasses__()", "ScriptCompileError"),
        ("import os\nos.system('id')", "ScriptCompileError"),
        ("secrets = open('/etc/passwd').read()", "ScriptSecurityError"),
        ("x = getattr(lines, '__class__')", "ScriptSecurityError"),
        ("x = {}[5]", "ScriptError"),
    ],
)
def test_escaping_script_puts_the_task_in_error(
    env: RestrictedEnvironment, script: str, cause: str
) -> None:
    workflow = make_workflow(env, script=script, lines=[])
    with pytest.raises(WorkflowTaskException) as info:
        workflow.do_engine_steps()
    assert cause in str(info.value)
    errored_task(workflow, "calc")
    assert not workflow.is_completed()


def test_runaway_script_puts_the_task_in_error(short_env: RestrictedEnvironment) -> None:
    workflow = make_workflow(short_env, script="while True:\n    pass", lines=[])
    started = time.monotonic()
    with pytest.raises(WorkflowTaskException, match="ScriptTimeout"):
        workflow.do_engine_steps()
    assert time.monotonic() - started < SHORT + 0.5
    errored_task(workflow, "calc")


def test_escaping_gateway_condition_fails_the_step(env: RestrictedEnvironment) -> None:
    workflow = make_workflow(env, condition="getattr(total, '__class__')", lines=[])
    with pytest.raises(WorkflowTaskException):
        workflow.do_engine_steps()
    assert not workflow.is_completed()


def test_errored_task_can_be_retried_after_fixing_data(env: RestrictedEnvironment) -> None:
    workflow = make_workflow(env, script="total = lines[0]['qty']", lines=[])
    with pytest.raises(WorkflowTaskException):
        workflow.do_engine_steps()
    task = errored_task(workflow, "calc")
    task.parent.data["lines"] = [{"qty": 2000}]  # the reset task inherits its parent's data
    workflow.reset_from_task_id(task.id)
    workflow.do_engine_steps()
    assert workflow.is_completed() and workflow.data["route"] == "high"


DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"
    id="defs_budget" name="Budget" namespace="planflow-tests">
  <decision id="approval_level" name="Approval level">
    <decisionTable id="table" hitPolicy="UNIQUE">
      <input id="in_amount" label="Amount">
        <inputExpression id="in_amount_expr" typeRef="number"><text>amount</text></inputExpression>
      </input>
      <output id="out_level" label="Level" name="level" typeRef="string"/>
      <rule id="r_manager">
        <inputEntry id="r_manager_in"><text>{first_cell}</text></inputEntry>
        <outputEntry id="r_manager_out"><text>"manager"</text></outputEntry>
      </rule>
      <rule id="r_director">
        <inputEntry id="r_director_in"><text>&gt; 50000</text></inputEntry>
        <outputEntry id="r_director_out"><text>"director"</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>
"""


BPMN_DMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs_rule" targetNamespace="planflow-tests">
  <bpmn:process id="rule" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="decide">
      <bpmn:extensionElements>
        <spiffworkflow:calledDecisionId>approval_level</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide"/>
    <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


class RecordingEnvironment(RestrictedEnvironment):
    def __init__(self) -> None:
        super().__init__(make_helpers(fixed_clock))
        self.expressions: list[str] = []

    def evaluate(self, expression: str, context: Any, external_context: Any | None = None) -> Any:
        self.expressions.append(expression)
        return super().evaluate(expression, context, external_context)


def run_decision(environment: RestrictedEnvironment, amount: int, first_cell: str) -> BpmnWorkflow:
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(BPMN_DMN.encode())
    parser.add_dmn_str(DMN.format(first_cell=escape(first_cell)).encode())
    workflow = BpmnWorkflow(
        parser.get_spec("rule"),
        parser.get_subprocess_specs("rule"),
        script_engine=PythonScriptEngine(environment=environment),
    )
    workflow.task_tree.data["amount"] = amount
    workflow.do_engine_steps()
    return workflow


@pytest.mark.parametrize(("amount", "level"), [(42000, "manager"), (80000, "director")])
def test_dmn_cells_are_evaluated_by_the_environment(amount: int, level: str) -> None:
    environment = RecordingEnvironment()
    workflow = run_decision(environment, amount, "<= 50000")
    assert workflow.is_completed()
    assert workflow.data["level"] == level
    assert any("<= 50000" in expression for expression in environment.expressions)
    assert '"manager"' in environment.expressions or '"director"' in environment.expressions


def test_dmn_cells_cannot_escape() -> None:
    environment = RecordingEnvironment()
    with pytest.raises(WorkflowTaskException):
        run_decision(environment, 42000, "().__class__.__bases__[0].__subclasses__()")
    with pytest.raises(WorkflowTaskException):
        run_decision(environment, 42000, "<= len(open('/etc/passwd').read())")
