"""Time and memory limits of one call: the trace functions, and code they may skip.

``Run`` holds one evaluate/execute call's deadline and memory baseline and checks them from
``sys.settrace`` callbacks and from the guard at the top of every ``except``/``finally`` block.
Code objects without a backward jump (and the guards themselves) are registered as "lineless" so
the tracer skips their line events, which keeps the per-expression cost low.
"""

from __future__ import annotations

import dis
import os
import sys
import types

# The limit is the script's own CPU time (this thread's): a starved process on a busy machine
# is not a runaway script. The pool's wall-clock kill covers what never returns to Python.
from time import thread_time as monotonic
from typing import Any, Final, NoReturn

from engine.sandbox.attribute_guards import guarded_getattr
from engine.sandbox.builtins import safe_range
from engine.sandbox.errors import ScriptError, ScriptResourceError, ScriptTimeout
from engine.sandbox.limits import MEMORY_CHECK_INTERVAL, SCRIPT_FILENAME
from engine.sandbox.operator_guards import (
    apply,
    check_format_spec,
    check_mul,
    check_percent_format,
    check_pow,
    check_width,
    guarded_add,
    guarded_format_value,
    guarded_getitem,
    guarded_iadd,
    guarded_imod,
    guarded_imul,
    guarded_lshift,
    guarded_mod,
    guarded_mul,
    guarded_pow,
    guarded_write,
    inplaceitem,
    inplacevar,
)

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


def register_lineless(code: types.CodeType) -> None:
    if len(_LINELESS) > _LINELESS_MAX:  # absence only costs speed, never safety
        _LINELESS.clear()
        _LINELESS.update(_GUARD_CODES)
    pending = [code]
    while pending:
        current = pending.pop()
        pending.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
        if not _loops(current):
            _LINELESS[id(current)] = current


_PAGE_SIZE: Final = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _resident_bytes() -> int | None:
    """Resident memory of this process (Linux); None where it cannot be read cheaply."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return None


class Run:
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
            min(self.deadline, now + MEMORY_CHECK_INTERVAL) if memory_limit else self.deadline
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
            self.next_check = min(self.deadline, now + MEMORY_CHECK_INTERVAL)
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
            frame = sys._getframe(1)  # noqa: SLF001
            while frame is not None and frame.f_code.co_filename == SCRIPT_FILENAME:
                if frame.f_trace is None:
                    frame.f_trace = self.local
                frame = frame.f_back


# Guards do bounded work: no line events inside them keeps the per-expression cost low.
_GUARD_CODES: Final = {
    id(func.__code__): func.__code__
    for func in (
        guarded_getattr,
        guarded_getitem,
        guarded_add,
        guarded_mul,
        guarded_pow,
        guarded_lshift,
        guarded_mod,
        guarded_format_value,
        inplacevar,
        inplaceitem,
        guarded_write,
        apply,
        check_mul,
        check_pow,
        guarded_iadd,
        guarded_imul,
        guarded_imod,
        check_percent_format,
        check_format_spec,
        check_width,
        safe_range,
        Run.handler_guard,
    )
}
_LINELESS.update(_GUARD_CODES)
