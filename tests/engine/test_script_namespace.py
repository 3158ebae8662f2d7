"""What a script sees and what it leaves behind: the helpers and task data share one namespace
without shadowing, private keys stay invisible, and only storable data is written back."""

from __future__ import annotations

from typing import Any

import pytest

from engine.sandbox import RestrictedEnvironment, ScriptCompileError, ScriptError
from tests.engine.script_helpers import env_fixture, pool_fixture  # noqa: F401  (fixtures)


def test_execute_leaves_only_data_behind(env: RestrictedEnvironment) -> None:
    data = {"keep": 1, "drop": 2, "_private": {"owner": "app"}}
    env.execute(
        "def helper():\n    return 1\n"
        "f = lambda: 1\nfn = len\nclock = now\ngen = (x for x in [1])\n"
        "value = helper() + keep\ndel drop\n",
        data,
    )
    assert data == {"keep": 1, "value": 2, "_private": {"owner": "app"}}
    assert "__builtins__" not in data


@pytest.mark.parametrize(
    "script", ["box = {'f': lambda: 1}", "box = [len]", "box = [(x for x in [1])]"]
)
def test_functions_inside_data_are_refused(env: RestrictedEnvironment, script: str) -> None:
    data: dict[str, Any] = {}
    with pytest.raises(ScriptError, match="not data"):
        env.execute(script, data)
    assert data == {}


def test_task_data_may_not_shadow_helpers(env: RestrictedEnvironment) -> None:
    with pytest.raises(ScriptError, match="now"):
        env.execute("x = 1", {"now": "yesterday"})
    with pytest.raises(ScriptError, match="flag"):
        env.execute("x = 1", {"flag": 1}, {"flag": 2})
    # Evaluation has no such rule (nothing is written back): task data wins.
    assert env.evaluate("today", {"today": "data"}) == "data"


def test_private_and_dunder_keys_are_invisible(env: RestrictedEnvironment) -> None:
    data = {"_secret": "s3cret", "__builtins__": {"len": lambda x: 42}, "x": [1]}
    assert env.evaluate("len(x)", data) == 1
    assert env.evaluate("x[0].real", {"x": [1]}, {"_getattr_": lambda o, n: "pwned"}) == 1
    namespace = env.local.namespace(data, {"_hidden": 1, "ok": 2})
    assert "_secret" not in namespace and "_hidden" not in namespace and namespace["ok"] == 2
    with pytest.raises(ScriptCompileError, match="_secret"):
        env.evaluate("_secret", data)
    odd: dict[Any, Any] = {1: "int key", "a\x00_b": 2, "a": 1, "_x": 0}
    assert env.evaluate("a + 1", odd) == 2
    env.execute("b = a", odd)
    assert odd == {1: "int key", "a\x00_b": 2, "a": 1, "_x": 0, "b": 1}


def test_environment_arguments_are_checked() -> None:
    with pytest.raises(TypeError, match="mutable"):
        RestrictedEnvironment({"shared": []})
    with pytest.raises(ValueError):
        RestrictedEnvironment({"_hook": len})
    with pytest.raises(ValueError):
        RestrictedEnvironment(time_limit=0)


@pytest.mark.parametrize(
    "script",
    [
        "x = float('nan')",
        "x = [1.0, float('inf')]",
        "x = {'k': -float('inf')}",
        "x = 'ok' + chr(0xD800)",
        "x = {chr(0xDC00): 1}",
        "x = 10**5000",
        "x = [1, {'k': -(10**4300)}]",
        "x = {10**4400: 1}",
    ],
)
def test_data_no_column_can_store_fails_at_the_script(env, script):
    """NaN/Infinity, integers too long to write as text (more than Python's 4,300 digits) and
    lone surrogates end the script's step (an incident naming it), in the process and through
    the pool, instead of failing the save of the instance."""
    data: dict[str, Any] = {"kept": 1}
    with pytest.raises(ScriptError, match="cannot be stored"):
        env.execute(script, data)
    assert data == {"kept": 1}
    with pytest.raises(ScriptError, match="cannot be stored"):
        env.evaluate(script.partition(" = ")[2], {})
