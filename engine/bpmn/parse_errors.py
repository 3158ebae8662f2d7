"""A BPMN file SpiffWorkflow cannot parse, said in Chinese and naming the element.

Two parts:

* ``flow_problems`` runs before the parser. A sequence flow whose ``sourceRef`` or ``targetRef``
  names no element of its own process (deleted, mistyped, or in another sub-process) makes
  SpiffWorkflow say "When looking for a task spec, we found two items, perhaps a form has the
  same ID?" — or, for a missing source, nothing at all: the flow is silently ignored. Here each
  one is a problem naming the flow, where it comes from and what it points to.
* ``parser_error`` turns what the XSD validation and SpiffWorkflow's parser still refuse into
  an ``InvalidModel`` whose problem says the same in Chinese (English kept in ``message_en``),
  with the element's id, name and line.
"""

from __future__ import annotations

import re
from typing import Any, Final

from lxml import etree
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.bpmn.problems import Problem, Said, element_label
from engine.errors import InvalidModel

BPMN_NS: Final = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_B: Final = f"{{{BPMN_NS}}}"
CONTAINERS: Final = frozenset({"process", "subProcess", "transaction", "adHocSubProcess"})
FLOW_NODES: Final = frozenset({
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
    "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
    "boundaryEvent", "exclusiveGateway", "parallelGateway", "inclusiveGateway",
    "eventBasedGateway", "complexGateway",
})


def _local(el: Any) -> str:
    tag = el.tag if isinstance(el.tag, str) else ""
    return tag.removeprefix(_B) if tag.startswith(_B) else ""


def _label(el: Any | None, ident: str) -> str:
    """「名称」(id) — or the bare id between spaces, so it reads apart from the Chinese."""
    name = " ".join((el.get("name") or "").split()) if el is not None else ""
    return element_label(ident, name) if name else f" {ident} "


def flow_problems(root: Any, filename: str) -> list[Problem]:
    """Sequence flows whose ends are not elements of the flow's own process or sub-process."""
    everywhere = {el.get("id"): el for el in root.iter() if _local(el) in FLOW_NODES}
    problems = []
    for container in root.iter():
        if _local(container) not in CONTAINERS:
            continue
        here = {el.get("id"): el for el in container if _local(el) in FLOW_NODES}
        for flow in container.iterchildren(f"{_B}sequenceFlow"):
            problem = _flow_problem(flow, here, everywhere, filename)
            if problem is not None:
                problems.append(problem)
    return problems


def _flow_problem(
    flow: Any, here: dict[str, Any], everywhere: dict[str, Any], filename: str
) -> Problem | None:
    ident = flow.get("id") or ""
    name = " ".join((flow.get("name") or "").split()) or None
    source, target = flow.get("sourceRef") or "", flow.get("targetRef") or ""
    line = f"（第 {flow.sourceline} 行）" if flow.sourceline else ""
    for end, ref, other in (("终点", target, source), ("起点", source, target)):
        if ref in here:
            continue
        en_end = "target" if end == "终点" else "source"
        side = (f"从{_label(here.get(other), other)}出发" if end == "终点"
                else f"指向{_label(here.get(other), other)}".rstrip())
        if not ref:
            said = Said(f"连线（{side}）没有{end}{line}：请把它连到一个环节上，或删除它",
                        f"sequence flow has no {en_end}Ref")
        elif ref in everywhere:
            said = Said(
                f"连线（{side}）的{end}{_label(everywhere[ref], ref)}在另一个流程或子流程里"
                f"{line}：连线只能连接同一流程（子流程）内的元素",
                f"sequence flow {en_end} {ref!r} is in another process or sub-process",
            )
        else:
            said = Said(
                f"连线（{side}）的{end}“{ref}”不存在{line}：它指向的元素已被删除或 id 写错了，"
                "请重新连线或删除这条连线",
                f"sequence flow {en_end} {ref!r} does not exist",
            )
        return Problem.of(filename, ident, said, name)
    return None


# --- the parser's and the XSD's refusals --------------------------------------------------------

_SPIFF: Final = (
    (r"^Multiple outgoing flows are not supported for tasks of type",
     "这个环节有多条出口连线：任务只能有一条出口，分支请用网关"),
    (r"^When looking for a task spec, we found two items.*\((.*)\)",
     "连线指向的元素“{0}”不存在：请重新连线或删除这条连线"),
    (r"^A multiinstance task must specify a cardinality or a loop input",
     "多实例任务必须设置循环次数（loopCardinality）或输入集合（loopDataInputRef）"),
    (r"^A multiinstance task must specify exactly one of",
     "多实例任务的循环次数和输入集合只能设置其中一个"),
    (r"^The loop input data reference is missing", "多实例的输入集合没有在输入输出规格中声明"),
    (r"^The loop output data reference is missing", "多实例的输出集合没有在输入输出规格中声明"),
    (r"^A loopMaximum or loopCondition must be specified",
     "循环任务必须设置最大次数（loopMaximum）或循环条件（loopCondition）"),
    (r"^Cancel Events may only be used with transactions", "取消事件只能用在事务子流程中"),
    (r"^There is no support implemented for this task type", "流程引擎不支持这种元素"),
    (r"^Process (\S+) is not executable", "流程 {0} 没有标为可执行（isExecutable）"),
    (r"^No start event found", "流程没有开始事件"),
    (r"^A Service Task must have an operator", "服务任务没有设置服务操作（serviceTaskOperator）"),
    (r"^Expected an? (Message|Signal|Error|Escalation) node", "事件引用的定义不存在或类型不对"),
    (r"^Could not find messageRef from message event definition: (.*)$",
     "消息事件引用的消息“{0}”不存在"),
    (r"^Sequential ordering for ad hoc subprocesses not supported", "自由子流程不支持顺序执行"),
    (r"^Ad hoc subprocesses may not contain start or end events",
     "自由子流程中不能有开始事件或结束事件"),
    (r"^(Message|Signal|Error|Escalation|Correlation) identifier is missing",
     "消息、信号、错误、升级或关联的定义缺少 id"),
    (r"^Correlation is missing correlation property retrieval expressions: (.*)$",
     "关联“{0}”缺少取值表达式"),
    # BPMN XSD (libxml2) messages
    (r"^Element '(?:\{[^}]*\})?(\w+)': The attribute '(\w+)' is required but missing",
     "元素 <{0}> 缺少必填属性 {1}"),
    (r"^Element '(?:\{[^}]*\})?(\w+)', attribute '(\w+)': The attribute '\w+' is not allowed",
     "元素 <{0}> 不允许有属性 {1}"),
    (r"^Element '(?:\{[^}]*\})?(\w+)', attribute '(\w+)': '(.*)' is not a valid value of the "
     r"atomic type 'xs:ID'", "元素 <{0}> 的 {1}“{2}”无效或与其他元素重复"),
    (r"^Element '(?:\{[^}]*\})?(\w+)', attribute '(\w+)': '(.*)' is not a valid value",
     "元素 <{0}> 的属性 {1} 的值“{2}”无效"),
    (r"^Element '(?:\{[^}]*\})?(\w+)': This element is not expected",
     "元素 <{0}> 不应出现在这个位置"),
    (r"^Element '(?:\{[^}]*\})?(\w+)': Missing child element", "元素 <{0}> 缺少必需的子元素"),
    (r"^Element '(?:\{[^}]*\})?(\w+)': Character content other than whitespace",
     "元素 <{0}> 中不能直接写文字"),
    (r"^Element '(?:\{[^}]*\})?(\w+)'", "元素 <{0}> 不符合 BPMN 2.0 规范"),
)
_SPIFF_RE: Final = tuple((re.compile(p, re.S), zh) for p, zh in _SPIFF)


def spiff_message_zh(message: str) -> str:
    """A SpiffWorkflow or XSD refusal in Chinese (its own words when it is not a known one)."""
    text = message.strip()
    for pattern, zh in _SPIFF_RE:
        found = pattern.match(text)
        if found:
            return zh.format(*(g or "" for g in found.groups()))
    return f"流程引擎无法解析这个模型（{text.rstrip('. ')}）"


def parser_error(filename: str, exc: SpiffWorkflowException, root: Any) -> InvalidModel:
    """SpiffWorkflow's (or the XSD's) refusal as a problem naming the element, in Chinese."""
    raw = str(exc.args[0]) if exc.args else str(exc)
    element = getattr(exc, "id", None) or getattr(exc, "task_id", None) or None
    line = getattr(exc, "line_number", None) or getattr(exc, "sourceline", None) or None
    node = _find(root, element) if element else None
    name = getattr(exc, "name", None) or (node.get("name") if node is not None else None)
    name = " ".join((name or "").split()) or None
    at_line = f"（第 {line} 行）" if line else ""
    problem = Problem.of(
        getattr(exc, "file_name", None) or filename,
        element,
        Said(f"{spiff_message_zh(raw)}{at_line}",
             f"{raw.rstrip('. ')}" + (f" (line {line})" if line else "")),
        name,
    )
    return InvalidModel(
        str(problem),
        {
            "file": problem.file,
            "element_id": element,
            "line": line,
            "problem": "bpmn",
            "problems": [problem.as_dict()],
        },
    )


def _find(root: Any, ident: str) -> Any | None:
    for el in root.iter():
        if isinstance(el.tag, str) and el.get("id") == ident:
            return el
    return None


def refuse_dangling_flows(root: etree._Element, filename: str) -> None:
    problems = flow_problems(root, filename)
    if problems:
        raise InvalidModel(
            "模型校验未通过：" + "；".join(str(p) for p in problems[:20]),
            {"file": filename, "problem": "bpmn", "problems": [p.as_dict() for p in problems]},
        )
