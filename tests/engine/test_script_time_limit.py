"""The time limit on diagram code: runaway loops, recursion bombs and endless iterators are
stopped, a trace function already set survives, and the limit holds per call and in any thread."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

import pytest

from engine.sandbox import (
    RestrictedEnvironment,
    ScriptCompileError,
    ScriptResourceError,
    ScriptTimeout,
)
from tests.engine.script_helpers import SHORT, pool_fixture, short_env_fixture  # noqa: F401  (fixtures)

RUNAWAY_SCRIPTS = [
    "while True: pass",
    "while True:\n    pass",
    "while 1:\n    continue",
    "n = 0\nwhile n >= 0:\n    n += 1",
    "n = 0\nwhile n <= 0:\n    n -= 1",
    "def spin(n):\n    while n >= 0:\n        n += 1\nspin(0)",
    "while True:\n    try:\n        while True: pass\n    except Exception:\n        pass",
    "while True:\n    try:\n        while True: pass\n    except:\n        pass",
    "while True:\n    try:\n        while True: pass\n    finally:\n        continue",
    "def f():\n    f()\ntry:\n    f()\nexcept RecursionError:\n    pass\nwhile True: pass",
    "def f():\n    try:\n        f()\n    finally:\n        f()\nf()",
    "x = [i for i in range(10**6) for j in range(10**6)]",
    "def g():\n    while True:\n        yield 1\nx = sum(g())",
    "x = sum(iter(int, 1))",
    "items = [0]\nx = any(map(items.append, items))",
    "items = [0]\nx = any(filter(items.append, items))",
    "items = [0]\nitems.extend(iter(items))\nwhile True: pass",
    "items = [0]\nitems += iter(items)\nwhile True: pass",
]


@pytest.mark.parametrize("script", RUNAWAY_SCRIPTS)
def test_runaway_scripts_time_out(short_env: RestrictedEnvironment, script: str) -> None:
    started = time.monotonic()
    # Recursion bombs may hit the interpreter's recursion limit first (depends on how deep the
    # test runner's stack already is); that is stopped too, as the sandbox's resource error.
    with pytest.raises((ScriptTimeout, ScriptResourceError)):
        short_env.execute(script, {})
    assert time.monotonic() - started < SHORT + 0.5


@pytest.mark.parametrize(
    "expression", ["sum(iter(int, 1))", "[1 for i in range(10**6) for j in range(10**6)]"]
)
def test_runaway_expressions_time_out(short_env: RestrictedEnvironment, expression: str) -> None:
    started = time.monotonic()
    with pytest.raises(ScriptTimeout):
        short_env.evaluate(expression, {})
    assert time.monotonic() - started < SHORT + 0.5


def test_previous_trace_function_is_restored(short_env: RestrictedEnvironment) -> None:
    def outer_tracer(frame: Any, event: str, arg: Any) -> None:
        return None

    previous = sys.gettrace()
    sys.settrace(outer_tracer)
    try:
        assert short_env.evaluate("1 + 1", {}) == 2
        assert sys.gettrace() is outer_tracer
        with pytest.raises(ScriptTimeout):
            short_env.execute("while True: pass", {})
        assert sys.gettrace() is outer_tracer
        with pytest.raises(ScriptCompileError):
            short_env.execute("import os", {})
        assert sys.gettrace() is outer_tracer
        with pytest.raises(ZeroDivisionError):
            short_env.evaluate("1 / 0", {})
        assert sys.gettrace() is outer_tracer
    finally:
        sys.settrace(previous)


def test_time_limit_works_in_other_threads(short_env: RestrictedEnvironment) -> None:
    outcome: list[BaseException | None] = []

    def worker() -> None:
        try:
            short_env.execute("while True: pass", {})
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)
        outcome.append(sys.gettrace())  # type: ignore[arg-type]

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(5)
    assert not thread.is_alive()
    assert isinstance(outcome[0], ScriptTimeout)
    assert outcome[1] is None


def test_time_limit_is_per_call() -> None:
    env = RestrictedEnvironment(time_limit=0.3)
    for _ in range(3):  # each call gets its own budget; earlier calls do not use it up
        env.execute("n = 0\nwhile n < 20000:\n    n += 1", {})
