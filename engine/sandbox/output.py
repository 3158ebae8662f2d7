"""Checks on what leaves the sandbox: data a script leaves behind, values and errors.

``data_size`` bounds the approximate JSON size of task data and expression results (and
refuses functions, generators and cycles, which no serializer can store); ``safe_exception``
makes sure an exception raised by diagram code carries only a short text that SpiffWorkflow can
format without expanding a huge object.
"""

from __future__ import annotations

import math
import re
import reprlib
import sys
import types
from typing import Any, Final, NoReturn

from engine.sandbox.errors import ScriptError, ScriptResourceError

SCALARS: Final = (bool, int, float, type(None))
_FLAT_SCALARS: Final = frozenset({int, float, bool, type(None)})
_STRINGS_ONLY: Final = frozenset({str})
_ARRAYS: Final = (list, tuple, set, frozenset)
NOT_DATA: Final = (types.GeneratorType, types.ModuleType)


def data_size(value: Any, limit: int, what: str) -> int:
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
        elif callable(obj) or isinstance(obj, NOT_DATA):
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


_SURROGATE: Final = re.compile("[\ud800-\udfff]")
# An int of at most this many bits has at most 4,300 decimal digits (Python's default limit on
# int-to-text conversion, which every JSON encoder here meets): only longer ones need a look.
_SHORT_INT_BITS: Final = 14_000


def check_storable(value: Any, what: str) -> None:
    """ScriptError if ``value`` holds what no JSON column can keep: NaN or ±Infinity, an integer
    too long to write as text (``sys.get_int_max_str_digits``), or text with a lone UTF-16
    surrogate. Raised at the script's step (an incident naming it) rather
    than when the instance is saved, where it would fail every later request. Called after
    ``data_size``, so the walk is bounded."""

    def bad(problem: str) -> NoReturn:
        raise ScriptError(f"{what} contains {problem}, which cannot be stored")

    stack = [value]
    seen: set[int] = set()
    while stack:
        obj = stack.pop()
        kind = type(obj)
        if kind is str:
            if not obj.isascii() and _SURROGATE.search(obj):
                bad("text with a lone surrogate")
        elif kind is float:
            if not math.isfinite(obj):
                bad("NaN or Infinity")
        elif kind is int:
            if obj.bit_length() > _SHORT_INT_BITS and not _writable(obj):
                bad(f"a number longer than {sys.get_int_max_str_digits()} digits")
        elif isinstance(obj, dict | list | tuple | set | frozenset):
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            if isinstance(obj, dict):
                stack.extend(obj.keys())
                stack.extend(obj.values())
            else:
                stack.extend(obj)


_ERROR_REPR: Final = reprlib.Repr()
_ERROR_REPR.maxstring = 200
_ERROR_REPR.maxother = 200
_ERROR_REPR.maxlevel = 3
_MAX_MESSAGE: Final = 10_000


def _is_plain(arg: object) -> bool:
    return (isinstance(arg, str) and len(arg) <= _MAX_MESSAGE) or isinstance(arg, SCALARS)


def safe_exception(exc: Exception) -> Exception:
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


def _writable(number: int) -> bool:
    """Whether ``number`` can be written as decimal text (what every JSON encoder does)."""
    try:
        str(number)
    except ValueError:
        return False
    return True
