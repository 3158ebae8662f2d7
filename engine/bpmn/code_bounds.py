"""Bounds on diagram code before it reaches the compiler, and what a refusal says.

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

Refusals are ``Said`` (Chinese, English): the restricted compiler's and Python's own words are
put into Chinese for the messages staff read (``compile_reason_zh``); the English keeps them.
"""

from __future__ import annotations

import io
import re
import tokenize
from typing import Final

from engine.bpmn.problems import Said
from engine.sandbox import ScriptCompileError, check_source

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

class CodeBudget:
    """Bytes of code left for one model; compiling stops once it is spent."""

    def __init__(self) -> None:
        self.left = MAX_MODEL_CODE_BYTES
        self.exhausted = False


def code_problem(source: str, mode: str, budget: CodeBudget | None = None) -> Said | None:
    """Why ``source`` cannot be deployed (too big, too deeply nested, does not compile), or
    None. Linear pre-checks first, so the compiler only ever sees bounded input."""
    text = source.strip() if mode == "eval" else source
    size = len(text.encode("utf-8", "surrogatepass"))
    limit = MAX_EXPRESSION_BYTES if mode == "eval" else MAX_SCRIPT_BYTES
    if size > limit:
        zh, en = ("表达式", "expression") if mode == "eval" else ("脚本", "script")
        return Said(
            f"{zh}过大：{size} 字节，上限为 {limit // 1024} KiB",
            f"{en} too large: {size} bytes (larger than the limit of {limit // 1024} KiB)",
        )
    if budget is not None:
        budget.left -= size
        if budget.left < 0:
            budget.exhausted = True
            total = MAX_MODEL_CODE_BYTES // 1024
            return Said(
                f"模型中的脚本和表达式合计超过 {total} KiB，请精简或拆分",
                f"all scripts and expressions of the model together exceed {total} KiB",
            )
    try:
        nesting = nesting_score(text)
    except (tokenize.TokenError, SyntaxError, ValueError) as exc:
        detail = _exc_text(exc)
        return Said(
            f"无法编译：语法错误（{python_syntax_zh(detail)}）",
            f"does not compile: syntax error: {detail}",
        )
    if nesting > MAX_NESTING:  # the scan stops counting there
        return Said(
            "嵌套过深或单条语句中的运算过多，请拆成几条语句",
            f"too deeply nested: nesting score above {MAX_NESTING}; "
            "split long chains of operators into several statements",
        )
    try:
        check_source(text, mode)  # type: ignore[arg-type]
    except ScriptCompileError as exc:
        return Said(f"无法编译：{compile_reason_zh(str(exc))}", f"does not compile: {exc}")
    except (RecursionError, MemoryError, SyntaxError, ValueError) as exc:
        name, detail = type(exc).__name__, _exc_text(exc)
        return Said(
            f"无法编译：编译器无法处理（{name}），请简化这段代码",
            f"does not compile: the compiler gave up: {name}: {detail}",
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

# --- the compiler's words in Chinese ------------------------------------------------------------

_PYTHON_SYNTAX: Final = (
    (re.compile(r"^invalid syntax\. Perhaps you forgot a comma\?$"), "可能缺少逗号"),
    (re.compile(r"^invalid syntax$"), "写法不对"),
    (re.compile(r"^'(.)' was never closed$"), "括号“{0}”没有闭合"),
    (re.compile(r"^unmatched '(.)'$"), "多了一个“{0}”"),
    (re.compile(r"^closing parenthesis '(.)' does not match opening parenthesis '(.)'.*$"),
     "括号“{1}”与“{0}”不配对"),
    (re.compile(r"^unterminated (?:triple-quoted )?string literal.*$"), "字符串缺少结束引号"),
    (re.compile(r"^unexpected EOF.*$|^EOF in multi-line.*$"), "没有写完，可能缺少右括号或引号"),
    (re.compile(r"^expected '(.+)'$"), "缺少“{0}”"),
    (re.compile(r"^unexpected indent$"), "多余的缩进"),
    (re.compile(r"^expected an indented block.*$"), "缺少缩进"),
    (re.compile(r"^unindent does not match.*$"), "缩进不一致"),
    (re.compile(r"^cannot assign to (.+?)(?: here)?\..*$|^cannot assign to (.+)$"),
     "不能给这里赋值"),
    (re.compile(r"^invalid decimal literal$"), "数字写法不对"),
    (re.compile(r"^invalid character '(.)'.*$"), "含有无效字符“{0}”（请用英文标点）"),
)

_SANDBOX: Final = (
    (re.compile(r'^"(\w+)" is an invalid attribute name because it starts with "_"\.?$'),
     "不允许访问以下划线开头的属性“{0}”"),
    (re.compile(r'^"(\w+)" is an invalid variable name because it starts with "_"\.?$'),
     "变量名“{0}”不能以下划线开头"),
    (re.compile(r"^import statements are not allowed.*$"), "不允许 import，请使用平台提供的函数"),
    (re.compile(r"^Exec calls are not allowed\.?$"), "不允许调用 exec"),
    (re.compile(r"^Eval calls are not allowed\.?$"), "不允许调用 eval"),
    (re.compile(r"^(\w+) calls are not allowed\.?$"), "不允许调用 {0}"),
    (re.compile(r"^class definitions are not allowed\.?$"), "不允许定义类"),
    (re.compile(r"^(\w+) statements are not allowed\.?$"), "不允许使用 {0} 语句"),
    (re.compile(r"^the source could not be compiled$"), "无法编译"),
)
_STATEMENT: Final = re.compile(r"^SyntaxError: (.*?) at statement: (.*)$", re.S)
_LINE: Final = re.compile(r"^Line (\d+): (.*)$", re.S)


def _match(table: tuple[tuple[re.Pattern[str], str], ...], text: str) -> str | None:
    for pattern, zh in table:
        found = pattern.match(text)
        if found:
            return zh.format(*(g or "" for g in found.groups()))
    return None


def python_syntax_zh(message: str) -> str:
    """Python's SyntaxError text in Chinese (its own words when it is not a known one)."""
    return _match(_PYTHON_SYNTAX, message.strip()) or f"语法错误：{message.strip()}"


def compile_reason_zh(message: str) -> str:
    """`engine.sandbox.check_source`'s refusal ("script rejected: Line 1: ...; Line 2: ...")
    in Chinese: 第 1 行：...；第 2 行：..."""
    body = re.sub(r"^(script|expression) rejected: ", "", message.strip())
    out = []
    for part in body.split("; Line "):
        part = part if part.startswith("Line ") or not out else "Line " + part
        line = _LINE.match(part)
        where, text = (f"第 {line.group(1)} 行：", line.group(2)) if line else ("", part)
        statement = _STATEMENT.match(text)
        if statement:
            said = f"语法错误（{python_syntax_zh(statement.group(1))}）：{statement.group(2)}"
        else:
            said = _match(_SANDBOX, text.strip()) or text.strip()
        out.append(where + said)
    return "；".join(out)
