"""Migration 0002 creates exactly the tables of engine/records_business.py."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from engine.context import EngineContext
from engine.people.accounts import Actor
from engine.store.db import make_engine, transaction
from engine.store.migrate import downgrade, upgrade
from engine.store.records_business import CaseLibraryRecord, LeadRecord
from engine.store.tables import Base
from engine.usecases import instances
from handlers.case_library import add_case_library_entry
from handlers.documents import generate_document
from handlers.leads import handover_leads
from handlers.registry import HandlerContext
from tests.conftest import deploy_fixture

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


def test_handlers_write_on_each_backend(ctx: EngineContext, staff: dict[str, Actor]) -> None:
    """The handlers' rows on a migrated database (SQLite and PostgreSQL): foreign keys to a
    real instance and document, timezone-aware timestamps, committed at the edge."""
    deploy_fixture(ctx)
    with transaction(ctx.sessions) as session:
        iid = instances.start(
            ctx, session, staff["alice"], "approval_demo", {"title": "Q3 促销", "amount": 8000}
        ).id
    with transaction(ctx.sessions) as session:
        hctx = HandlerContext(
            instance_id=iid,
            process_key="approval_demo",
            element_id="Task_x",
            clock=ctx.clock,
            session=session,
            started_by="alice",
            data={"project_name": "Q3 促销", "event_name": "发布会", "highlights": "亮点"},
            zone=ctx.settings.zone,
        )
        doc = generate_document({"doc_type": "retrospective_report"}, hctx)
        case = add_case_library_entry(
            {"title": "案例", "category": "event", "completion_rate": 88.0, "document": doc}, hctx
        )
        leads = handover_leads(
            {"leads": [{"customer_name": "星辰科技", "contact": "138", "interest_level": "high"}]},
            hctx,
        )
    with transaction(ctx.sessions) as session:
        entry = session.get(CaseLibraryRecord, case["case_id"])
        lead = session.get(LeadRecord, leads["lead_ids"][0])
        assert entry is not None and lead is not None
        assert entry.document_id == doc["document_id"] and entry.instance_id == iid
        assert entry.created_at == ctx.clock.now() and entry.created_at.tzinfo is not None
        assert (lead.status, lead.instance_id, lead.event_name) == ("handed_over", iid, "发布会")
        assert lead.handed_over_at == ctx.clock.now()
