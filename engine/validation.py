"""Checks a parsed model before anything is stored: every expression compiles under the
restricted script engine, every service operation exists, every form exists, every user task
can be assigned. Each problem names the file, the element and what is wrong."""

from __future__ import annotations

import ast
import re
from collections.abc import Container, Iterator
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins import UserTaskMixin

from engine.scripts import ScriptCompileError, check_source
from engine.specs import ParsedModel, all_task_specs


@dataclass(frozen=True)
class Problem:
    file: str
    element_id: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "element_id": self.element_id, "message": self.message}

    def __str__(self) -> str:
        where = f" [{self.element_id}]" if self.element_id else ""
        return f"{self.file}{where}: {self.message}"


def validate_model(
    model: ParsedModel, groups: Container[str], handlers: Container[str]
) -> list[Problem]:
    problems: list[Problem] = []
    file = model.bpmn_file

    def check(source: str | None, mode: str, element: str | None, what: str) -> None:
        if not source:
            return
        try:
            check_source(source, mode)  # type: ignore[arg-type]
        except ScriptCompileError as exc:
            problems.append(Problem(file, element, f"{what} 无法编译 (does not compile): {exc}"))

    for spec in all_task_specs(model):
        element = getattr(spec, "bpmn_id", None) or spec.name
        for source, mode, what in _expressions(spec):
            check(source, mode, element, what)
        operation = getattr(spec, "operation_name", None)
        if operation is not None and operation not in handlers:
            problems.append(
                Problem(
                    file, element, f"未注册的服务操作 (unknown service operation) {operation!r}"
                )
            )
        if isinstance(spec, UserTaskMixin):
            problems.extend(_check_user_task(model, spec, element, groups, check))
    if model.start_form and model.start_form not in model.forms:
        problems.append(
            Problem(file, None, f"开始表单 {model.start_form} 不存在 (start form file not found)")
        )
    return problems


GATEWAYS = ("exclusiveGateway", "inclusiveGateway", "complexGateway", "eventBasedGateway")


def check_flow_conditions(root: Any, filename: str) -> list[Problem]:
    """A condition on a flow that does not leave a gateway is never evaluated by the engine
    (it would silently always be taken): refuse it rather than surprise the author."""
    ns = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
    kinds = {el.get("id"): el.tag.removeprefix(ns) for el in root.iter() if el.get("id")}
    problems = []
    for flow in root.iter(f"{ns}sequenceFlow"):
        if flow.find(f"{ns}conditionExpression") is None:
            continue
        if kinds.get(flow.get("sourceRef")) not in GATEWAYS:
            problems.append(Problem(
                filename, flow.get("id"),
                "条件只能写在网关的出口连线上 (a condition is only evaluated on a flow leaving a "
                "gateway; put an exclusive gateway before it)",
            ))
    return problems


def _check_user_task(
    model: ParsedModel, spec: Any, element: str, groups: Container[str], check: Any
) -> Iterator[Problem]:
    step = model.steps.get(element)
    props = step.properties if step else {}
    if step and step.form_file and step.form_file not in model.forms:
        yield Problem(
            model.bpmn_file, element, f"表单文件 {step.form_file} 不存在 (form file not found)"
        )
    for name in ("assignee", "candidateGroupsExpression"):
        check(props.get(name), "eval", element, f"属性 {name}")
    static = [g.strip() for g in props.get("candidateGroups", "").split(",") if g.strip()]
    for g in static:
        if g not in groups:
            yield Problem(model.bpmn_file, element, f"未知用户组 (unknown group) {g!r}")
    has_rule = bool(props.get("assignee") or props.get("candidateGroupsExpression") or static)
    if not has_rule:
        if not spec.lane:
            yield Problem(
                model.bpmn_file,
                element,
                "用户任务没有处理人规则：请放入泳道或设置 candidateGroups/assignee "
                "(user task has no lane, candidateGroups or assignee)",
            )
        elif spec.lane not in groups:
            yield Problem(
                model.bpmn_file,
                element,
                f"泳道 {spec.lane!r} 没有对应的用户组 (lane does not map to a group)",
            )
    if props.get("dueIn"):
        try:
            TimerEventDefinition.parse_iso_duration(props["dueIn"])
        except Exception:
            yield Problem(
                model.bpmn_file,
                element,
                f"dueIn {props['dueIn']!r} 不是 ISO 8601 时长 (not an ISO duration)",
            )
    workdays = props.get("dueInWorkdays")
    if workdays and not workdays.strip().lstrip("-").isdigit():
        yield Problem(
            model.bpmn_file,
            element,
            f"dueInWorkdays {workdays!r} 必须是整数 (must be a whole number)",
        )
    check(props.get("dueDate"), "eval", element, "属性 dueDate")


def _expressions(spec: Any) -> Iterator[tuple[str | None, str, str]]:
    yield getattr(spec, "script", None), "exec", "脚本 script"
    yield getattr(spec, "prescript", None), "exec", "前置脚本 preScript"
    yield getattr(spec, "postscript", None), "exec", "后置脚本 postScript"
    for condition, _target in getattr(spec, "cond_task_specs", []) or []:
        # SpiffWorkflow wraps the expression in an operator object; the text is its argument.
        text = condition.args[0] if hasattr(condition, "args") else condition
        yield text, "eval", "条件 condition"
    definition = getattr(spec, "event_definition", None)
    if isinstance(definition, TimerEventDefinition):
        yield definition.expression, "eval", "定时器表达式 timer expression"
    for param in (getattr(spec, "operation_params", None) or {}).values():
        yield param.get("value"), "eval", "服务参数 service parameter"
    for attr in ("cardinality", "condition"):
        value = getattr(spec, attr, None)
        if isinstance(value, str):
            yield value, "eval", f"多实例 {attr}"
    engine = getattr(spec, "dmnEngine", None)
    if engine is not None:
        yield from _dmn_expressions(engine.decision_table)


def _dmn_expressions(table: Any) -> Iterator[tuple[str | None, str, str]]:
    """The same expressions SpiffWorkflow's DMN engine will build from the cells."""
    for inp in table.inputs:
        yield inp.expression, "eval", f"决策表输入 {inp.label or inp.id}"
    for rule in table.rules:
        for entry in rule.inputEntries:
            for lhs in entry.lhs:
                if lhs is None:
                    continue
                expr = entry.input.expression or "None"
                if re.search(r"\?", lhs):
                    yield (
                        re.sub(r"\?", "dmninputexpr", lhs),
                        "eval",
                        f"决策表规则 {rule.row_number}",
                    )
                elif _parses(lhs):
                    yield f"({expr}) == ({lhs})", "eval", f"决策表规则 {rule.row_number}"
                else:
                    yield f"{expr} {lhs}", "eval", f"决策表规则 {rule.row_number}"
        for out in rule.outputEntries:
            if out.text:
                yield out.text, "eval", f"决策表输出 {rule.row_number}"


def _parses(text: str) -> bool:
    try:
        ast.parse(text, mode="eval")
        return True
    except SyntaxError:
        return False
