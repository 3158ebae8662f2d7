"""Fixtures for the task-operation tests: the ops fixture models, more staff, and (on
PostgreSQL) a clean slate for the tables the shared reset does not cascade to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from engine.context import EngineContext
from engine.people.accounts import Actor, actor_for
from engine.store.db import transaction
from engine.store.records_ops import OPS_TABLES
from engine.usecases.deploy import deploy, uploads_from_paths
from tests.conftest import PASSWORD, add_test_user

OPS_MODELS = Path(__file__).resolve().parent.parent / "fixtures" / "models_ops"

# Beyond tests.conftest.STAFF: a second person per role, so "a colleague's task" exists.
MORE_STAFF = {
    "carol": ["planning_specialist"],
    "dave": ["planning_supervisor"],
    "erin": ["legal"],
    "mgr2": ["planning_manager"],
    "owner2": ["process_owner"],
    "root2": ["admin"],
    "li": ["planning_supervisor"],
    "zhao": ["planning_supervisor"],
}


@pytest.fixture
def ctx(ctx: EngineContext) -> Iterator[EngineContext]:
    """The shared ctx, plus: tables without a foreign key to a reset table are emptied on
    PostgreSQL (the shared reset truncates with CASCADE, which covers the others)."""
    if ctx.db.dialect.name == "postgresql":
        with ctx.db.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(OPS_TABLES)} RESTART IDENTITY CASCADE"))
    yield ctx
    notifier = ctx.notifier
    if hasattr(notifier, "shutdown"):
        notifier.shutdown()


def add_more_staff(context: EngineContext) -> dict[str, Actor]:
    with transaction(context.sessions) as session:
        for name, groups in MORE_STAFF.items():
            add_test_user(
                session,
                name,
                PASSWORD,
                now=context.clock.now(),
                groups=groups,
                display_name=name.capitalize(),
                email=f"{name}@example.test",
            )
        return {name: actor_for(session, name) for name in MORE_STAFF}


def deploy_ops(context: EngineContext) -> None:
    with transaction(context.sessions) as session:
        deploy(context, session, uploads_from_paths([OPS_MODELS]), "owner")


@pytest.fixture
def people(ctx: EngineContext, staff: dict[str, Actor]) -> dict[str, Actor]:
    """Everyone (tests.conftest.STAFF + MORE_STAFF), with the ops models deployed."""
    more = add_more_staff(ctx)
    deploy_ops(ctx)
    return {**staff, **more}
