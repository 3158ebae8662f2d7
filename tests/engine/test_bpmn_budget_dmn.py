"""The budget decision table ``bpmn/budget_approval.dmn``: its structure, and which approver group
each budget gets, exactly one rule matching."""

from __future__ import annotations

import pytest
from lxml import etree
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from tests.engine.bpmn_files import DMN_FILE, NS
from tests.engine.bpmn_harness import make_parser
from tests.engine.bpmn_scripts import FakeServiceEngine


@pytest.fixture(scope="module")
def parser() -> SpiffBpmnParser:
    return make_parser()


def test_dmn_structure():
    doc = etree.parse(str(DMN_FILE))
    decision = doc.find(".//dmn:decision", NS)
    assert decision.get("id") == "budget_approval"
    table = decision.find("dmn:decisionTable", NS)
    assert table.get("hitPolicy") == "UNIQUE"
    assert table.find("dmn:input/dmn:inputExpression/dmn:text", NS).text == "budget"
    assert table.find("dmn:output", NS).get("name") == "approver_group"
    assert doc.find(".//{https://www.omg.org/spec/DMN/20191111/DMNDI/}DMNShape") is not None


@pytest.mark.parametrize(
    ("budget", "group"),
    [
        (1, "planning_supervisor"),
        (50000, "planning_supervisor"),
        (50000.01, "planning_manager"),
        (120000, "planning_manager"),
        (200000, "planning_manager"),
        (200001, "executive"),
        (5_000_000, "executive"),
    ],
)
def test_dmn_budget_tiers(parser, budget, group):
    engine = parser.get_engine("budget_approval", None)
    task = type("T", (), {})()
    task.data = {"budget": budget}
    task.workflow = type("W", (), {"script_engine": FakeServiceEngine()})()
    matches = engine.decide(task)
    assert len(matches) == 1, "rules must not overlap (UNIQUE)"
    assert engine.result(task) == {"approver_group": group}
