"""Size and memory limits on diagram code: values too large to build, data that keeps growing and
memory use are stopped, with room left for normal sizes."""

from __future__ import annotations

import time
from typing import Any

import pytest

from engine.sandbox import (
    MAX_SEQUENCE_LENGTH,
    RestrictedEnvironment,
    ScriptResourceError,
    ScriptSecurityError,
)
from tests.engine.script_helpers import env_fixture, pool_fixture  # noqa: F401  (fixtures)

RESOURCE_BOMBS = [
    "'x' * 10**9",
    "[0] * 10**9",
    "10**9 * [0]",
    "10 ** 10**8",
    "pow(10, 10**8)",
    "pow(3, 10**19000, 10**19000)",
    "1 << 10**9",
    "(10**5000) * (10**20000)",
    "'a'.ljust(10**10)",
    "'a'.zfill(10**10)",
    "str.center('a', 10**10)",
    "('a\\t' * 1000).expandtabs(10**6)",
    "('a' * 1000).replace('', 'x' * 1000)",
    "'x'.join(['y' * 600000] * 2)",
    "('a' * 1000).translate({97: 'b' * 10**6})",
    "(1).to_bytes(10**10, 'big')",
    "f'{1:>10000000000}'",
    "f'{1.5:.10000000000f}'",
    "format(1, '>10000000000')",
    "'%10000000000d' % 1",
    "range(10**12)",
    "sum([[1] * 1000] * 1000, [])",
    "[[0] * 1000] * 100000",  # result too large to hand back
]


@pytest.mark.parametrize("expression", RESOURCE_BOMBS)
def test_size_bombs_are_refused(env: RestrictedEnvironment, expression: str) -> None:
    with pytest.raises((ScriptResourceError, ScriptSecurityError)):
        env.evaluate(expression, {})


@pytest.mark.parametrize(
    "script",
    [
        "s = 'ab'\nwhile True:\n    s = s + s",
        "s = 'ab'\nwhile True:\n    s += s",
        "x = 3\nwhile True:\n    x = x * x",
        "x = 3\nwhile True:\n    x *= x",
        "items = [0] * 600000\nitems.extend(items)",
        "items = [0] * 600000\nitems += items",
        "a = [0] * 1000\nb = [a] * 1000\nc = [b] * 1000",  # too much data left behind
        "loop = [1]\nloop.append(loop)",  # cannot be stored
    ],
)
def test_growth_is_refused(env: RestrictedEnvironment, script: str) -> None:
    data: dict[str, Any] = {"keep": 1}
    with pytest.raises(ScriptResourceError):
        env.execute(script, data)
    assert data == {"keep": 1}  # nothing half-written


def test_limits_leave_room_for_normal_sizes(env: RestrictedEnvironment) -> None:
    assert len(env.evaluate("'x' * 1000 + 'y' * 1000", {})) == 2000
    assert env.evaluate("len([0] * MAXN)", {"MAXN": MAX_SEQUENCE_LENGTH}) == MAX_SEQUENCE_LENGTH
    assert env.evaluate("2 ** 1000 > 10 ** 300", {}) is True
    assert env.evaluate("len(list(range(100000)))", {}) == 100000


def _can_read_rss() -> bool:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return bool(statm.read())
    except OSError:
        return False


@pytest.mark.skipif(not _can_read_rss(), reason="needs /proc/self/statm")
def test_memory_growth_is_stopped() -> None:
    env = RestrictedEnvironment(time_limit=5, memory_limit=64 * 2**20)
    started = time.monotonic()
    with pytest.raises(ScriptResourceError, match="memory"):
        env.execute("kept = []\nwhile True:\n    kept.append('x' * 500000 + str(len(kept)))", {})
    assert time.monotonic() - started < 4
