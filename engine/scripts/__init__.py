"""Sandbox for the untrusted Python found in BPMN and DMN diagrams.

Scripts, gateway conditions, timer expressions, service-task parameters and DMN cells come
from diagrams that process owners upload, so they run here instead of in SpiffWorkflow's
``TaskDataEnvironment`` (plain ``eval``/``exec``, where ``import os`` works):

* Compiled by RestrictedPython with a stricter policy: no ``import``, ``class`` or ``with``
  statements; ``+ * ** << %`` and f-string format specs go through size guards; every
  ``except``/``finally`` block starts by re-checking the limits, so a script cannot swallow
  a timeout and keep running.
* Run with guarded attribute access (nothing starting with ``_``, no frame, code or
  generator internals, no ``str.format``), a short list of builtins, and the helpers given to
  the environment. Task-data keys starting with ``_`` are never visible.
* Bounded: a wall-clock limit per call (``sys.settrace``), a check on the process's memory
  growth while a script runs, and a size check on the data a script leaves behind or an
  expression returns.

What this cannot stop is a *single* C-level operation that runs for a long time on a
structure that is small in memory but huge logically (e.g. ``==`` or ``repr`` of nested lists
that share their elements): the tracer only runs between Python-level steps. See
``RestrictedEnvironment`` for the limits and the module's test file for the attacks tried.
"""

from __future__ import annotations

import ast
import dis
import math
import operator
import os
import re
import reprlib
import sys
import types
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from datetime import date
from functools import lru_cache
from time import monotonic
from typing import Any, Final, Literal, NoReturn
from zoneinfo import ZoneInfo

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import (
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
)
from RestrictedPython.transformer import (
    INSPECT_ATTRIBUTES,
    IOPERATOR_TO_STR,
    RestrictingNodeTransformer,
    copy_locations,
)
from SpiffWorkflow.bpmn.script_engine.python_environment import (
    BasePythonScriptEngineEnvironment,
)

__all__ = [
    "MAX_INT_BITS",
    "MAX_SEQUENCE_LENGTH",
    "RestrictedEnvironment",
    "ScriptCompileError",
    "ScriptError",
    "ScriptResourceError",
    "ScriptSecurityError",
    "ScriptTimeout",
    "check_source",
]

# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


class ScriptError(Exception):
    """A diagram's script or expression failed in the sandbox.

    ``args`` is always ``(message,)`` with a ``str`` message: SpiffWorkflow builds its error
    detail with ``":" + err.args[0]``.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ScriptCompileError(ScriptError):
    """The source does not compile, or RestrictedPython/the sandbox policy refuses it."""

    def __init__(self, message: str, lineno: int | None = None) -> None:
        super().__init__(message)
        self.lineno = lineno


class ScriptSecurityError(ScriptError):
    """A guard refused something at run time (private attribute, forbidden builtin, ...)."""


class ScriptTimeout(ScriptError):
    """The script or expression ran longer than the environment's time limit."""


class ScriptResourceError(ScriptError):
    """A size or memory limit was hit (huge ``**``, sequence ``*``, memory growth, output)."""


# ---------------------------------------------------------------------------------------------
# Limits (module-wide: the guards are plain functions shared by every environment)
# ---------------------------------------------------------------------------------------------

MAX_SEQUENCE_LENGTH: Final = 1_000_000
"""Longest str/bytes/list/tuple a single guarded operation may build; also the range cap."""

MAX_INT_BITS: Final = 65_536
"""Largest int (in bits, ~19,700 decimal digits) that ``*``, ``**`` and ``<<`` may build."""

_MAX_MODPOW_COST: Final = 4096 * 4096
"""Three-argument pow: exponent bits times modulus bits."""

_MEMORY_CHECK_INTERVAL: Final = 0.005
"""Seconds between two memory samples while a script runs (none for shorter runs)."""

SCRIPT_FILENAME: Final = "<string>"
"""Filename of compiled diagram code; SpiffWorkflow finds error lines by it."""

_HANDLER_GUARD: Final = "_handler_guard_"
_LOOP_TICK: Final = "_loop_"


def _too_big(what: str) -> NoReturn:
    raise ScriptResourceError(f"{what} would exceed the sandbox size limit")


# ---------------------------------------------------------------------------------------------
# Compile-time policy
# ---------------------------------------------------------------------------------------------

_BINOP_GUARDS: Final[dict[type[ast.operator], str]] = {
    ast.Add: "_add_",
    ast.Mult: "_mul_",
    ast.Pow: "_pow_",
    ast.LShift: "_lshift_",
    ast.Mod: "_mod_",
}


# Augmented assignments whose result is never larger than their operands' size.
_SHRINKING_OPS: Final = (
    ast.Sub,
    ast.Div,
    ast.FloorDiv,
    ast.BitAnd,
    ast.BitOr,
    ast.BitXor,
    ast.RShift,
)


def _is_small(node: ast.AST) -> bool:
    """A number or short string literal: adding it grows a value by a bounded amount."""
    if not isinstance(node, ast.Constant):
        return False
    value = node.value
    return isinstance(value, (int, float)) or (isinstance(value, str) and len(value) <= 1000)


def _call(name: str, args: list[ast.expr], anchor: ast.AST) -> ast.Call:
    node = ast.Call(func=ast.Name(name, ast.Load()), args=args, keywords=[])
    copy_locations(node, anchor)
    return node


class _SandboxPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy, tightened for diagram code (see the module docstring)."""

    def visit_Import(self, node: ast.Import) -> ast.AST:
        self.error(node, "import statements are not allowed; use the helpers provided.")
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        self.error(node, "import statements are not allowed; use the helpers provided.")
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self.error(node, "class definitions are not allowed.")
        return node

    def visit_With(self, node: ast.With) -> ast.AST:
        self.error(node, "with statements are not allowed.")
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        guard = _BINOP_GUARDS.get(type(node.op))
        if guard is None:
            return node
        if isinstance(node.op, ast.Add) and (_is_small(node.left) or _is_small(node.right)):
            return node  # `x + 1`, `name + "先生"`: grows by a small constant, cannot double
        return _call(guard, [node.left, node.right], node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        # f"{x:>{n}}" -> f"{_format_(x, conversion, f'>{n}')}": the spec is size-checked.
        node = self.node_contents_visit(node)
        if node.format_spec is None:
            return node
        conversion = ast.Constant(node.conversion)
        copy_locations(conversion, node)
        call = _call("_format_", [node.value, conversion, node.format_spec], node)
        new = ast.FormattedValue(value=call, conversion=-1, format_spec=None)
        copy_locations(new, node)
        return new

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        # RestrictedPython refuses `d[k] += v`; rewrite it to `_inplaceitem_(op, d, k, v)`,
        # which reads with _getitem_, combines with _inplacevar_ and writes with _write_.
        if isinstance(node.target, ast.Name) and (
            isinstance(node.op, _SHRINKING_OPS)
            or (isinstance(node.op, ast.Add) and _is_small(node.value))
        ):
            # `n += 1`, `n -= x`...: cannot amplify, so the native operation is kept (it is
            # what `_inplacevar_` would do) and only the names are checked.
            return self.node_contents_visit(node)
        if not isinstance(node.target, ast.Subscript):
            return super().visit_AugAssign(node)  # type: ignore[no-any-return]
        target = node.target
        operator_str = ast.Constant(IOPERATOR_TO_STR[type(node.op)])
        copy_locations(operator_str, node)
        args = [
            operator_str,
            self.visit(target.value),
            self.visit(target.slice),
            self.visit(node.value),
        ]
        statement = ast.Expr(value=_call("_inplaceitem_", args, node))
        copy_locations(statement, node)
        return statement

    def visit_While(self, node: ast.While) -> ast.AST:
        # CPython 3.11 reports no trace event for a jump to itself (`while True: pass`), so the
        # time limit would never fire. A name load at the top of the body makes every
        # iteration jump back to an earlier instruction, which is reported.
        node = self.node_contents_visit(node)
        tick = ast.Expr(value=ast.Name(_LOOP_TICK, ast.Load()))
        copy_locations(tick, node.body[0])
        node.body.insert(0, tick)
        return node

    def visit_Try(self, node: ast.Try) -> ast.AST:
        node = self.node_contents_visit(node)
        for handler in node.handlers:
            handler.body.insert(0, self._guard_statement(handler))
        if node.finalbody:
            node.finalbody.insert(0, self._guard_statement(node.finalbody[0]))
        return node

    @staticmethod
    def _guard_statement(anchor: ast.AST) -> ast.stmt:
        statement = ast.Expr(value=_call(_HANDLER_GUARD, [], anchor))
        copy_locations(statement, anchor)
        return statement


_LINE_RE: Final = re.compile(r"Line (\d+):")


def _prepare_source(source: object, mode: str) -> str:
    if not isinstance(source, str):
        raise ScriptCompileError(
            f"expected the {'expression' if mode == 'eval' else 'script'} as text, "
            f"got {type(source).__name__}"
        )
    # Builtin eval() tolerates leading blanks; XML-formatted conditions often have them.
    return source.strip() if mode == "eval" else source


@lru_cache(maxsize=4096)
def _compile(source: str, mode: str) -> types.CodeType:
    """Restricted-compile ``source`` (cached: compiling costs far more than running)."""
    compiler = compile_restricted_exec if mode == "exec" else compile_restricted_eval
    result = compiler(source, filename=SCRIPT_FILENAME, policy=_SandboxPolicy)
    if result.errors or result.code is None:
        errors = list(result.errors) or ["the source could not be compiled"]
        match = _LINE_RE.match(errors[0])
        kind = "expression" if mode == "eval" else "script"
        raise ScriptCompileError(
            f"{kind} rejected: " + "; ".join(errors),
            lineno=int(match.group(1)) if match else None,
        )
    _register_lineless(result.code)
    return result.code


# Frames of code without a backward jump run a bounded number of instructions between calls, and
# every call reports a "call" event that checks the limits: such frames need no line events.
# Keyed by id() (a code object's own hash walks its contents); values keep the ids valid.
_LINELESS: dict[int, types.CodeType] = {}
_LINELESS_MAX: Final = 50_000
_JUMPS: Final = frozenset(dis.hasjrel) | frozenset(dis.hasjabs)


def _loops(code: types.CodeType) -> bool:
    """Whether ``code`` jumps backward anywhere (conditional backward jumps included)."""
    return any(
        instruction.opcode in _JUMPS
        and isinstance(instruction.argval, int)
        and instruction.argval <= instruction.offset
        for instruction in dis.get_instructions(code)
    )


def _register_lineless(code: types.CodeType) -> None:
    if len(_LINELESS) > _LINELESS_MAX:  # absence only costs speed, never safety
        _LINELESS.clear()
        _LINELESS.update(_GUARD_CODES)
    pending = [code]
    while pending:
        current = pending.pop()
        pending.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
        if not _loops(current):
            _LINELESS[id(current)] = current


def check_source(source: str, mode: Literal["eval", "exec"]) -> None:
    """Raise ``ScriptCompileError`` unless ``source`` compiles under the sandbox's rules.

    Use at deploy time on every script (``"exec"``) and every condition, timer expression and
    parameter expression (``"eval"``) of a diagram. It does not run anything.
    """
    if mode not in ("eval", "exec"):
        raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")
    _compile(_prepare_source(source, mode), mode)


# ---------------------------------------------------------------------------------------------
# Run-time guards (called by the rewritten code; none of them is reachable by name)
# ---------------------------------------------------------------------------------------------

_SEQUENCES: Final = (str, bytes, list, tuple)
_SIZED: Final = (str, bytes, list, tuple, dict, set, frozenset)


def _guarded_add(a: Any, b: Any) -> Any:
    if (
        isinstance(a, _SEQUENCES)
        and isinstance(b, _SEQUENCES)
        and len(a) + len(b) > MAX_SEQUENCE_LENGTH
    ):
        _too_big("concatenation")
    return a + b


def _check_mul(a: Any, b: Any) -> None:
    if isinstance(a, int):
        if isinstance(b, int):
            if a.bit_length() + b.bit_length() > MAX_INT_BITS:
                _too_big("integer product")
        elif isinstance(b, _SEQUENCES) and len(b) * a > MAX_SEQUENCE_LENGTH:
            _too_big("repeated sequence")
    elif isinstance(a, _SEQUENCES) and isinstance(b, int) and len(a) * b > MAX_SEQUENCE_LENGTH:
        _too_big("repeated sequence")


def _guarded_mul(a: Any, b: Any) -> Any:
    _check_mul(a, b)
    return a * b


def _check_pow(base: Any, exponent: Any) -> None:
    if (
        isinstance(base, int)
        and isinstance(exponent, int)
        and exponent > 0
        and abs(base) > 1
        and exponent * math.log2(abs(base)) > MAX_INT_BITS
    ):
        _too_big("power")


def _guarded_pow(base: Any, exponent: Any) -> Any:
    _check_pow(base, exponent)
    return base**exponent


def _safe_pow(base: Any, exp: Any, mod: Any = None) -> Any:
    if mod is None:
        return _guarded_pow(base, exp)
    if (
        isinstance(exp, int)
        and isinstance(mod, int)
        and exp.bit_length() * mod.bit_length() > _MAX_MODPOW_COST
    ):
        _too_big("modular power")
    return pow(base, exp, mod)


def _guarded_lshift(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and a and a.bit_length() + b > MAX_INT_BITS:
        _too_big("shift")
    return a << b


# %-formatting: width/precision digits or '*' inside a conversion specifier.
_PERCENT_SPEC: Final = re.compile(r"%%|%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS: Final = re.compile(r"\d+")


def _check_width(text: str) -> None:
    if int(text) > MAX_SEQUENCE_LENGTH:
        _too_big("formatted field")


def _check_percent_format(fmt: str | bytes) -> None:
    text = fmt.decode("latin-1") if isinstance(fmt, bytes) else fmt
    if "%" not in text:
        return
    for match in _PERCENT_SPEC.finditer(text):
        for part in match.groups():
            if part == "*":
                raise ScriptSecurityError("'*' widths in %-formatting are not supported")
            if part:
                _check_width(part)


def _guarded_mod(a: Any, b: Any) -> Any:
    if isinstance(a, (str, bytes)):
        _check_percent_format(a)
    return a % b


def _check_format_spec(spec: object) -> None:
    if isinstance(spec, str):
        for digits in _DIGITS.findall(spec):
            _check_width(digits)


_CONVERSIONS: Final[dict[int, Callable[[Any], str]]] = {115: str, 114: repr, 97: ascii}


def _guarded_format_value(value: Any, conversion: int, spec: str) -> str:
    convert = _CONVERSIONS.get(conversion)
    if convert is not None:
        value = convert(value)
    _check_format_spec(spec)
    return format(value, spec)


def _safe_format(value: Any, spec: str = "") -> str:
    _check_format_spec(spec)
    return format(value, spec)


def _guarded_getitem(obj: Any, index: Any) -> Any:
    return obj[index]


def _apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


def _guarded_iadd(a: Any, b: Any) -> Any:
    if isinstance(a, list) and not isinstance(b, _SIZED):
        b = list(b)  # `l += iter(l)` would otherwise grow `l` forever in C
    if (
        isinstance(a, _SEQUENCES)
        and isinstance(b, _SEQUENCES)
        and len(a) + len(b) > MAX_SEQUENCE_LENGTH
    ):
        _too_big("concatenation")
    return operator.iadd(a, b)


def _guarded_imul(a: Any, b: Any) -> Any:
    _check_mul(a, b)
    return operator.imul(a, b)


def _guarded_imod(a: Any, b: Any) -> Any:
    if isinstance(a, (str, bytes)):
        _check_percent_format(a)
    return operator.imod(a, b)


_INPLACE: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "+=": _guarded_iadd,
    "-=": operator.isub,
    "*=": _guarded_imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": _guarded_imod,
    "**=": _guarded_pow,
    "<<=": _guarded_lshift,
    ">>=": operator.irshift,
    "&=": operator.iand,
    "|=": operator.ior,
    "^=": operator.ixor,
    "@=": operator.imatmul,
}


_NUMBERS: Final = frozenset({int, float, bool})


def _inplacevar(op: str, target: Any, value: Any) -> Any:
    if op == "+=" and type(target) in _NUMBERS:
        return target + value
    func = _INPLACE.get(op)
    if func is None:
        raise ScriptSecurityError(f"augmented assignment {op!r} is not allowed")
    return func(target, value)


def _guarded_write(obj: Any) -> Any:
    """Target of item/attribute assignment and deletion: only dicts and lists may change.

    Everything else (helpers, classes, functions, datetimes...) is shared by every run or
    immutable anyway.
    """
    if isinstance(obj, (dict, list)):
        return obj
    raise ScriptSecurityError(f"scripts may not change {type(obj).__name__} objects")


def _inplaceitem(op: str, obj: Any, index: Any, value: Any) -> None:
    _guarded_write(obj)[index] = _inplacevar(op, obj[index], value)


# -- attribute access -------------------------------------------------------------------------

_FORBIDDEN_ATTRIBUTES: Final = frozenset(INSPECT_ATTRIBUTES) | {"mro", "format", "format_map"}

# name -> (classes whose instances or subclasses may not expose it, message)
_DENIED_CLASS_ATTRIBUTES: Final[dict[str, tuple[tuple[type, ...], str]]] = {
    "now": ((date,), "datetime.now() is not available in scripts; use now()"),
    "utcnow": ((date,), "datetime.utcnow() is not available in scripts; use now()"),
    "today": ((date,), "date.today() is not available in scripts; use today()"),
    "from_file": ((ZoneInfo,), "ZoneInfo.from_file() is not available in scripts"),
    "no_cache": ((ZoneInfo,), "ZoneInfo.no_cache() is not available in scripts"),
    "clear_cache": ((ZoneInfo,), "ZoneInfo.clear_cache() is not available in scripts"),
}


def _arg(args: tuple[Any, ...], kwargs: Mapping[str, Any], name: str, default: Any) -> Any:
    return args[0] if args else kwargs.get(name, default)


def _limit_width(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    width = _arg(args, kwargs, "width", 0)
    if isinstance(width, int) and width > MAX_SEQUENCE_LENGTH:
        _too_big("padded string")
    return args


def _limit_expandtabs(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    tabsize = _arg(args, kwargs, "tabsize", 8)
    if isinstance(obj, (str, bytes)) and isinstance(tabsize, int) and tabsize > 0:
        tabs = obj.count("\t" if isinstance(obj, str) else b"\t")
        if len(obj) + tabs * tabsize > MAX_SEQUENCE_LENGTH:
            _too_big("expanded string")
    return args


def _limit_replace(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    if isinstance(obj, (str, bytes)) and len(args) >= 2:
        old, new = args[0], args[1]
        count = args[2] if len(args) > 2 else kwargs.get("count", -1)
        if type(old) is type(obj) and type(new) is type(obj) and len(new) > len(old):
            hits = obj.count(old)
            if isinstance(count, int) and count >= 0:
                hits = min(hits, count)
            if len(obj) + hits * (len(new) - len(old)) > MAX_SEQUENCE_LENGTH:
                _too_big("replaced string")
    return args


def _limit_join(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    if not args or not isinstance(obj, (str, bytes)):
        return args
    items = list(args[0])
    total = len(obj) * max(len(items) - 1, 0)
    for item in items:
        if isinstance(item, (str, bytes)):
            total += len(item)
    if total > MAX_SEQUENCE_LENGTH:
        _too_big("joined string")
    return (items, *args[1:])


def _limit_translate(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    if isinstance(obj, str) and args and isinstance(args[0], dict):
        longest = max((len(v) for v in args[0].values() if isinstance(v, str)), default=1)
        if len(obj) * longest > MAX_SEQUENCE_LENGTH:
            _too_big("translated string")
    return args


def _limit_extend(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    if not isinstance(obj, list) or not args:
        return args
    # Materialize iterators first: `l.extend(iter(l))` would otherwise grow `l` forever in C.
    items = args[0] if isinstance(args[0], _SIZED) else list(args[0])
    if len(obj) + len(items) > MAX_SEQUENCE_LENGTH:
        _too_big("extended list")
    return (items, *args[1:])


def _limit_to_bytes(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    length = _arg(args, kwargs, "length", 1)
    if isinstance(length, int) and length > MAX_SEQUENCE_LENGTH:
        _too_big("bytes")
    return args


_Limiter = Callable[[Any, tuple[Any, ...], dict[str, Any]], tuple[Any, ...]]

# Methods of str/bytes/list/int that can build a result far larger than their inputs.
_AMPLIFIERS: Final[dict[str, _Limiter]] = {
    "center": _limit_width,
    "ljust": _limit_width,
    "rjust": _limit_width,
    "zfill": _limit_width,
    "expandtabs": _limit_expandtabs,
    "replace": _limit_replace,
    "join": _limit_join,
    "translate": _limit_translate,
    "extend": _limit_extend,
    "to_bytes": _limit_to_bytes,
}
_AMPLIFIER_TYPES: Final = (str, bytes, list, int)


def _size_checked(method: Callable[..., Any], limiter: _Limiter, owner: Any) -> Callable[..., Any]:
    if isinstance(owner, type):  # unbound: str.join(sep, items)

        def call_unbound(*args: Any, **kwargs: Any) -> Any:
            if args:
                args = (args[0], *limiter(args[0], args[1:], kwargs))
            return method(*args, **kwargs)

        return call_unbound

    def call_bound(*args: Any, **kwargs: Any) -> Any:
        return method(*limiter(owner, args, kwargs), **kwargs)

    return call_bound


def _guarded_getattr(obj: Any, name: str) -> Any:
    if type(name) is not str:
        raise ScriptSecurityError("attribute names must be plain strings")
    if name[:1] == "_" or name in _FORBIDDEN_ATTRIBUTES:
        raise ScriptSecurityError(f'access to the attribute "{name}" is not allowed in scripts')
    denied = _DENIED_CLASS_ATTRIBUTES.get(name)
    if denied is not None and (
        isinstance(obj, denied[0]) or (isinstance(obj, type) and issubclass(obj, denied[0]))
    ):
        raise ScriptSecurityError(denied[1])
    value = getattr(obj, name)
    limiter = _AMPLIFIERS.get(name)
    if limiter is not None and (
        isinstance(obj, _AMPLIFIER_TYPES)
        or (isinstance(obj, type) and issubclass(obj, _AMPLIFIER_TYPES))
    ):
        return _size_checked(value, limiter, obj)
    return value


# -- builtins ---------------------------------------------------------------------------------


class _Forbidden:
    """Stands in for a dangerous builtin so that calling it says why it fails."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __call__(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ScriptSecurityError(f'"{self._name}" is not available in scripts')

    def __repr__(self) -> str:
        return f"<not available: {self._name}>"


class _DiscardPrint:
    """``print`` in a diagram script goes nowhere (there is no console to read it)."""

    def __init__(self, _getattr_: object = None) -> None:
        pass

    def _call_print(self, *objects: object, **kwargs: object) -> None:
        pass

    def __call__(self) -> str:
        return ""


def _safe_range(*args: int) -> range:
    result = range(*args)
    try:
        length = len(result)
    except OverflowError:
        length = MAX_SEQUENCE_LENGTH + 1
    if length > MAX_SEQUENCE_LENGTH:
        _too_big("range")
    return result


# C functions that call back into other C functions can loop forever without a single trace
# event (`any(map(l.append, l))`, `sum(iter(int, 1))`): these versions run in Python instead.


def _safe_map(func: Callable[..., Any], iterable: Iterable[Any], /, *more: Iterable[Any]) -> Any:
    if more:
        for items in zip(iterable, *more, strict=False):
            yield func(*items)
    else:
        for item in iterable:
            yield func(item)


def _safe_filter(func: Callable[[Any], Any] | None, iterable: Iterable[Any], /) -> Any:
    for item in iterable:
        if func(item) if func is not None else item:
            yield item


def _iter_until(func: Callable[[], Any], sentinel: Any) -> Any:
    while True:
        value = func()
        if value == sentinel:
            return
        yield value


def _safe_iter(obj: Any, *sentinel: Any) -> Any:
    if not sentinel:
        return iter(obj)
    if len(sentinel) > 1 or not callable(obj):
        raise TypeError("iter() takes an iterable, or a callable and a sentinel")
    return _iter_until(obj, sentinel[0])


def _traced_key(func: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def key(value: Any) -> Any:
        return func(value)

    return key


def _safe_min(*args: Any, **kwargs: Any) -> Any:
    if kwargs.get("key") is not None:
        kwargs["key"] = _traced_key(kwargs["key"])
    return min(*args, **kwargs)


def _safe_max(*args: Any, **kwargs: Any) -> Any:
    if kwargs.get("key") is not None:
        kwargs["key"] = _traced_key(kwargs["key"])
    return max(*args, **kwargs)


def _safe_sum(iterable: Iterable[Any], /, start: Any = 0) -> Any:
    if isinstance(start, (list, tuple)):
        raise ScriptSecurityError("sum() of lists or tuples is not allowed; use a loop")
    return sum(iterable, start)


# fmt: off
_MATH_NAMES: Final = (
    "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "cbrt", "ceil", "copysign", "cos",
    "cosh", "degrees", "dist", "e", "erf", "erfc", "exp", "exp2", "expm1", "fabs", "floor",
    "fmod", "frexp", "fsum", "gamma", "gcd", "hypot", "inf", "isclose", "isfinite", "isinf",
    "isnan", "isqrt", "ldexp", "lgamma", "log", "log10", "log1p", "log2", "modf", "nan", "pi",
    "pow", "radians", "remainder", "sin", "sinh", "sqrt", "tan", "tanh", "tau", "trunc",
)
# fmt: on
_MATH: Final = types.SimpleNamespace(
    **{name: getattr(math, name) for name in _MATH_NAMES if hasattr(math, name)}
)

_DROPPED_EXCEPTIONS: Final = {"BaseException", "SystemExit", "KeyboardInterrupt", "GeneratorExit"}
# fmt: off
_FORBIDDEN_BUILTINS: Final = (
    "__import__", "open", "getattr", "setattr", "delattr", "hasattr", "type", "vars", "globals",
    "locals", "dir", "eval", "exec", "compile", "input", "breakpoint", "help", "exit", "quit",
    "memoryview", "object", "super", "classmethod", "staticmethod", "property", "bytes",
    "bytearray",
)
# fmt: on


def _build_builtins() -> dict[str, Any]:
    allowed = {
        name: value
        for name, value in safe_builtins.items()
        if name not in _DROPPED_EXCEPTIONS
        and name not in {"__build_class__", "setattr", "delattr", "_getattr_", "complex", "id"}
    }
    allowed.update(
        {
            "range": _safe_range,
            "pow": _safe_pow,
            "sum": _safe_sum,
            "format": _safe_format,
            "min": _safe_min,
            "max": _safe_max,
            "sorted": sorted,
            "reversed": reversed,
            "any": any,
            "all": all,
            "enumerate": enumerate,
            "zip": zip,
            "map": _safe_map,
            "filter": _safe_filter,
            "iter": _safe_iter,
            "next": next,
            "dict": dict,
            "list": list,
            "tuple": tuple,
            "set": set,
            "frozenset": frozenset,
            "round": round,
            "abs": abs,
            "len": len,
            "str": str,
            "int": int,
            "float": float,
            "bool": bool,
            "isinstance": isinstance,
            "math": _MATH,
            "RecursionError": RecursionError,
        }
    )
    allowed.update({name: _Forbidden(name) for name in _FORBIDDEN_BUILTINS})
    # The hooks RestrictedPython's rewritten code calls. Their names start with "_", so neither
    # scripts nor task data can reach or shadow them.
    allowed.update(
        {
            "_getattr_": _guarded_getattr,
            "_getitem_": _guarded_getitem,
            "_getiter_": iter,
            "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
            "_unpack_sequence_": guarded_unpack_sequence,
            "_write_": _guarded_write,
            "_inplacevar_": _inplacevar,
            "_inplaceitem_": _inplaceitem,
            "_apply_": _apply,
            "_print_": _DiscardPrint,
            _LOOP_TICK: None,
            "_add_": _guarded_add,
            "_mul_": _guarded_mul,
            "_pow_": _guarded_pow,
            "_lshift_": _guarded_lshift,
            "_mod_": _guarded_mod,
            "_format_": _guarded_format_value,
        }
    )
    return allowed


_BUILTINS: Final = _build_builtins()


# ---------------------------------------------------------------------------------------------
# Time and memory limits
# ---------------------------------------------------------------------------------------------

_PAGE_SIZE: Final = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _resident_bytes() -> int | None:
    """Resident memory of this process (Linux); None where it cannot be read cheaply."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return None


class _Run:
    """Limits of one evaluate/execute call: the trace functions and the handler guard."""

    __slots__ = (
        "abort",
        "baseline",
        "deadline",
        "local",
        "memory_limit",
        "next_check",
        "time_limit",
    )

    def __init__(self, time_limit: float, memory_limit: int | None) -> None:
        now = monotonic()
        self.time_limit = time_limit
        self.deadline = now + time_limit
        self.memory_limit = memory_limit
        self.baseline: int | None = None
        self.next_check = (
            min(self.deadline, now + _MEMORY_CHECK_INTERVAL) if memory_limit else self.deadline
        )
        self.abort: ScriptError | None = None
        self.local = self.trace_local

    def trace_call(self, frame: types.FrameType, event: str, arg: object) -> Any:
        if monotonic() >= self.next_check:
            self.check()
        if id(frame.f_code) in _LINELESS:
            return None
        return self.local

    def trace_local(self, frame: types.FrameType, event: str, arg: object) -> Any:
        if monotonic() >= self.next_check:
            self.check()
        return self.local

    def check(self) -> None:
        if self.abort is not None:
            raise type(self.abort)(self.abort.message)
        now = monotonic()
        if now >= self.deadline:
            self.fail(ScriptTimeout(f"exceeded the time limit of {self.time_limit:g} s"))
        if self.memory_limit:
            resident = _resident_bytes()
            if resident is None:
                self.memory_limit = None
            elif self.baseline is None:
                self.baseline = resident
            elif resident - self.baseline > self.memory_limit:
                self.fail(
                    ScriptResourceError(
                        f"used more than {self.memory_limit // 2**20} MiB of memory"
                    )
                )
            self.next_check = min(self.deadline, now + _MEMORY_CHECK_INTERVAL)
        else:
            self.next_check = self.deadline

    def fail(self, error: ScriptError) -> NoReturn:
        self.abort = error
        raise error

    def handler_guard(self) -> None:
        """First statement of every except/finally block of a script.

        A trace function that raises is switched off by CPython, so once a limit fires the
        script could catch the error and loop on untraced. This refuses to let it: a limit
        that fired fires again; otherwise tracing is switched back on (it also goes off when
        the trace function itself hits the recursion limit).
        """
        if self.abort is not None:
            raise type(self.abort)(self.abort.message)
        if monotonic() >= self.deadline:
            self.check()
        if sys.gettrace() != self.trace_call:
            sys.settrace(self.trace_call)
            frame = sys._getframe(1)
            while frame is not None and frame.f_code.co_filename == SCRIPT_FILENAME:
                if frame.f_trace is None:
                    frame.f_trace = self.local
                frame = frame.f_back


# Guards do bounded work: no line events inside them keeps the per-expression cost low.
_GUARD_CODES: Final = {
    id(func.__code__): func.__code__
    for func in (
        _guarded_getattr,
        _guarded_getitem,
        _guarded_add,
        _guarded_mul,
        _guarded_pow,
        _guarded_lshift,
        _guarded_mod,
        _guarded_format_value,
        _inplacevar,
        _inplaceitem,
        _guarded_write,
        _apply,
        _check_mul,
        _check_pow,
        _guarded_iadd,
        _guarded_imul,
        _guarded_imod,
        _check_percent_format,
        _check_format_spec,
        _check_width,
        _safe_range,
        _Run.handler_guard,
    )
}
_LINELESS.update(_GUARD_CODES)


# ---------------------------------------------------------------------------------------------
# Output checks
# ---------------------------------------------------------------------------------------------

_SCALARS: Final = (bool, int, float, type(None))
_FLAT_SCALARS: Final = frozenset({int, float, bool, type(None)})
_STRINGS_ONLY: Final = frozenset({str})
_ARRAYS: Final = (list, tuple, set, frozenset)
_NOT_DATA: Final = (types.GeneratorType, types.ModuleType)


def _data_size(value: Any, limit: int, what: str) -> int:
    """Approximate JSON size of ``value``; ScriptResourceError past ``limit`` or on a cycle.

    Shared references count every time (a serializer writes them out every time), but each
    container is measured once (memoized by id) and long lists of plain strings or numbers by
    C-level passes: a structure that would serialize to gigabytes is refused in microseconds,
    and ordinary data costs about one pass over its containers. A cycle recurses until Python's
    recursion limit, which is reported like data nested too deeply to store.
    """
    memo: dict[int, int] = {}

    def too_big() -> NoReturn:
        raise ScriptResourceError(f"{what} is larger than the limit of {limit} bytes")

    def items_size(items: Any) -> int:
        count = len(items)
        if count > 32:  # one C-level pass decides whether the elements need a look at all
            kinds = set(map(type, items))
            if kinds <= _FLAT_SCALARS:
                return 9 * count
            if kinds <= _STRINGS_ONLY:
                return sum(map(len, items)) + 3 * count
        total = count
        for item in items:
            kind = type(item)
            if kind is str:
                total += len(item) + 2
            elif kind in _FLAT_SCALARS:
                total += 8
            else:
                total += size(item)
            if total > limit:
                too_big()
        return total

    def size(obj: Any) -> int:
        kind = type(obj)
        if kind is str:
            return len(obj) + 2
        if kind in _FLAT_SCALARS:
            return 8
        key = id(obj)
        known = memo.get(key)
        if known is not None:
            return known
        if isinstance(obj, dict):
            total = 2 + 2 * len(obj)
            for name, item in obj.items():
                total += len(name) + 2 if type(name) is str else size(name)
                item_kind = type(item)
                if item_kind is str:
                    total += len(item) + 2
                elif item_kind in _FLAT_SCALARS:
                    total += 8
                else:
                    total += size(item)
                if total > limit:
                    too_big()
        elif isinstance(obj, _ARRAYS):
            total = 2 + items_size(obj)
        elif isinstance(obj, (bytes, bytearray)):
            total = 2 * len(obj) + 2
        elif callable(obj) or isinstance(obj, _NOT_DATA):
            # A function kept in task data would carry its run's namespace along, and no
            # serializer can store it.
            raise ScriptError(f"{what} contains a {type(obj).__name__}, which is not data")
        else:
            total = 16
        if total > limit:
            too_big()
        memo[key] = total
        return total

    try:
        return size(value)
    except RecursionError:
        raise ScriptResourceError(
            f"{what} refers to itself or is nested too deeply to be stored"
        ) from None


_ERROR_REPR: Final = reprlib.Repr()
_ERROR_REPR.maxstring = 200
_ERROR_REPR.maxother = 200
_ERROR_REPR.maxlevel = 3
_MAX_MESSAGE: Final = 10_000


def _is_plain(arg: object) -> bool:
    return (isinstance(arg, str) and len(arg) <= _MAX_MESSAGE) or isinstance(arg, _SCALARS)


def _safe_exception(exc: Exception) -> Exception:
    """``exc`` itself, or a ScriptError carrying a bounded text when its args are not short
    strings or numbers (SpiffWorkflow does ``":" + err.args[0]`` and formats ``str(err)``;
    neither may crash nor expand a huge object a script put there)."""
    if isinstance(exc, RecursionError):
        # Deep recursion can reach the interpreter's limit before the time limit; either way the
        # script was stopped, and the caller sees the sandbox's own error type.
        return ScriptResourceError("递归过深 (recursion too deep)").with_traceback(
            exc.__traceback__
        )
    args = exc.args
    if not args or (isinstance(args[0], str) and all(_is_plain(a) for a in args)):
        return exc
    detail = ", ".join(
        a[:_MAX_MESSAGE] if isinstance(a, str) else _ERROR_REPR.repr(a) for a in args[:5]
    )
    wrapped = ScriptError(f"{type(exc).__name__}: {detail}")
    return wrapped.with_traceback(exc.__traceback__)


# ---------------------------------------------------------------------------------------------
# The environment
# ---------------------------------------------------------------------------------------------


def _may_hide(namespace: Mapping[Any, Any]) -> bool:
    """Quick C-level test: may a key be private (``_``-prefixed) or not a string?"""
    try:
        return "\x00_" in "\x00" + "\x00".join(namespace)
    except TypeError:
        return True


_MUTABLE_HELPERS: Final = (dict, list, set, bytearray)
_MISSING: Final = object()


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow script environment running diagram code in the sandbox.

    Same contract as ``TaskDataEnvironment``: ``evaluate`` returns the value of an expression
    over the task data; ``execute`` runs a script in the task data and leaves new and changed
    variables there (not helpers, builtins, functions or generators; ``del x`` removes
    ``x``). Task-data keys starting with ``_`` are invisible to diagram code and untouched.

    Limits: ``time_limit`` seconds of wall-clock per call; ``memory_limit`` bytes of growth of
    the process's resident memory while a call runs (sampled every 5 ms; ``None`` to disable;
    Linux only); ``max_data_size`` bytes (approximate JSON size) for the task data a script
    leaves and for an expression's result (``None`` to disable). Errors are ``ScriptError``
    subclasses; ordinary Python errors of the diagram code (``KeyError``, ``NameError``...)
    propagate as they are, except that ones with non-text arguments become ``ScriptError``.

    ``helpers`` must be immutable values (functions, classes, tuples...): one mapping is
    shared by every call, so a dict or list there could be changed by one script for all
    later ones. Instances are thread-safe; the compile cache is shared process-wide.
    """

    def __init__(
        self,
        helpers: Mapping[str, Any] | None = None,
        time_limit: float = 1.0,
        *,
        memory_limit: int | None = 256 * 2**20,
        max_data_size: int | None = 16 * 2**20,
    ) -> None:
        helpers = dict(helpers or {})
        for name, value in helpers.items():
            if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
                raise ValueError(f"helper names must be identifiers without '_': {name!r}")
            if isinstance(value, _MUTABLE_HELPERS):
                raise TypeError(
                    f"helper {name!r} is a mutable {type(value).__name__}; scripts could change "
                    "it for every later call (use a tuple, frozenset or MappingProxyType)"
                )
        if not time_limit > 0:
            raise ValueError("time_limit must be a positive number of seconds")
        super().__init__(helpers)
        self.helpers: Mapping[str, Any] = types.MappingProxyType(helpers)
        self.time_limit = float(time_limit)
        self.memory_limit = memory_limit
        self.max_data_size = max_data_size
        # Helpers live with the builtins: task data (a namespace's globals) can shadow them in
        # expressions, and a namespace is then just a copy of the task data.
        self._builtins: dict[str, Any] = {**_BUILTINS, **helpers}
        self._helper_names = frozenset(helpers)

    # -- SpiffWorkflow API ----------------------------------------------------------------

    def evaluate(
        self,
        expression: str,
        context: Mapping[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> Any:
        code = _compile(_prepare_source(expression, "eval"), "eval")
        namespace = self._namespace(context, external_context)
        result = self._run(code, namespace, is_script=False)
        if (
            self.max_data_size is not None
            and not isinstance(result, _SCALARS)
            and not callable(result)
        ):
            _data_size(result, self.max_data_size, "the expression's value")
        return result

    def execute(
        self,
        script: str,
        context: MutableMapping[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> bool:
        external = external_context or {}
        self._check_for_overwrite(context, external)
        code = _compile(_prepare_source(script, "exec"), "exec")
        namespace = self._namespace(context, external)
        self._run(code, namespace, is_script=True)
        self._write_back(namespace, context, external)
        return True

    def call_service(self, context: Mapping[str, Any], **kwargs: Any) -> Any:
        raise NotImplementedError("service calls are made by the script engine, not here")

    # -- internals ------------------------------------------------------------------------

    def _namespace(
        self, context: Mapping[str, Any], external: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        namespace = {**external, **context} if external else dict(context)
        if _may_hide(namespace):
            for key in [k for k in namespace if type(k) is not str or k[:1] == "_"]:
                del namespace[key]
        namespace["__builtins__"] = self._builtins  # task data may not replace (or drop) them
        return namespace

    def _run(self, code: types.CodeType, namespace: dict[str, Any], *, is_script: bool) -> Any:
        run = _Run(self.time_limit, self.memory_limit)
        if is_script:
            namespace[_HANDLER_GUARD] = run.handler_guard
        previous = sys.gettrace()
        sys.settrace(run.trace_call)
        try:
            result = exec(code, namespace) if is_script else eval(code, namespace)
        except BaseException as exc:
            sys.settrace(previous)
            if run.abort is not None and exc is not run.abort:
                raise run.abort from None
            if isinstance(exc, Exception) and not isinstance(exc, ScriptError):
                safe = _safe_exception(exc)
                if safe is not exc:
                    raise safe from None
            raise
        sys.settrace(previous)
        if run.abort is not None:  # a limit fired and the script still ended normally
            raise run.abort
        return result

    def _check_for_overwrite(self, context: Mapping[str, Any], external: Mapping[str, Any]) -> None:
        clashes = self._helper_names.intersection(context)
        if external:
            clashes |= external.keys() & context.keys()
        if clashes:
            raise ScriptError(
                "task data would overwrite predefined name(s) "
                f"{', '.join(sorted(map(str, clashes)))}; rename the variable or form field"
            )

    def _write_back(
        self,
        namespace: dict[str, Any],
        context: MutableMapping[str, Any],
        external: Mapping[str, Any],
    ) -> None:
        updates: dict[str, Any] = {}
        for key, value in namespace.items():
            if (
                key[:1] == "_"
                or key in self._helper_names
                or (key in external and key not in context)
                or callable(value)
                or isinstance(value, _NOT_DATA)
            ):
                continue
            updates[key] = value
        if self.max_data_size is not None:
            _data_size(updates, self.max_data_size, "the task data left by the script")
        removed = [
            key for key in context if type(key) is str and key[:1] != "_" and key not in namespace
        ]
        for key in removed:
            del context[key]
        for key, value in updates.items():
            if context.get(key, _MISSING) is not value:
                context[key] = value
