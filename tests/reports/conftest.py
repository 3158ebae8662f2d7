"""The API on SQLite and PostgreSQL (the root `ctx` fixture's backends), with the department's
users and models."""

from __future__ import annotations

from typing import Any

import pytest

from engine.clock import FixedClock
from engine.context import EngineContext
from engine.people.accounts import Actor
from tests.conftest import make_staff
from tests.scenarios import Api, add_extra_staff, deploy_department_models


@pytest.fixture
def app(ctx: EngineContext) -> Any:
    from web import create_app

    return create_app({"TESTING": True}, context=ctx)


@pytest.fixture
def api_staff(ctx: EngineContext) -> dict[str, Actor]:
    staff = make_staff(ctx)
    add_extra_staff(ctx)
    return staff


@pytest.fixture
def api(ctx: EngineContext, client: Any, token_for: Any, api_staff: Any, clock: FixedClock) -> Api:
    deploy_department_models(ctx)
    return Api(client, token_for, clock)
