"""The sandbox's overhead: compiled code is cached, and a short expression stays cheap."""

from __future__ import annotations

import time

from engine.sandbox import RestrictedEnvironment, compile_source
from tests.engine.script_helpers import env_fixture, pool_fixture  # noqa: F401  (fixtures)


def test_compile_cache_reuses_code() -> None:
    env = RestrictedEnvironment()
    source = "cache_probe_value * 2"
    env.evaluate(source, {"cache_probe_value": 1})
    before = compile_source.cache_info()
    for i in range(50):
        assert env.evaluate(source, {"cache_probe_value": i}) == i * 2
    after = compile_source.cache_info()
    assert after.misses == before.misses
    assert after.hits >= before.hits + 50


def test_short_expressions_are_cheap(env: RestrictedEnvironment) -> None:
    data = {f"field{i}": i for i in range(10)} | {"a": 1}
    env.evaluate("a + 1", data)
    rounds = 20_000
    started = time.process_time()  # this process's CPU: other load on the machine does not count
    for _ in range(rounds):
        env.evaluate("a + 1", data)
    per_call = (time.process_time() - started) / rounds
    # Typically 4-6 us on the 2-core dev box; the bound only catches gross regressions.
    assert per_call < 100e-6
