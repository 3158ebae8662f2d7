"""Building small BPMN models for the compaction tests: a process with one lane around a body
of elements, sequence flows, and a model parsed straight into planflow's ParsedModel (plain
SpiffWorkflow, no database); and the models they run."""

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


# draft → monitor (weekly cycle: weekly → gen → weekly_end) → review → end
WEEKLY_LOOP = process_model(
    "weekly_loop",
    """
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="draft" name="起草"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="monitor" name="执行监控"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="every" name="每周" attachedToRef="monitor" cancelActivity="false">
      <bpmn:outgoing>fw1</bpmn:outgoing>
      <bpmn:timerEventDefinition id="td"><bpmn:timeCycle>"R/P7D"</bpmn:timeCycle>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="weekly" name="周报"><bpmn:incoming>fw1</bpmn:incoming>
      <bpmn:outgoing>fw2</bpmn:outgoing></bpmn:userTask>
    <bpmn:scriptTask id="gen" name="生成周报"><bpmn:incoming>fw2</bpmn:incoming>
      <bpmn:outgoing>fw3</bpmn:outgoing>
      <bpmn:script>report_doc = "周报-" + overall_status</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="weekly_end"><bpmn:incoming>fw3</bpmn:incoming></bpmn:endEvent>
    <bpmn:userTask id="review" name="验收"><bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    """
    + flow("f1", "start", "draft")
    + flow("f2", "draft", "monitor")
    + flow("f3", "monitor", "review")
    + flow("f4", "review", "end")
    + flow("fw1", "every", "weekly")
    + flow("fw2", "weekly", "gen")
    + flow("fw3", "gen", "weekly_end"),
    ["draft", "monitor", "weekly", "review"],
)

# start → fork → [monitor (weekly cycle), other] → join → final → end
PARALLEL_LOOP = process_model(
    "parallel_loop",
    """
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="fork"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>fa</bpmn:outgoing><bpmn:outgoing>fb</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:userTask id="monitor" name="执行监控"><bpmn:incoming>fa</bpmn:incoming>
      <bpmn:outgoing>fa2</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="every" attachedToRef="monitor" cancelActivity="false">
      <bpmn:outgoing>fw1</bpmn:outgoing>
      <bpmn:timerEventDefinition id="td"><bpmn:timeCycle>"R/P7D"</bpmn:timeCycle>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="weekly" name="周报"><bpmn:incoming>fw1</bpmn:incoming>
      <bpmn:outgoing>fw2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="weekly_end"><bpmn:incoming>fw2</bpmn:incoming></bpmn:endEvent>
    <bpmn:userTask id="other" name="另一分支"><bpmn:incoming>fb</bpmn:incoming>
      <bpmn:outgoing>fb2</bpmn:outgoing></bpmn:userTask>
    <bpmn:parallelGateway id="join"><bpmn:incoming>fa2</bpmn:incoming>
      <bpmn:incoming>fb2</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:userTask id="final" name="收尾"><bpmn:incoming>f5</bpmn:incoming>
      <bpmn:outgoing>f6</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>
    """
    + flow("f1", "start", "fork")
    + flow("fa", "fork", "monitor")
    + flow("fb", "fork", "other")
    + flow("fa2", "monitor", "join")
    + flow("fb2", "other", "join")
    + flow("f5", "join", "final")
    + flow("f6", "final", "end")
    + flow("fw1", "every", "weekly")
    + flow("fw2", "weekly", "weekly_end"),
    ["monitor", "weekly", "other", "final"],
)

# The weekly branch has its own parallel split and join (a and b in parallel). A script task
# comes first: a parallel gateway right after a cycle event waits for the event to complete.
INNER_JOIN_LOOP = process_model(
    "inner_join_loop",
    """
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="monitor"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="every" attachedToRef="monitor" cancelActivity="false">
      <bpmn:outgoing>fw1</bpmn:outgoing>
      <bpmn:timerEventDefinition id="td"><bpmn:timeCycle>"R/P7D"</bpmn:timeCycle>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:scriptTask id="prep"><bpmn:incoming>fw1</bpmn:incoming>
      <bpmn:outgoing>fw0</bpmn:outgoing><bpmn:script>week_started = True</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:parallelGateway id="wfork"><bpmn:incoming>fw0</bpmn:incoming>
      <bpmn:outgoing>fwa</bpmn:outgoing><bpmn:outgoing>fwb</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:userTask id="a"><bpmn:incoming>fwa</bpmn:incoming><bpmn:outgoing>fwa2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="b"><bpmn:incoming>fwb</bpmn:incoming><bpmn:outgoing>fwb2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:parallelGateway id="wjoin"><bpmn:incoming>fwa2</bpmn:incoming>
      <bpmn:incoming>fwb2</bpmn:incoming><bpmn:outgoing>fw3</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:endEvent id="weekly_end"><bpmn:incoming>fw3</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    """
    + flow("f1", "start", "monitor")
    + flow("f2", "monitor", "end")
    + flow("fw1", "every", "prep")
    + flow("fw0", "prep", "wfork")
    + flow("fwa", "wfork", "a")
    + flow("fwb", "wfork", "b")
    + flow("fwa2", "a", "wjoin")
    + flow("fwb2", "b", "wjoin")
    + flow("fw3", "wjoin", "weekly_end"),
    ["monitor", "a", "b"],
)


# A call activity per week: the called process's workflow goes with its pruned branch.
CALL_LOOP = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NS} id="defs_call_loop" targetNamespace="http://planflow.test">
  <bpmn:process id="call_loop" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="monitor"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="every" attachedToRef="monitor" cancelActivity="false">
      <bpmn:outgoing>fw1</bpmn:outgoing>
      <bpmn:timerEventDefinition id="td"><bpmn:timeCycle>"R/P7D"</bpmn:timeCycle>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:callActivity id="call_weekly" calledElement="weekly_proc">
      <bpmn:incoming>fw1</bpmn:incoming><bpmn:outgoing>fw2</bpmn:outgoing></bpmn:callActivity>
    <bpmn:endEvent id="weekly_end"><bpmn:incoming>fw2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    {flow("f1", "start", "monitor")}{flow("f2", "monitor", "end")}
    {flow("fw1", "every", "call_weekly")}{flow("fw2", "call_weekly", "weekly_end")}
  </bpmn:process>
  <bpmn:process id="weekly_proc" isExecutable="true">
    <bpmn:startEvent id="ws"><bpmn:outgoing>g1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="report"><bpmn:incoming>g1</bpmn:incoming>
      <bpmn:outgoing>g2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="we"><bpmn:incoming>g2</bpmn:incoming></bpmn:endEvent>
    {flow("g1", "ws", "report")}{flow("g2", "report", "we")}
  </bpmn:process>
</bpmn:definitions>"""
