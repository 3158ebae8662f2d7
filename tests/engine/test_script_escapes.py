"""Escapes are refused: code that reaches for Python internals, imports, files or the process fails
when checked or compiled, or when it runs, leaves the helpers as they were, and its errors carry
only plain text out."""

from __future__ import annotations

import pytest

from engine.sandbox import (
    RestrictedEnvironment,
    ScriptCompileError,
    ScriptError,
    ScriptSecurityError,
    check_source,
)
from tests.engine.script_helpers import MONDAY_9AM, env_fixture, pool_fixture  # noqa: F401  (fixtures)


def test_check_source() -> None:
    check_source("x = 1\nfor i in range(3):\n    x += i\n", "exec")
    check_source("amount <= 50000", "eval")
    check_source("'P3D'", "eval")
    with pytest.raises(ScriptCompileError, match="Line 2") as info:
        check_source("x = 1\nimport os\n", "exec")
    assert info.value.lineno == 2
    assert isinstance(info.value.args[0], str)
    with pytest.raises(ScriptCompileError, match="SyntaxError"):
        check_source("x = ", "exec")
    with pytest.raises(ScriptCompileError):
        check_source("x = 1", "eval")  # a statement is not an expression
    with pytest.raises(ScriptCompileError):
        check_source(None, "eval")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        check_source("1", "single")  # type: ignore[arg-type]


COMPILE_REFUSALS = [
    "().__class__.__bases__[0].__subclasses__()",
    "import os",
    "from os import path",
    "__import__('os')",
    "__builtins__",
    "datetime.__class__",
    "now.__globals__",
    "parse_datetime.__code__",
    "(x for x in []).gi_frame",
    "(x for x in []).gi_code",
    "f'{x.__class__}'",
    "eval('1')",
    "breakpoint()",
    "exec('x = 1')",
    "_secret",
    "class A:\n    pass",
    "with x:\n    pass",
    "async def f():\n    pass",
    "try:\n    1 / 0\nexcept Exception as e:\n    tb = e.__traceback__",
    "def f():\n    yield 1\nframe = f().gi_frame",
    "x = 1\ndef f():\n    nonlocal x",
    "x.y += 1",
]


@pytest.mark.parametrize("source", COMPILE_REFUSALS)
def test_refused_at_compile_time(env: RestrictedEnvironment, source: str) -> None:
    with pytest.raises(ScriptCompileError):
        env.execute(source, {"x": 1})
    with pytest.raises(ScriptCompileError):
        check_source(source, "exec")


RUNTIME_REFUSALS = [
    "getattr(x, '__class__')",
    "open('/etc/passwd')",
    "type(x)",
    "vars()",
    "globals()",
    "locals()",
    "dir(x)",
    "compile('1', 'f', 'eval')",
    "setattr(datetime, 'x', 1)",
    "object()",
    "'{0.__class__}'.format(1)",
    "'{x.__class__}'.format_map({'x': 1})",
    "str.format('{0.__class__}', 1)",
    "datetime.mro()",
    "int.mro()",
    "datetime.now()",
    "date.today()",
    "datetime.utcnow()",
    "SHANGHAI.clear_cache()",
    "SHANGHAI.from_file(None)",
    "SHANGHAI.no_cache('Asia/Tokyo')",
]


@pytest.mark.parametrize("expression", RUNTIME_REFUSALS)
def test_refused_at_run_time(env: RestrictedEnvironment, expression: str) -> None:
    with pytest.raises(ScriptSecurityError):
        env.evaluate(expression, {"x": 1})


@pytest.mark.parametrize(
    "script",
    [
        "e = eval\nx = e('1')",
        "f = getattr\nx = f(1, 'real')",
        "datetime.min = 1",
        "now.attribute = 1",
        "d = timedelta(days=1)\nd.days = 3",
        "math.pi = 3",
        "x = [1]\nsetattr(x, 'y', 1)",
    ],
)
def test_refused_in_scripts(env: RestrictedEnvironment, script: str) -> None:
    with pytest.raises(ScriptSecurityError):
        env.execute(script, {})


@pytest.mark.parametrize(
    "script", ["raise SystemExit", "raise KeyboardInterrupt", "raise BaseException('x')"]
)
def test_process_level_exceptions_are_not_reachable(
    env: RestrictedEnvironment, script: str
) -> None:
    with pytest.raises(NameError):
        env.execute(script, {})


def test_helpers_survive_scripts(env: RestrictedEnvironment) -> None:
    with pytest.raises(ScriptSecurityError):
        env.execute("math.floor = 1", {})
    assert env.evaluate("math.floor(2.5)", {}) == 2
    assert env.evaluate("now()", {}) == MONDAY_9AM


def test_errors_with_odd_arguments_become_plain_text(env: RestrictedEnvironment) -> None:
    with pytest.raises(ScriptError, match="KeyError: 5") as info:
        env.execute("x = {}[5]", {})
    assert info.value.args == ("KeyError: 5",)
    with pytest.raises(ScriptError) as info:
        env.execute("big = [[0] * 1000] * 1000\nraise ValueError(big)", {})
    assert len(str(info.value)) < 2000
    with pytest.raises(ValueError, match="plain"):
        env.execute("raise ValueError('plain')", {})  # ordinary errors stay as they are
