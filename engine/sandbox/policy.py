"""Compile-time policy: the RestrictedPython transformer and the cached restricted compile.

RestrictedPython's policy is tightened for diagram code here (no ``import``, ``class`` or
``with``; size guards around ``+ * ** << %`` and f-string format specs; a limit re-check at the
top of every ``except``/``finally`` block; a loop tick in every ``while``). ``check_source`` is
the deploy-time entry point; nothing in this module runs diagram code.
"""

from __future__ import annotations

import ast
import re
import types
from functools import lru_cache
from typing import Final, Literal

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.transformer import (
    IOPERATOR_TO_STR,
    RestrictingNodeTransformer,
    copy_locations,
)

from engine.sandbox.errors import ScriptCompileError
from engine.sandbox.limits import HANDLER_GUARD, LOOP_TICK, SCRIPT_FILENAME
from engine.sandbox.tracer import register_lineless

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
        tick = ast.Expr(value=ast.Name(LOOP_TICK, ast.Load()))
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
        statement = ast.Expr(value=_call(HANDLER_GUARD, [], anchor))
        copy_locations(statement, anchor)
        return statement


_LINE_RE: Final = re.compile(r"Line (\d+):")


def prepare_source(source: object, mode: str) -> str:
    if not isinstance(source, str):
        raise ScriptCompileError(
            f"expected the {'expression' if mode == 'eval' else 'script'} as text, "
            f"got {type(source).__name__}"
        )
    # Builtin eval() tolerates leading blanks; XML-formatted conditions often have them.
    return source.strip() if mode == "eval" else source


@lru_cache(maxsize=4096)
def compile_source(source: str, mode: str) -> types.CodeType:
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
    register_lineless(result.code)
    return result.code


def check_source(source: str, mode: Literal["eval", "exec"]) -> None:
    """Raise ``ScriptCompileError`` unless ``source`` compiles under the sandbox's rules.

    Use at deploy time on every script (``"exec"``) and every condition, timer expression and
    parameter expression (``"eval"``) of a diagram. It does not run anything.
    """
    if mode not in ("eval", "exec"):
        raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")
    compile_source(prepare_source(source, mode), mode)
