"""Alembic environment: the engine comes from the caller (engine.store.migrate), never from a URL
in an ini file, so tests and the CLI migrate exactly the database they use."""

from __future__ import annotations

from alembic import context

import engine.people.login_throttle  # noqa: F401  (its table, for autogenerate)
import engine.store.records_ops  # noqa: F401
from engine.store import (
    records_business,  # noqa: F401  (tables for autogenerate)
    records_reports,  # noqa: F401
)
from engine.store.tables import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
