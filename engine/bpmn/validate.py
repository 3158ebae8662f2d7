"""Checks a parsed model before anything is stored: every expression compiles under the
restricted script engine, every service operation exists, every form exists, every user task
can be assigned. Each problem names the file, the element (id and name) and what is wrong, in
Chinese and in English (`engine.bpmn.problems`).

Every piece of diagram code is checked: scripts, pre/postScripts, gateway conditions, timer,
conditional-event and message-payload expressions, correlation retrieval expressions,
multi-instance/loop expressions, service-task parameters, DMN cells and the user-task properties
``assignee``, ``candidateGroupsExpression``, ``dueDate``, ``titleExpression`` and ``assignees``
(会签 voters). Scripts and expressions that are present but empty (``<bpmn:script/>``, a
whitespace-only condition or timer) are refused: SpiffWorkflow fails on them at every run. How
the code is bounded before it reaches the compiler is `engine.bpmn.code_bounds`.
"""

from __future__ import annotations

import ast
import re
import tokenize
from collections.abc import Container, Iterator, Mapping
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins import ScriptTaskMixin, UserTaskMixin

from engine.bpmn.code_bounds import (
    MAX_EXPRESSION_BYTES,
    MAX_NESTING,
    CodeBudget,
    code_problem,
    nesting_score,
)
from engine.bpmn.problems import Problem, Said, element_label
from engine.bpmn.specs import ParsedModel, all_task_specs
from engine.bpmn.timer_values import literal_problem
from engine.forms.pattern_probe import backtracking, patterned_fields

SCRIPT = Said("脚本", "script")
PRESCRIPT = Said("前置脚本（preScript）", "preScript")
POSTSCRIPT = Said("后置脚本（postScript）", "postScript")
CONDITION = Said("条件", "condition")
TIMER = Said("定时器表达式", "timer expression")
CONDITIONAL_EVENT = Said("条件事件表达式", "conditional event expression")
PAYLOAD = Said("消息内容表达式", "payload expression")
CORRELATION = Said("关联表达式", "correlation expression")
SERVICE_PARAMETER = Said("服务参数", "service parameter")


def validate_model(
    model: ParsedModel,
    groups: Container[str],
    handlers: Container[str],
    dmn_files: Mapping[str, str] | None = None,
) -> list[Problem]:
    """``dmn_files``: decision table id -> DMN file name, so problems in DMN cells name their
    file (without it they name the BPMN file)."""
    problems: list[Problem] = []
    file = model.bpmn_file
    budget = CodeBudget()
    names: dict[str, str] = {}

    def check(
        source: Any,
        mode: str,
        element: str | None,
        what: Said,
        *,
        required: bool = False,
        in_file: str | None = None,
    ) -> None:
        where = in_file or file
        name = names.get(element or "")
        if source is None or (isinstance(source, str) and not source.strip()):
            if required:
                problems.append(Problem.of(where, element, Said(
                    f"{what.zh}为空，每次运行都会失败",
                    f"{what.en} is empty: it would fail every run",
                ), name))
            return
        if budget.exhausted:
            return  # reported once; compiling the rest would only cost time
        if not isinstance(source, str):
            problems.append(Problem.of(
                where, element, Said(f"{what.zh}不是文本", f"{what.en} is not text"), name
            ))
            return
        problem = code_problem(source, mode, budget)
        if problem is not None:
            problems.append(Problem.of(where, element, Said(
                f"{what.zh}：{problem.zh}", f"{what.en}: {problem.en}"
            ), name))

    for spec in all_task_specs(model):
        element = getattr(spec, "bpmn_id", None) or spec.name
        names[element] = " ".join((getattr(spec, "bpmn_name", None) or "").split())
        if isinstance(spec, ScriptTaskMixin):
            check(spec.script, "exec", element, SCRIPT, required=True)
        for source, mode, what, required in _expressions(spec):
            check(source, mode, element, what, required=required)
        for why in _constant_timer_problems(spec):
            problems.append(Problem.of(file, element, why, names[element]))
        engine = getattr(spec, "dmnEngine", None)
        if engine is not None:
            table = engine.decision_table
            dmn_file = (dmn_files or {}).get(table.id) or file
            task = element_label(element, names[element])
            for source, what, cell in _dmn_expressions(table):
                check(source, "eval", cell or element, Said(
                    f"{what.zh}（业务规则任务 {task}）",
                    f"{what.en} (business rule task {element})",
                ), in_file=dmn_file)
        operation = getattr(spec, "operation_name", None)
        if operation is not None and operation not in handlers:
            problems.append(Problem.of(file, element, Said(
                f"服务操作“{operation}”未注册，没有对应的处理程序",
                f"unknown service operation {operation!r}",
            ), names[element]))
        if isinstance(spec, UserTaskMixin):
            problems.extend(_check_user_task(model, spec, element, groups, check))
    problems.extend(_pattern_problems(model))
    if model.start_form and model.start_form not in model.forms:
        problems.append(Problem.of(file, None, Said(
            f"开始表单 {model.start_form} 不存在，请一并上传",
            f"start form file {model.start_form} not found",
        )))
    return problems


def _pattern_problems(model: ParsedModel) -> Iterator[Problem]:
    """Form patterns that would hang the browser of whoever fills the field in
    (`engine.forms.pattern_probe`; the server bounds its own matches)."""
    fields = [(name, field, pattern) for name, form in sorted(model.forms.items())
              for field, pattern in patterned_fields(form)]
    slow = set(backtracking(pattern for _, _, pattern in fields))
    for name, field, pattern in fields:
        if pattern in slow:
            shown = pattern if len(pattern) <= 80 else pattern[:80] + "…"
            yield Problem.of(name, field.id or field.path, Said(
                f"字段 {field.path} 的格式规则（正则表达式）「{shown}」会灾难性回溯："
                "填写者输入较长内容时浏览器会卡死。请改写，去掉嵌套或重叠的重复，"
                "例如 (a+)+、(a|a)*",
                f"field {field.path}: pattern “{shown}” backtracks catastrophically and would "
                "hang the browser of whoever fills it in; rewrite it without nested or "
                "overlapping repetition such as (a+)+ or (a|a)*",
            ), field.label)


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
            problems.append(Problem.of(filename, flow.get("id"), Said(
                "条件只能写在网关的出口连线上：请在这条连线之前加一个排他网关",
                "a condition is only evaluated on a flow leaving a gateway; put an exclusive "
                "gateway before it",
            ), flow.get("name")))
    return problems


def _check_user_task(
    model: ParsedModel, spec: Any, element: str, groups: Container[str], check: Any
) -> Iterator[Problem]:
    step = model.steps.get(element)
    props = step.properties if step else {}
    file, name = model.bpmn_file, step.name if step else None

    def problem(zh: str, en: str) -> Problem:
        return Problem.of(file, element, Said(zh, en), name)

    if step and step.form_file and step.form_file not in model.forms:
        yield problem(
            f"表单文件 {step.form_file} 不存在，请一并上传", f"form file {step.form_file} not found"
        )
    static = [g.strip() for g in props.get("candidateGroups", "").split(",") if g.strip()]
    for g in static:
        if g not in groups:
            yield problem(f"用户组“{g}”不存在", f"unknown group {g!r}")
    has_rule = bool(props.get("assignee") or props.get("candidateGroupsExpression") or static)
    if not has_rule:
        if not spec.lane:
            yield problem(
                "用户任务没有处理人：请把它放进泳道，或设置 candidateGroups / assignee",
                "user task has no lane, candidateGroups or assignee",
            )
        elif spec.lane not in groups:
            yield problem(
                f"泳道“{spec.lane}”没有对应的用户组", f"lane {spec.lane!r} does not map to a group"
            )
    if props.get("dueIn"):
        try:
            TimerEventDefinition.parse_iso_duration(props["dueIn"])
        except Exception:
            yield problem(
                f"dueIn “{props['dueIn']}” 不是 ISO 8601 时长（例如 P2D 表示 2 天）",
                f"dueIn {props['dueIn']!r} is not an ISO 8601 duration",
            )
    workdays = props.get("dueInWorkdays")
    if workdays and not workdays.strip().lstrip("-").isdigit():
        yield problem(
            f"dueInWorkdays “{workdays}” 必须是整数",
            f"dueInWorkdays {workdays!r} must be a whole number",
        )
    for prop in (
        "assignee", "candidateGroupsExpression", "assignees", "dueDate", "titleExpression"
    ):
        # Present but empty means "no rule" for these properties (not an error).
        check(props.get(prop), "eval", element, Said(f"属性 {prop}", f"property {prop}"))


def _event_definitions(spec: Any) -> list[Any]:
    """The task's event definitions: a multiple event's parts, else its one (or None)."""
    definition = getattr(spec, "event_definition", None)
    return getattr(definition, "event_definitions", None) or [definition]


def _constant_timer_problems(spec: Any) -> Iterator[Said]:
    """A timer whose constant value is no usable time ('next week', a date in year 1) would
    only fail when an instance reaches it: refused at deploy."""
    for event in _event_definitions(spec):
        why = literal_problem(event) if isinstance(event, TimerEventDefinition) else None
        if why is not None:
            yield Said(f"定时器的值 {event.expression} 不是可用的时间（{why}）",
                       f"timer value {event.expression} is not a usable time ({why})")


def _expressions(spec: Any) -> Iterator[tuple[Any, str, Said, bool]]:
    """(source, mode, what, required) for the task spec's own code. ``required``: present
    but empty fails at run time. Script tasks' scripts and DMN cells are checked apart."""
    yield getattr(spec, "prescript", None), "exec", PRESCRIPT, False
    yield getattr(spec, "postscript", None), "exec", POSTSCRIPT, False
    for condition, _target in getattr(spec, "cond_task_specs", []) or []:
        if condition is None:
            continue  # the default flow
        # SpiffWorkflow wraps the expression in an operator object; the text is its argument.
        text = condition.args[0] if hasattr(condition, "args") else condition
        yield text, "eval", CONDITION, True
    for event in _event_definitions(spec):
        if isinstance(event, TimerEventDefinition):
            yield event.expression, "eval", TIMER, True
        elif isinstance(event, ConditionalEventDefinition):
            yield event.expression, "eval", CONDITIONAL_EVENT, True
        elif event is not None:
            # Message/signal/error/escalation payloads (spiffworkflow:messagePayload ...).
            yield getattr(event, "expression", None), "eval", PAYLOAD, False
            for prop in [
                *(getattr(event, "correlation_properties", None) or []),
                *(getattr(event, "process_correlations", None) or []),
            ]:
                yield getattr(prop, "retrieval_expression", None), "eval", CORRELATION, False
    for param in (getattr(spec, "operation_params", None) or {}).values():
        yield param.get("value"), "eval", SERVICE_PARAMETER, True
    for attr in ("cardinality", "condition"):
        value = getattr(spec, attr, None)
        if isinstance(value, str):
            yield value, "eval", Said(f"多实例 {attr}", f"multi-instance {attr}"), True


def _dmn_expressions(table: Any) -> Iterator[tuple[str | None, Said, str | None]]:
    """(source, what, DMN element id): the same expressions SpiffWorkflow's DMN engine will
    build from the cells (engine/DMNEngine.py)."""
    for inp in table.inputs:
        label = inp.label or inp.id
        yield inp.expression, Said(
            f"决策表 {table.id} 的输入“{label}”", f"decision table {table.id} input {label}"
        ), inp.id
    for rule in table.rules:
        n = rule.row_number
        where = Said(f"决策表 {table.id} 第 {n} 行规则", f"decision table {table.id} rule row {n}")
        for entry in rule.inputEntries:
            for lhs in entry.lhs:
                if lhs is None:
                    continue
                expr = entry.input.expression or "None"
                if not _bounded(lhs):
                    yield lhs, where, rule.id  # reported as too big/deep, never parsed here
                elif re.search(r"\?", lhs):
                    yield re.sub(r"\?", "dmninputexpr", lhs), where, rule.id
                elif _parses(lhs):
                    yield f"({expr}) == ({lhs})", where, rule.id
                else:
                    yield f"{expr} {lhs}", where, rule.id
        for out in rule.outputEntries:
            if out.text:
                yield out.text, Said(
                    f"决策表 {table.id} 第 {n} 行输出",
                    f"decision table {table.id} output of row {n}",
                ), rule.id


def _bounded(text: str) -> bool:
    """Small and shallow enough to hand to Python's parser."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_EXPRESSION_BYTES:
        return False
    try:
        return nesting_score(text.strip()) <= MAX_NESTING
    except (tokenize.TokenError, SyntaxError, ValueError):
        return True  # not valid Python: the parser fails fast, the compile reports it


def _parses(text: str) -> bool:
    try:
        ast.parse(text, mode="eval")
        return True
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
