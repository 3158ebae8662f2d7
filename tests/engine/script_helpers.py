"""Shared by the diagram-code sandbox tests (tests/engine/test_script_*.py and
test_diagram_helpers.py): a fixed clock, the environments under test and `run`.

The fixtures are module-scoped and registered under the names tests ask for (`pool`, `env`,
`short_env`); a test module imports the `*_fixture` functions it needs, and `pool_fixture` with
`env_fixture` or `short_env_fixture`, which both ask for `pool`. `env` runs each test twice, in
the process and through the worker pool.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from engine.sandbox import RestrictedEnvironment
from engine.sandbox.diagram_helpers import SHANGHAI, make_helpers
from engine.sandbox.pool import ScriptPool

MONDAY_9AM = datetime(2025, 3, 3, 9, 0, tzinfo=SHANGHAI)
SHORT = 0.2  # time limit for the runaway tests, seconds


def fixed_clock() -> datetime:
    return MONDAY_9AM


@pytest.fixture(scope="module", name="pool")
def pool_fixture() -> Iterator[ScriptPool]:
    workers = ScriptPool(size=2)
    yield workers
    workers.close()


@pytest.fixture(scope="module", params=["in-process", "pool"], name="env")
def env_fixture(request: pytest.FixtureRequest) -> RestrictedEnvironment:
    workers = request.getfixturevalue("pool") if request.param == "pool" else None
    return RestrictedEnvironment(make_helpers(fixed_clock), pool=workers)


@pytest.fixture(scope="module", name="short_env")
def short_env_fixture(pool: ScriptPool) -> RestrictedEnvironment:
    """Runaway code runs in the worker pool: a C-level loop or a recursion bomb that outruns
    the tracer is killed by the pool, so these tests do not depend on the machine's load."""
    return RestrictedEnvironment(make_helpers(fixed_clock), time_limit=SHORT, pool=pool)


def run(env: RestrictedEnvironment, script: str, **data: Any) -> dict[str, Any]:
    env.execute(script, data)
    return data
