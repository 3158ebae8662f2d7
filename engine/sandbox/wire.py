"""What crosses the process boundary between the engine and a script worker.

The engine pickles its requests normally (the worker trusts its parent). Everything coming back
from a worker is read with ``loads``: a restricted unpickler that builds only plain data
(containers, numbers, text, dates and times, ``Decimal``, ``UUID``), so a worker whose sandbox
had been escaped still could not make the engine run code by unpickling. Exceptions cross as
``(class name, args, extras)`` and are rebuilt from a fixed set of classes; ``raise_at`` re-raises
one through a frame named like diagram code, so SpiffWorkflow still reports the script's line.
"""

from __future__ import annotations

import builtins
import io
import pickle
import traceback
from functools import lru_cache
from typing import Any, Final, NoReturn
from zoneinfo import ZoneInfo

from engine.sandbox import errors
from engine.sandbox.errors import ScriptError
from engine.sandbox.limits import SCRIPT_FILENAME

PROTOCOL: Final = pickle.HIGHEST_PROTOCOL

# (module, qualified name) of the only globals a worker's reply may name.
_ALLOWED_GLOBALS: Final = frozenset(
    {
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("datetime", "datetime"),
        ("datetime", "date"),
        ("datetime", "time"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("decimal", "Decimal"),
        ("uuid", "UUID"),
        ("uuid", "SafeUUID"),
        ("zoneinfo", "ZoneInfo"),
    }
)


def _zoneinfo_getattr(obj: object, name: str) -> Any:
    # A pickled ZoneInfo is ``getattr(ZoneInfo, "_unpickle")(key, from_cache)``; that is the
    # only getattr a reply may use (a general one would reach any object).
    if obj is ZoneInfo and name == "_unpickle":
        return ZoneInfo._unpickle  # noqa: SLF001  # type: ignore[attr-defined]
    raise ScriptError("the script produced a value that is not data")


class _DataUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        if (module, name) == ("builtins", "getattr"):
            return _zoneinfo_getattr
        raise ScriptError(f"the script produced a {module}.{name}, which is not data")


def loads(payload: bytes) -> Any:
    """Unpickle a worker's message, refusing anything but plain data."""
    try:
        return _DataUnpickler(io.BytesIO(payload)).load()
    except ScriptError:
        raise
    except Exception as exc:  # truncated or malformed: the worker misbehaved
        kind = type(exc).__name__
        raise ScriptError(f"unreadable reply from the script worker ({kind})") from None


def dumps(value: Any) -> bytes:
    return pickle.dumps(value, PROTOCOL)


# -- exceptions ------------------------------------------------------------------------------

_SCRIPT_ERRORS: Final[dict[str, type[ScriptError]]] = {
    cls.__name__: cls
    for cls in (
        errors.ScriptError,
        errors.ScriptCompileError,
        errors.ScriptSecurityError,
        errors.ScriptTimeout,
        errors.ScriptResourceError,
    )
}
_BUILTIN_ERRORS: Final[dict[str, type[Exception]]] = {
    name: value
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, Exception)
}


def _plain(value: object) -> bool:
    return isinstance(value, (str, int, float, bool, type(None)))


def script_lineno(exc: BaseException) -> int:
    """Line of diagram code where ``exc`` was raised (0 when unknown), as SpiffWorkflow finds it."""
    line = 0
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == SCRIPT_FILENAME and frame.lineno:
            line = frame.lineno
    return line


def encode_error(exc: BaseException) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    """``(class name, args, extras)`` for ``exc``: its own class if it is a sandbox error,
    else the nearest builtin exception class it derives from."""
    extras: dict[str, Any] = {"lineno": script_lineno(exc)}
    if isinstance(exc, ScriptError):
        name = next(c.__name__ for c in type(exc).__mro__ if c.__name__ in _SCRIPT_ERRORS)
        if isinstance(exc, errors.ScriptCompileError):
            extras["compile_lineno"] = exc.lineno
        return name, (exc.message,), extras
    name = next(
        (c.__name__ for c in type(exc).__mro__ if _BUILTIN_ERRORS.get(c.__name__) is c),
        "ScriptError",
    )
    args = exc.args
    if not all(_plain(a) for a in args):
        return "ScriptError", (f"{type(exc).__name__}: {exc}"[:10_000],), extras
    if isinstance(exc, NameError):
        extras["name"] = exc.name
    return name, tuple(args), extras


def decode_error(encoded: object) -> tuple[Exception, int]:
    """The exception a worker reported and its line; a ScriptError if the report is odd."""
    try:
        name, args, extras = encoded  # type: ignore[misc]
        if not isinstance(name, str) or not isinstance(args, tuple) or not isinstance(extras, dict):
            raise TypeError
        if not all(_plain(a) for a in args):
            raise TypeError
        lineno = extras.get("lineno", 0)
        lineno = lineno if type(lineno) is int and 0 < lineno < 1_000_000 else 0
        if name in _SCRIPT_ERRORS:
            message = str(args[0]) if args else name
            if name == "ScriptCompileError":
                compile_line = extras.get("compile_lineno")
                return errors.ScriptCompileError(
                    message, compile_line if type(compile_line) is int else None
                ), lineno
            return _SCRIPT_ERRORS[name](message), lineno
        cls = _BUILTIN_ERRORS[name]
        exc = cls(*args)
        if isinstance(exc, NameError) and isinstance(extras.get("name"), str):
            exc.name = extras["name"]
        return exc, lineno
    except Exception:
        return ScriptError("the script worker reported an unreadable error"), 0


@lru_cache(maxsize=256)
def _raiser(lineno: int) -> Any:
    return compile("\n" * (lineno - 1) + "raise __error__", SCRIPT_FILENAME, "exec")


def raise_at(exc: Exception, lineno: int) -> NoReturn:
    """Raise ``exc`` so that its traceback ends in a diagram-code frame at ``lineno``."""
    if lineno > 0:
        exec(_raiser(lineno), {"__builtins__": {}, "__error__": exc})
    raise exc
