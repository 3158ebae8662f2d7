"""Static checks of the BPMN files in ``bpmn/`` as models and as diagrams: they parse with schema
validation, have one pool with a lane per role, complete and tidy diagram interchange, references
that resolve, and exclusive gateways with a default."""

from __future__ import annotations

import itertools

import pytest
from lxml import etree
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from tests.engine.bpmn_files import NS, PROCESS_KEYS, load_xml
from tests.engine.bpmn_harness import make_parser

ROLE_GROUPS = {
    "策划部经理": "planning_manager",
    "策划主管": "planning_supervisor",
    "策划专员": "planning_specialist",
    "需求部门": "requester",
    "财务部": "finance",
    "法务部": "legal",
    "设计部": "design",
    "销售部": "sales",
    "技术部": "tech",
    "公司高层": "executive",
}
FLOW_NODE_TAGS = {
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "task",
    "userTask",
    "serviceTask",
    "scriptTask",
    "businessRuleTask",
    "receiveTask",
    "sendTask",
    "manualTask",
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
    "eventBasedGateway",
    "subProcess",
    "callActivity",
}


@pytest.fixture(scope="module")
def parser() -> SpiffBpmnParser:
    return make_parser()


def test_files_parse_with_schema_validation(parser):
    for key in PROCESS_KEYS:
        spec = parser.get_spec(key)
        assert spec.name == key
        process = load_xml(key).find(".//bpmn:process", NS)
        assert process.get("id") == key
        assert process.get("isExecutable") == "true"
    assert "budget_approval" in parser.dmn_parsers


@pytest.mark.parametrize("key", PROCESS_KEYS)
def test_collaboration_pool_and_lanes(key):
    doc = load_xml(key)
    participants = doc.findall(".//bpmn:collaboration/bpmn:participant", NS)
    assert [p.get("processRef") for p in participants] == [key]
    lanes = doc.findall(".//bpmn:process/bpmn:laneSet/bpmn:lane", NS)
    names = [lane.get("name") for lane in lanes]
    assert names and set(names) <= set(ROLE_GROUPS), names
    assert len(names) == len(set(names)), "one lane per role"
    process = doc.find(".//bpmn:process", NS)
    nodes = [el.get("id") for el in process if etree.QName(el).localname in FLOW_NODE_TAGS]
    refs = [ref.text for lane in lanes for ref in lane.findall("bpmn:flowNodeRef", NS)]
    assert sorted(refs) == sorted(nodes), "every flow node is in exactly one lane"


def _bounds(shape):
    b = shape.find("dc:Bounds", NS)
    return tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))


def _overlap(a, b):
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _inside(inner, outer, tol=0.0):
    return (
        inner[0] >= outer[0] - tol
        and inner[1] >= outer[1] - tol
        and inner[0] + inner[2] <= outer[0] + outer[2] + tol
        and inner[1] + inner[3] <= outer[1] + outer[3] + tol
    )


@pytest.mark.parametrize("key", PROCESS_KEYS)
def test_diagram_interchange_is_complete(key):
    doc = load_xml(key)
    process = doc.find(".//bpmn:process", NS)
    shapes = {s.get("bpmnElement"): s for s in doc.iter(f"{{{NS['bpmndi']}}}BPMNShape")}
    edges = {e.get("bpmnElement"): e for e in doc.iter(f"{{{NS['bpmndi']}}}BPMNEdge")}
    plane = doc.find(".//bpmndi:BPMNPlane", NS)
    assert plane.get("bpmnElement") == doc.find(".//bpmn:collaboration", NS).get("id")

    participant = doc.find(".//bpmn:participant", NS).get("id")
    assert participant in shapes
    pool = _bounds(shapes[participant])
    lanes = doc.findall(".//bpmn:lane", NS)
    for lane in lanes:
        assert lane.get("id") in shapes, f"lane {lane.get('id')} has no shape"
        assert _inside(_bounds(shapes[lane.get("id")]), pool)

    nodes = {el.get("id"): el for el in process if etree.QName(el).localname in FLOW_NODE_TAGS}
    for node_id in nodes:
        assert node_id in shapes, f"{node_id} has no BPMNShape"
        assert _inside(_bounds(shapes[node_id]), pool)

    flows = process.findall("bpmn:sequenceFlow", NS)
    for flow in flows:
        fid = flow.get("id")
        assert fid in edges, f"{fid} has no BPMNEdge"
        points = [
            (float(w.get("x")), float(w.get("y"))) for w in edges[fid].findall("di:waypoint", NS)
        ]
        assert len(points) >= 2, fid
        src, tgt = _bounds(shapes[flow.get("sourceRef")]), _bounds(shapes[flow.get("targetRef")])
        assert _inside((*points[0], 0, 0), src, tol=2), f"{fid} does not start at its source"
        assert _inside((*points[-1], 0, 0), tgt, tol=2), f"{fid} does not end at its target"

    hosts = {
        el.get("id"): el.get("attachedToRef") for el in process.findall("bpmn:boundaryEvent", NS)
    }
    for lane in lanes:
        lane_box = _bounds(shapes[lane.get("id")])
        members = [ref.text for ref in lane.findall("bpmn:flowNodeRef", NS)]
        for member in members:
            assert _inside(_bounds(shapes[member]), lane_box), f"{member} outside its lane"
        for a, b in itertools.combinations(members, 2):
            if hosts.get(a) == b or hosts.get(b) == a:
                continue
            assert not _overlap(_bounds(shapes[a]), _bounds(shapes[b])), f"{a} overlaps {b}"


@pytest.mark.parametrize("key", PROCESS_KEYS)
def test_references_resolve(key):
    """bpmn.io silently drops references it cannot resolve when it saves a diagram (e.g. a
    loopDataInputRef naming a plain task-data variable), so every reference must be an id."""
    doc = load_xml(key)
    ids = {el.get("id") for el in doc.iter() if isinstance(el.tag, str) and el.get("id")}
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        for attr in (
            "messageRef",
            "signalRef",
            "attachedToRef",
            "sourceRef",
            "targetRef",
            "default",
            "processRef",
            "bpmnElement",
        ):
            if el.get(attr) is not None:
                assert el.get(attr) in ids, (el.get("id"), attr, el.get(attr))
        if etree.QName(el).localname in ("loopDataInputRef", "loopDataOutputRef", "flowNodeRef"):
            assert el.text in ids, (etree.QName(el).localname, el.text)


@pytest.mark.parametrize("key", PROCESS_KEYS)
def test_gateways_have_defaults_and_conditions(key):
    process = load_xml(key).find(".//bpmn:process", NS)
    flows = process.findall("bpmn:sequenceFlow", NS)
    for gateway in process.findall("bpmn:exclusiveGateway", NS):
        outgoing = [f for f in flows if f.get("sourceRef") == gateway.get("id")]
        if len(outgoing) < 2:
            continue
        default = gateway.get("default")
        assert default in {f.get("id") for f in outgoing}, f"{gateway.get('id')} needs a default"
        for flow in outgoing:
            if flow.get("id") != default:
                assert flow.find("bpmn:conditionExpression", NS) is not None, flow.get("id")
