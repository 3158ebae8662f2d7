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
