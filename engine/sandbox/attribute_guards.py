"""Run-time guard for attribute access (``_getattr_``).

Refuses private names and introspection attributes, class-level escapes such as
``datetime.now`` (scripts get a fixed clock through helpers instead), and wraps the few
str/bytes/list/int methods that can amplify their input (``ljust``, ``join``, ``replace``...)
in a size check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, Final
from zoneinfo import ZoneInfo

from RestrictedPython.transformer import INSPECT_ATTRIBUTES

from engine.sandbox.errors import ScriptSecurityError
from engine.sandbox.limits import MAX_SEQUENCE_LENGTH, too_big
from engine.sandbox.operator_guards import SIZED

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
        too_big("padded string")
    return args


def _limit_expandtabs(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    tabsize = _arg(args, kwargs, "tabsize", 8)
    if isinstance(obj, (str, bytes)) and isinstance(tabsize, int) and tabsize > 0:
        tabs = obj.count("\t" if isinstance(obj, str) else b"\t")
        if len(obj) + tabs * tabsize > MAX_SEQUENCE_LENGTH:
            too_big("expanded string")
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
                too_big("replaced string")
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
        too_big("joined string")
    return (items, *args[1:])


def _limit_translate(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    if isinstance(obj, str) and args and isinstance(args[0], dict):
        longest = max((len(v) for v in args[0].values() if isinstance(v, str)), default=1)
        if len(obj) * longest > MAX_SEQUENCE_LENGTH:
            too_big("translated string")
    return args


def _limit_extend(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    if not isinstance(obj, list) or not args:
        return args
    # Materialize iterators first: `l.extend(iter(l))` would otherwise grow `l` forever in C.
    items = args[0] if isinstance(args[0], SIZED) else list(args[0])
    if len(obj) + len(items) > MAX_SEQUENCE_LENGTH:
        too_big("extended list")
    return (items, *args[1:])


def _limit_to_bytes(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    length = _arg(args, kwargs, "length", 1)
    if isinstance(length, int) and length > MAX_SEQUENCE_LENGTH:
        too_big("bytes")
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


def guarded_getattr(obj: Any, name: str) -> Any:
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
