"""The builtins diagram code sees, and the hooks RestrictedPython's rewritten code calls.

A short allow-list of Python builtins, size-checked or traced replacements for the ones that
could build huge values or loop in C without a trace event, stand-ins that explain why a
dangerous builtin is unavailable, and the underscore-named guard hooks (out of reach of scripts
and task data).
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable, Iterable
from typing import Any, Final, NoReturn

from RestrictedPython.Guards import (
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
)

from engine.sandbox.attribute_guards import guarded_getattr
from engine.sandbox.errors import ScriptSecurityError
from engine.sandbox.limits import LOOP_TICK, MAX_SEQUENCE_LENGTH, too_big
from engine.sandbox.operator_guards import (
    apply,
    guarded_add,
    guarded_format_value,
    guarded_getitem,
    guarded_lshift,
    guarded_mod,
    guarded_mul,
    guarded_pow,
    guarded_write,
    inplaceitem,
    inplacevar,
    safe_format,
    safe_pow,
)


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


def safe_range(*args: int) -> range:
    result = range(*args)
    try:
        length = len(result)
    except OverflowError:
        length = MAX_SEQUENCE_LENGTH + 1
    if length > MAX_SEQUENCE_LENGTH:
        too_big("range")
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
            "range": safe_range,
            "pow": safe_pow,
            "sum": _safe_sum,
            "format": safe_format,
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
            "_getattr_": guarded_getattr,
            "_getitem_": guarded_getitem,
            "_getiter_": iter,
            "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
            "_unpack_sequence_": guarded_unpack_sequence,
            "_write_": guarded_write,
            "_inplacevar_": inplacevar,
            "_inplaceitem_": inplaceitem,
            "_apply_": apply,
            "_print_": _DiscardPrint,
            LOOP_TICK: None,
            "_add_": guarded_add,
            "_mul_": guarded_mul,
            "_pow_": guarded_pow,
            "_lshift_": guarded_lshift,
            "_mod_": guarded_mod,
            "_format_": guarded_format_value,
        }
    )
    return allowed


BUILTINS: Final = _build_builtins()
