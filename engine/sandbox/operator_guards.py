"""Run-time guards for operators, item access, assignment targets and formatting.

RestrictedPython's rewritten code calls these (``_add_``, ``_mul_``, ``_inplacevar_``,
``_write_``...) instead of the bare operations, so that no single step can build a value past
the size limits or change an object other than a dict or list. None of them is reachable by
name from diagram code.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from typing import Any, Final

from engine.sandbox.errors import ScriptSecurityError
from engine.sandbox.limits import MAX_INT_BITS, MAX_MODPOW_COST, MAX_SEQUENCE_LENGTH, too_big

_SEQUENCES: Final = (str, bytes, list, tuple)
SIZED: Final = (str, bytes, list, tuple, dict, set, frozenset)


def guarded_add(a: Any, b: Any) -> Any:
    if (
        isinstance(a, _SEQUENCES)
        and isinstance(b, _SEQUENCES)
        and len(a) + len(b) > MAX_SEQUENCE_LENGTH
    ):
        too_big("concatenation")
    return a + b


def check_mul(a: Any, b: Any) -> None:
    if isinstance(a, int):
        if isinstance(b, int):
            if a.bit_length() + b.bit_length() > MAX_INT_BITS:
                too_big("integer product")
        elif isinstance(b, _SEQUENCES) and len(b) * a > MAX_SEQUENCE_LENGTH:
            too_big("repeated sequence")
    elif isinstance(a, _SEQUENCES) and isinstance(b, int) and len(a) * b > MAX_SEQUENCE_LENGTH:
        too_big("repeated sequence")


def guarded_mul(a: Any, b: Any) -> Any:
    check_mul(a, b)
    return a * b


def check_pow(base: Any, exponent: Any) -> None:
    if (
        isinstance(base, int)
        and isinstance(exponent, int)
        and exponent > 0
        and abs(base) > 1
        and exponent * math.log2(abs(base)) > MAX_INT_BITS
    ):
        too_big("power")


def guarded_pow(base: Any, exponent: Any) -> Any:
    check_pow(base, exponent)
    return base**exponent


def safe_pow(base: Any, exp: Any, mod: Any = None) -> Any:
    if mod is None:
        return guarded_pow(base, exp)
    if (
        isinstance(exp, int)
        and isinstance(mod, int)
        and exp.bit_length() * mod.bit_length() > MAX_MODPOW_COST
    ):
        too_big("modular power")
    return pow(base, exp, mod)


def guarded_lshift(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and a and a.bit_length() + b > MAX_INT_BITS:
        too_big("shift")
    return a << b


# %-formatting: width/precision digits or '*' inside a conversion specifier.
_PERCENT_SPEC: Final = re.compile(r"%%|%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS: Final = re.compile(r"\d+")


def check_width(text: str) -> None:
    if int(text) > MAX_SEQUENCE_LENGTH:
        too_big("formatted field")


def check_percent_format(fmt: str | bytes) -> None:
    text = fmt.decode("latin-1") if isinstance(fmt, bytes) else fmt
    if "%" not in text:
        return
    for match in _PERCENT_SPEC.finditer(text):
        for part in match.groups():
            if part == "*":
                raise ScriptSecurityError("'*' widths in %-formatting are not supported")
            if part:
                check_width(part)


def guarded_mod(a: Any, b: Any) -> Any:
    if isinstance(a, (str, bytes)):
        check_percent_format(a)
    return a % b


def check_format_spec(spec: object) -> None:
    if isinstance(spec, str):
        for digits in _DIGITS.findall(spec):
            check_width(digits)


_CONVERSIONS: Final[dict[int, Callable[[Any], str]]] = {115: str, 114: repr, 97: ascii}


def guarded_format_value(value: Any, conversion: int, spec: str) -> str:
    convert = _CONVERSIONS.get(conversion)
    if convert is not None:
        value = convert(value)
    check_format_spec(spec)
    return format(value, spec)


def safe_format(value: Any, spec: str = "") -> str:
    check_format_spec(spec)
    return format(value, spec)


def guarded_getitem(obj: Any, index: Any) -> Any:
    return obj[index]


def apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


def guarded_iadd(a: Any, b: Any) -> Any:
    if isinstance(a, list) and not isinstance(b, SIZED):
        b = list(b)  # `l += iter(l)` would otherwise grow `l` forever in C
    if (
        isinstance(a, _SEQUENCES)
        and isinstance(b, _SEQUENCES)
        and len(a) + len(b) > MAX_SEQUENCE_LENGTH
    ):
        too_big("concatenation")
    return operator.iadd(a, b)


def guarded_imul(a: Any, b: Any) -> Any:
    check_mul(a, b)
    return operator.imul(a, b)


def guarded_imod(a: Any, b: Any) -> Any:
    if isinstance(a, (str, bytes)):
        check_percent_format(a)
    return operator.imod(a, b)


_INPLACE: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "+=": guarded_iadd,
    "-=": operator.isub,
    "*=": guarded_imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": guarded_imod,
    "**=": guarded_pow,
    "<<=": guarded_lshift,
    ">>=": operator.irshift,
    "&=": operator.iand,
    "|=": operator.ior,
    "^=": operator.ixor,
    "@=": operator.imatmul,
}


_NUMBERS: Final = frozenset({int, float, bool})


def inplacevar(op: str, target: Any, value: Any) -> Any:
    if op == "+=" and type(target) in _NUMBERS:
        return target + value
    func = _INPLACE.get(op)
    if func is None:
        raise ScriptSecurityError(f"augmented assignment {op!r} is not allowed")
    return func(target, value)


def guarded_write(obj: Any) -> Any:
    """Target of item/attribute assignment and deletion: only dicts and lists may change.

    Everything else (helpers, classes, functions, datetimes...) is shared by every run or
    immutable anyway.
    """
    if isinstance(obj, (dict, list)):
        return obj
    raise ScriptSecurityError(f"scripts may not change {type(obj).__name__} objects")


def inplaceitem(op: str, obj: Any, index: Any, value: Any) -> None:
    guarded_write(obj)[index] = inplacevar(op, obj[index], value)
