"""The Alembic migrations build exactly the schema the ORM models describe, and can be undone."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import engine.store.records_business  # noqa: F401  (tables the migrations must also create)
from engine.store.migrate import downgrade, upgrade
from engine.store.tables import Base


@pytest.mark.migrate_from_scratch  # the migrations run on an empty file in this test
def test_migrations_match_models_and_downgrade(ctx):
    # The ctx fixture has migrated the database to head.
    with ctx.db.connect() as conn:
        drift = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert drift == []
    if ctx.db.dialect.name == "sqlite":
        downgrade(ctx.db, "base")
        upgrade(ctx.db)
        with ctx.db.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


@pytest.mark.migrate_from_scratch
def test_0012_lists_current_steps_with_the_enumeration_comma(ctx, staff):
    """Rows saved before 0012 said "填写周报, 执行监控"; after it they read as new saves do."""
    from sqlalchemy import select, update

    from engine.store.db import transaction
    from engine.store.tables import InstanceRecord
    from engine.usecases import instances
    from tests.conftest import deploy_fixture

    deploy_fixture(ctx, "approval_demo.bpmn", "approval_start.form", "approval_submit.form",
                   "approval_review.form")
    with transaction(ctx.sessions) as s:
        iid = instances.start(ctx, s, staff["req"], "approval_demo",
                              {"title": "Q3 促销", "amount": 8000}).id
    downgrade(ctx.db, "0011")
    with transaction(ctx.sessions) as s:
        s.execute(update(InstanceRecord).where(InstanceRecord.id == iid)
                  .values(stage="填写《项目进度周报》, 执行监控"))
    upgrade(ctx.db)
    with transaction(ctx.sessions) as s:
        stage = s.scalar(select(InstanceRecord.stage).where(InstanceRecord.id == iid))
    assert stage == "填写《项目进度周报》、执行监控"
