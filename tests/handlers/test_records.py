"""Migration 0002 creates exactly the tables of engine/records_business.py."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from engine.db import make_engine
from engine.migrate import downgrade, upgrade
from engine.models import Base
from engine.records_business import CaseLibraryRecord, LeadRecord

MY_TABLES = {CaseLibraryRecord.__tablename__, LeadRecord.__tablename__}


def _mine(diff: object) -> bool:
    """Whether an autogenerate diff entry concerns one of this module's tables."""
    text = repr(diff)
    return any(f"'{name}'" in text or f"Table('{name}'" in text for name in MY_TABLES)


def test_migration_matches_the_models(tmp_path: Path) -> None:
    db = make_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    try:
        upgrade(db)
        with db.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert [d for d in diffs if _mine(d)] == []
        inspector = inspect(db)
        assert set(inspector.get_table_names()) >= MY_TABLES
        assert {i["name"] for i in inspector.get_indexes("leads")} >= {
            "ix_leads_status",
            "ix_leads_instance_id",
        }
        downgrade(db, "0001")
        assert not MY_TABLES & set(inspect(db).get_table_names())
        upgrade(db)
        assert set(inspect(db).get_table_names()) >= MY_TABLES
    finally:
        db.dispose()
