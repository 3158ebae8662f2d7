"""Which diagram code may skip the worker process: code that provably cannot loop or explode.

Most gateway conditions, DMN cells and many one-line scripts are tiny (``amount > 1000``,
``status in ("a", "b")``, ``approved = True``). A round trip to a worker costs far more than
running them, and they cannot hurt the server: no loop, no call that could run long, no value
larger than a small multiple of the task data (which is itself size-checked). Such code still
runs the restricted-compiled code with every guard, only in-process and without the tracer.

The rules (``is_fast``), checked on the source's AST, at most ``_MAX_NODES`` nodes:

* names; constants (``None``, booleans, numbers up to 64 bits, text up to 1000 characters);
  tuple/list/set/dict displays of allowed parts; subscripts of names (or of subscripts of names)
  by constants;
* comparisons (``in``/``not in``, ``is``...), ``and``/``or``/``not``, unary ``-``/``+``, the
  conditional expression ``a if c else b``;
* ``+ - / //`` (result at most the sum of the operands), ``*`` only with a float constant
  operand (``amount * 1.1``); no ``**``, ``%``, ``<<``, f-strings, lambdas or comprehensions;
* calls of ``len``, ``abs``, ``bool``, ``min``, ``max``, ``round`` (digits: a constant within
  ±100) on allowed arguments, positional only (no ``str``/``int``: their cost on huge values is
  not linear); the engine clock's ``now()`` and ``today()`` without arguments (a clock read
  and a time-zone conversion), and ``.isoformat()`` without arguments on an allowed value (task
  data holds no type whose ``isoformat`` costs more than a date's: a timer's
  ``fired_at = now().isoformat()`` no longer costs a worker round trip);
* scripts: up to ``_MAX_STATEMENTS`` statements, each ``name = <allowed>``, ``name += <number>``
  / ``name -= <number>``, or ``name.append(<allowed>)``.

Everything else goes to a worker process.
"""

from __future__ import annotations

import ast
import types
from functools import lru_cache
from typing import Final

_MAX_NODES: Final = 60
_MAX_STATEMENTS: Final = 8
_MAX_TEXT: Final = 1000
_CHEAP_CALLS: Final = frozenset({"len", "abs", "bool", "round", "min", "max"})
_CLOCK_CALLS: Final = frozenset({"now", "today"})  # engine.sandbox.diagram_helpers
_CHEAP_METHODS: Final = frozenset({"isoformat"})
_ARITHMETIC: Final = (ast.Add, ast.Sub, ast.Div, ast.FloorDiv)
_UNARY: Final = (ast.Not, ast.USub, ast.UAdd)


def _constant(node: ast.AST) -> bool:
    if not isinstance(node, ast.Constant):
        return False
    value = node.value
    if value is None or isinstance(value, (bool, float)):
        return True
    if isinstance(value, int):
        return value.bit_length() <= 64
    return isinstance(value, str) and len(value) <= _MAX_TEXT


def _subscript(node: ast.Subscript) -> bool:
    base = node.value
    return isinstance(base, (ast.Name, ast.Subscript)) and _expr(base) and _constant(node.slice)


def _binop(node: ast.BinOp) -> bool:
    if isinstance(node.op, ast.Mult):
        floats = [
            side
            for side in (node.left, node.right)
            if isinstance(side, ast.Constant) and type(side.value) is float
        ]
        return bool(floats) and _expr(node.left) and _expr(node.right)
    return isinstance(node.op, _ARITHMETIC) and _expr(node.left) and _expr(node.right)


def _call(node: ast.Call) -> bool:
    func = node.func
    if isinstance(func, ast.Name) and func.id in _CLOCK_CALLS:
        return not node.args and not node.keywords
    if isinstance(func, ast.Attribute) and func.attr in _CHEAP_METHODS:
        return not node.args and not node.keywords and _expr(func.value)
    if not isinstance(func, ast.Name) or func.id not in _CHEAP_CALLS:
        return False
    if node.func.id == "round" and len(node.args) > 1:  # round(5, -10**18) computes 10**10**18
        digits = node.args[1]
        if not (
            isinstance(digits, ast.Constant)
            and type(digits.value) is int
            and abs(digits.value) <= 100
        ):
            return False
    return not node.keywords and all(_expr(arg) for arg in node.args)


def _expr(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return isinstance(node.ctx, ast.Load)
    if isinstance(node, ast.Constant):
        return _constant(node)
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(_expr(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and _expr(k) for k in node.keys) and all(
            _expr(v) for v in node.values
        )
    if isinstance(node, ast.Compare):
        return _expr(node.left) and all(_expr(c) for c in node.comparators)
    if isinstance(node, ast.BoolOp):
        return all(_expr(v) for v in node.values)
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, _UNARY) and _expr(node.operand)
    if isinstance(node, ast.IfExp):
        return _expr(node.test) and _expr(node.body) and _expr(node.orelse)
    if isinstance(node, ast.Subscript):
        return _subscript(node)
    if isinstance(node, ast.BinOp):
        return _binop(node)
    if isinstance(node, ast.Call):
        return _call(node)
    return False


def _statement(node: ast.stmt) -> bool:
    if isinstance(node, ast.Assign):
        return (
            len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and _expr(node.value)
        )
    if isinstance(node, ast.AugAssign):
        value = node.value
        return (
            isinstance(node.target, ast.Name)
            and isinstance(node.op, (ast.Add, ast.Sub))
            and isinstance(value, ast.Constant)
            and type(value.value) in (int, float)
            and _constant(value)
        )
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        call = node.value
        func = call.func
        return (
            isinstance(func, ast.Attribute)
            and func.attr == "append"
            and isinstance(func.value, ast.Name)
            and len(call.args) == 1
            and not call.keywords
            and _expr(call.args[0])
        )
    return False


@lru_cache(maxsize=4096)
def is_fast(source: str, mode: str) -> bool:
    """Whether ``source`` (already accepted by the restricted compile) may run in-process."""
    try:
        tree = ast.parse(source, mode="eval" if mode == "eval" else "exec")
    except (SyntaxError, ValueError):
        return False
    if sum(1 for _ in ast.walk(tree)) > _MAX_NODES:
        return False
    if isinstance(tree, ast.Expression):
        return _expr(tree.body)
    assert isinstance(tree, ast.Module)
    return 0 < len(tree.body) <= _MAX_STATEMENTS and all(_statement(s) for s in tree.body)


# Keyed by id() (a code object's own hash walks its contents); values keep the ids valid.
_NAMES: dict[int, tuple[types.CodeType, frozenset[str]]] = {}


def names_used(code: types.CodeType) -> frozenset[str]:
    """Every name ``code`` (and code nested in it) can load or store: the only task-data keys
    diagram code can reach, since ``globals()``/``vars()`` and friends are not available."""
    known = _NAMES.get(id(code))
    if known is not None and known[0] is code:
        return known[1]
    names: set[str] = set()
    pending = [code]
    while pending:
        current = pending.pop()
        names.update(current.co_names)
        pending.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
    if len(_NAMES) > 8192:
        _NAMES.clear()
    result = frozenset(names)
    _NAMES[id(code)] = (code, result)
    return result
