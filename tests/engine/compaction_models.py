"""Building small BPMN models for the compaction tests: a process with one lane around a body
of elements, sequence flows, and a model parsed straight into planflow's ParsedModel (plain
SpiffWorkflow, no database)."""

from __future__ import annotations

from lxml import etree
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.bpmn.specs import ParsedModel

NS = (
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'
)


def process_model(process_id: str, body: str, lane_nodes: list[str]) -> str:
    refs = "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in lane_nodes)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NS} id="defs_{process_id}" targetNamespace="http://planflow.test">
  <bpmn:process id="{process_id}" name="{process_id}" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l_sup" name="策划主管">{refs}</bpmn:lane></bpmn:laneSet>
    {body}
  </bpmn:process>
</bpmn:definitions>"""


def flow(fid: str, src: str, dst: str) -> str:
    return f'<bpmn:sequenceFlow id="{fid}" sourceRef="{src}" targetRef="{dst}"/>'


def parsed(xml: str, process_id: str) -> ParsedModel:
    parser = SpiffBpmnParser()
    parser.add_bpmn_xml(etree.fromstring(xml.encode()), filename=f"{process_id}.bpmn")
    return ParsedModel(
        process_id,
        process_id,
        f"{process_id}.bpmn",
        parser.get_spec(process_id),
        parser.get_subprocess_specs(process_id),
        {},
        {},
        None,
    )
