"""Checks a parsed model before anything is stored: every expression compiles under the
restricted script engine, every service operation exists, every form exists, every user task
can be assigned. Each problem names the file, the element and what is wrong.

Every piece of diagram code is checked: scripts, pre/postScripts, gateway conditions, timer,
conditional-event and message-payload expressions, correlation retrieval expressions,
multi-instance/loop expressions, service-task parameters, DMN cells and the user-task properties
``assignee``, ``candidateGroupsExpression``, ``dueDate`` and ``assignees`` (会签 voters).
Scripts and expressions that are present but empty (``<bpmn:script/>``, a whitespace-only
condition or timer) are refused: SpiffWorkflow fails on them at every run.

Compiling is bounded. Python's compiler (and RestrictedPython's transformer above it) recurses
once per nesting level of the syntax tree and takes seconds on megabyte-sized scripts, so before
anything reaches ``check_source`` a linear scan checks, in this order:

* size: ``MAX_SCRIPT_BYTES`` (64 KiB) per script, ``MAX_EXPRESSION_BYTES`` (8 KiB) per
  expression, ``MAX_MODEL_CODE_BYTES`` (128 KiB) for all code of one model together. The
  department's real models hold 0.5-2.6 KiB of code in all, their largest script 0.9 KiB.
  Measured on the 2-core machine: a 64 KiB script compiles in 0.3-0.35 s when the machine is
  quiet (up to ~1 s under full load), so a model at the total limit costs ~0.6 s (~2 s loaded);
  256 KiB took 2 s, 512 KiB 5 s and 1.8 MB 25 s (compile time grows faster than the size),
  which is why bytes are counted before anything is compiled.
* nesting: ``tokenize`` splits the source (linear, ~0.05 s for 64 KiB) and every statement gets
  a nesting score: indentation level + bracket depth + the operators (``+ - * / . < == ...``,
  ``and or not if else lambda in is for``, each closed bracket group) between two separators
  (``,`` ``=`` ``;``) at each enclosing bracket level. The score bounds the depth of the syntax
  tree; ``MAX_NESTING`` (100) keeps the compiler's recursion far below Python's limit (a chain
  of 250 ``+`` already raises RecursionError in RestrictedPython's transformer) and its time
  small (a 100-term chain compiles in ~0.03 s; the transformer is quadratic in chain length).

Whatever still goes wrong in the compiler (RecursionError, MemoryError, SyntaxError,
ValueError) becomes a problem naming the element, never a server error.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Container, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins import ScriptTaskMixin, UserTaskMixin

from engine.bpmn.specs import ParsedModel, all_task_specs
from engine.sandbox import ScriptCompileError, check_source


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


MAX_SCRIPT_BYTES: Final = 64 * 1024
"""One script (script task, preScript, postScript), UTF-8 bytes."""
MAX_EXPRESSION_BYTES: Final = 8 * 1024
"""One expression (condition, timer, parameter, DMN cell, task property), UTF-8 bytes."""
MAX_MODEL_CODE_BYTES: Final = 128 * 1024
"""All scripts and expressions of one model (its BPMN file and the DMN tables it uses)."""
MAX_NESTING: Final = 100
"""Nesting score per statement (see the module docstring); far above any real diagram's."""

_OPEN: Final = frozenset("([{")
_CLOSE: Final = frozenset(")]}")
# Tokens after which the next operand is a sibling, not a child, of what came before.
_SEPARATORS: Final = frozenset(
    {",", "=", ";", "+=", "-=", "*=", "/=", "//=", "%=", "**=", "@=", "&=", "|=", "^=",
     ">>=", "<<=", ":="}
)
_NESTING_WORDS: Final = frozenset(
    {"and", "or", "not", "if", "else", "lambda", "in", "is", "for", "await", "yield"}
)
# Inside an f-string's replacement fields (one STRING token in Python 3.11): counted per char.
_FSTRING_PREFIX: Final = re.compile(r"[rRbBuU]*[fF][rRbBuU]*['\"]")
_FSTRING_OPS: Final = frozenset("+-*/%@<>&|^~.([{!=")
_WORD: Final = re.compile(r"[A-Za-z_]\w*")


class _CodeBudget:
    """Bytes of code left for one model; compiling stops once it is spent."""

    def __init__(self) -> None:
        self.left = MAX_MODEL_CODE_BYTES
        self.exhausted = False


def code_problem(source: str, mode: str, budget: _CodeBudget | None = None) -> str | None:
    """Why ``source`` cannot be deployed (too big, too deeply nested, does not compile), or
    None. Linear pre-checks first, so the compiler only ever sees bounded input."""
    text = source.strip() if mode == "eval" else source
    size = len(text.encode("utf-8", "surrogatepass"))
    limit = MAX_EXPRESSION_BYTES if mode == "eval" else MAX_SCRIPT_BYTES
    if size > limit:
        kind = "表达式 (expression)" if mode == "eval" else "脚本 (script)"
        return f"{kind}过大: {size} 字节 (larger than the limit of {limit // 1024} KiB)"
    if budget is not None:
        budget.left -= size
        if budget.left < 0:
            budget.exhausted = True
            return (
                f"模型中的脚本和表达式合计超过 {MAX_MODEL_CODE_BYTES // 1024} KiB "
                f"(all scripts and expressions of the model together exceed "
                f"{MAX_MODEL_CODE_BYTES // 1024} KiB)"
            )
    try:
        nesting = nesting_score(text)
    except (tokenize.TokenError, SyntaxError, ValueError) as exc:
        return f"无法编译 (does not compile): 语法错误 (syntax error): {_exc_text(exc)}"
    if nesting > MAX_NESTING:  # the scan stops counting there
        return (
            f"嵌套过深或单条语句的运算过多 (too deeply nested: nesting score above "
            f"{MAX_NESTING}; "
            "split long chains of operators into several statements)"
        )
    try:
        check_source(text, mode)  # type: ignore[arg-type]
    except ScriptCompileError as exc:
        return f"无法编译 (does not compile): {exc}"
    except (RecursionError, MemoryError, SyntaxError, ValueError) as exc:
        return (
            f"无法编译 (does not compile): 编译器无法处理 (the compiler gave up): "
            f"{type(exc).__name__}: {_exc_text(exc)}"
        )
    return None


def _exc_text(exc: BaseException) -> str:
    text = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    return text[:200]


def nesting_score(source: str) -> int:
    """The largest nesting score of any statement of ``source`` (one pass over its tokens);
    stops early once the score exceeds ``MAX_NESTING``."""
    worst = 0
    indent = 0
    stack: list[int] = []  # the segment counts of the enclosing bracket levels
    enclosing = 0  # sum(stack) + len(stack)
    segment = 0
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        kind, text = tok.type, tok.string
        if kind == tokenize.INDENT:
            indent += 1
        elif kind == tokenize.DEDENT:
            indent = max(0, indent - 1)
        elif kind == tokenize.NEWLINE:
            stack, enclosing, segment = [], 0, 0
        elif kind == tokenize.OP:
            if text in _OPEN:
                stack.append(segment)
                enclosing += segment + 1
                segment = 0
            elif text in _CLOSE:
                outer = stack.pop() if stack else 0
                enclosing = max(0, enclosing - outer - 1)
                segment = outer + 1  # the bracketed group (call, subscript, display) nests
            elif text in _SEPARATORS:
                segment = 0
            elif text not in (":", "->", "..."):
                segment += 1
        elif kind == tokenize.NAME and text in _NESTING_WORDS:
            segment += 1
        elif kind == tokenize.STRING and _FSTRING_PREFIX.match(text):
            segment += _fstring_operators(text)
        score = indent + enclosing + segment
        if score > worst:
            worst = score
            if worst > MAX_NESTING:
                break
    return worst


def _fstring_operators(token: str) -> int:
    """Operators and brackets inside the replacement fields of an f-string token (an upper
    bound of the nesting its expressions can add)."""
    count = depth = 0
    for ch in token:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
        elif depth and ch in _FSTRING_OPS:
            count += 1
    inner = re.sub(r"(?s)^[^{]*|}[^{]*{|}[^{}]*$", " ", token)
    count += sum(1 for w in _WORD.findall(inner) if w in _NESTING_WORDS)
    return count


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
    budget = _CodeBudget()

    def check(
        source: Any,
        mode: str,
        element: str | None,
        what: str,
        *,
        required: bool = False,
        in_file: str | None = None,
    ) -> None:
        if source is None or (isinstance(source, str) and not source.strip()):
            if required:
                problems.append(Problem(
                    in_file or file, element, f"{what} 为空 (is empty: it would fail every run)"
                ))
            return
        if budget.exhausted:
            return  # reported once; compiling the rest would only cost time
        if not isinstance(source, str):
            problems.append(Problem(in_file or file, element, f"{what} 不是文本 (not text)"))
            return
        problem = code_problem(source, mode, budget)
        if problem is not None:
            problems.append(Problem(in_file or file, element, f"{what}: {problem}"))

    for spec in all_task_specs(model):
        element = getattr(spec, "bpmn_id", None) or spec.name
        if isinstance(spec, ScriptTaskMixin):
            check(spec.script, "exec", element, "脚本 script", required=True)
        for source, mode, what, required in _expressions(spec):
            check(source, mode, element, what, required=required)
        engine = getattr(spec, "dmnEngine", None)
        if engine is not None:
            table = engine.decision_table
            dmn_file = (dmn_files or {}).get(table.id) or file
            for source, what, cell in _dmn_expressions(table):
                check(source, "eval", cell or element, f"{what} (业务规则任务 {element})",
                      in_file=dmn_file)
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
    for name in ("assignee", "candidateGroupsExpression", "assignees", "dueDate"):
        # Present but empty means "no rule" for these properties (not an error).
        check(props.get(name), "eval", element, f"属性 {name}")


def _expressions(spec: Any) -> Iterator[tuple[Any, str, str, bool]]:
    """(source, mode, what, required) for the task spec's own code. ``required``: present
    but empty fails at run time. Script tasks' scripts and DMN cells are checked apart."""
    yield getattr(spec, "prescript", None), "exec", "前置脚本 preScript", False
    yield getattr(spec, "postscript", None), "exec", "后置脚本 postScript", False
    for condition, _target in getattr(spec, "cond_task_specs", []) or []:
        if condition is None:
            continue  # the default flow
        # SpiffWorkflow wraps the expression in an operator object; the text is its argument.
        text = condition.args[0] if hasattr(condition, "args") else condition
        yield text, "eval", "条件 condition", True
    definition = getattr(spec, "event_definition", None)
    definitions = getattr(definition, "event_definitions", None) or [definition]
    for event in definitions:
        if isinstance(event, TimerEventDefinition):
            yield event.expression, "eval", "定时器表达式 timer expression", True
        elif isinstance(event, ConditionalEventDefinition):
            yield event.expression, "eval", "条件事件表达式 conditional event expression", True
        elif event is not None:
            # Message/signal/error/escalation payloads (spiffworkflow:messagePayload ...).
            yield getattr(event, "expression", None), "eval", "消息内容 payload expression", False
            for prop in [
                *(getattr(event, "correlation_properties", None) or []),
                *(getattr(event, "process_correlations", None) or []),
            ]:
                yield (
                    getattr(prop, "retrieval_expression", None),
                    "eval",
                    "关联表达式 correlation expression",
                    False,
                )
    for param in (getattr(spec, "operation_params", None) or {}).values():
        yield param.get("value"), "eval", "服务参数 service parameter", True
    for attr in ("cardinality", "condition"):
        value = getattr(spec, attr, None)
        if isinstance(value, str):
            yield value, "eval", f"多实例 {attr}", True


def _dmn_expressions(table: Any) -> Iterator[tuple[str | None, str, str | None]]:
    """(source, what, DMN element id): the same expressions SpiffWorkflow's DMN engine will
    build from the cells (engine/DMNEngine.py)."""
    for inp in table.inputs:
        yield inp.expression, f"决策表 {table.id} 输入 {inp.label or inp.id}", inp.id
    for rule in table.rules:
        where = f"决策表 {table.id} 第 {rule.row_number} 行规则 (rule row {rule.row_number})"
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
                yield out.text, f"决策表 {table.id} 第 {rule.row_number} 行输出", rule.id


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
