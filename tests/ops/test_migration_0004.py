"""Migration 0004 creates exactly the tables of engine/records_ops.py and can be undone."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import engine.store.records_ops  # noqa: F401  (tables on Base.metadata)
from engine.store.migrate import downgrade, upgrade
from engine.store.records_ops import OPS_TABLES
from engine.store.tables import Base


def _drift(db):
    with db.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), Base.metadata)


@pytest.mark.migrate_from_scratch  # the migrations run on an empty file in this test
def test_0004_matches_the_models_and_downgrades(ctx):
    assert _drift(ctx.db) == []
    assert set(OPS_TABLES) <= set(inspect(ctx.db).get_table_names())
    if ctx.db.dialect.name == "sqlite":
        downgrade(ctx.db, "0003")
        assert not set(OPS_TABLES) & set(inspect(ctx.db).get_table_names())
        upgrade(ctx.db)
        assert _drift(ctx.db) == []
