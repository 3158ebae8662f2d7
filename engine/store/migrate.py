"""Schema migrations (Alembic), run programmatically: `planflow db upgrade` and test fixtures."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(db: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = db
    return config


def upgrade(db: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(db), revision)


def downgrade(db: Engine, revision: str) -> None:
    command.downgrade(alembic_config(db), revision)
