"""Fixtures: an engine context on a fresh database (SQLite by default, PostgreSQL too when it is
reachable), the Flask app/client, a CLI runner, and helpers to make users and tokens.

Two things keep the fixtures cheap without changing what a test sees:
- a fresh SQLite database is a copy of one migrated once per test session (`sqlite_template`);
  tests marked `migrate_from_scratch` get an empty file and run the migrations themselves;
- test users' passwords are hashed at TEST_PASSWORD_HASH_COST instead of the production
  engine.people.accounts.PASSWORD_HASH_COST (the cost is stored in each hash, so login works the
  same).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from engine.clock import FixedClock
from engine.context import EngineContext, build_context
from engine.people.accounts import SYSTEM, Actor, actor_for, add_user
from engine.settings import Settings
from engine.store.db import make_engine, transaction
from engine.store.migrate import upgrade
from engine.store.tables import UserRecord
from engine.usecases.deploy import deploy, uploads_from_paths

FIXTURES = Path(__file__).parent / "fixtures"
MODELS = FIXTURES / "models"
PASSWORD = "correct-horse-battery"
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Shanghai
# scrypt n for test users (production: engine.people.accounts.PASSWORD_HASH_COST = 2**14, ~16 MiB
# and
# a noticeable fraction of a second per hash; eight per `staff`).
TEST_PASSWORD_HASH_COST = 2**4

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
_pg_state: dict[str, Any] = {}


def _postgres_admin_url() -> str:
    return os.environ.get("PLANFLOW_TEST_POSTGRES_URL", DEFAULT_PG)


def _postgres_reachable() -> tuple[bool, str]:
    if "reachable" not in _pg_state:
        url = _postgres_admin_url()
        try:
            eng = make_engine(url, isolation_level="AUTOCOMMIT")
            with eng.connect() as conn:
                conn.execute(text("SELECT 1"))
            eng.dispose()
            _pg_state["reachable"] = (True, url)
        except Exception as exc:  # report, don't hide
            _pg_state["reachable"] = (False, f"{url}: {exc.__class__.__name__}: {exc}"[:300])
    return _pg_state["reachable"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "migrate_from_scratch: ctx/sqlite_ctx on SQLite start from an empty file and run the "
        "migrations, instead of copying the session's migrated template",
    )


def pytest_report_header(config: pytest.Config) -> str:
    ok, info = _postgres_reachable()
    if ok:
        return f"PostgreSQL: database tests run on SQLite AND PostgreSQL ({info})"
    if os.environ.get("PLANFLOW_REQUIRE_POSTGRES"):
        raise pytest.UsageError(
            f"PLANFLOW_REQUIRE_POSTGRES is set but PostgreSQL is unreachable: {info}"
        )
    return f"PostgreSQL: NOT reachable, PostgreSQL variants are SKIPPED ({info})"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    ok, info = _postgres_reachable()
    if not ok:
        terminalreporter.write_line(
            f"NOTE: PostgreSQL tests were skipped — server not reachable ({info})", yellow=True
        )


@pytest.fixture(scope="session")
def postgres_db() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test session, migrated once."""
    ok, info = _postgres_reachable()
    if not ok:
        pytest.skip(f"PostgreSQL not reachable: {info}")
    admin = make_engine(_postgres_admin_url(), isolation_level="AUTOCOMMIT")
    name = f"planflow_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = _postgres_admin_url().rsplit("/", 1)[0]
    url = f"{base}/{name}"
    db = make_engine(url)
    upgrade(db)
    db.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def reset_postgres(db: Engine) -> None:
    """Empty every table the migrations made (read from the catalogue, so a new table is never
    forgotten and no test's rows leak into the next); the alembic version stays."""
    with db.begin() as conn:
        names = conn.scalars(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename <> 'alembic_version'"
            )
        ).all()
        if names:
            tables = ", ".join(f'"{name}"' for name in names)
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def make_settings(url: str, tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(
        database_url=url,
        secret_key="test-secret-key-" + "x" * 16,
        bpmn_dir=tmp_path / "bpmn",
        **overrides,
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "postgres":
        return request.getfixturevalue("postgres_db")
    return f"sqlite:///{tmp_path / 'planflow.sqlite3'}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated to head once per test session; fresh databases are copies."""
    path = tmp_path_factory.mktemp("sqlite_template") / "template.sqlite3"
    db = make_engine(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()
    # Closing the last connection checkpoints the WAL into the file and removes it.
    assert not path.with_name(path.name + "-wal").exists(), "template WAL not checkpointed"
    return path


def _fresh_sqlite(url: str, request: pytest.FixtureRequest) -> bool:
    """Put a migrated copy of the template at the SQLite `url`'s path; False (nothing copied)
    when the test is marked migrate_from_scratch, so the caller must migrate."""
    if request.node.get_closest_marker("migrate_from_scratch"):
        return False
    template = request.getfixturevalue("sqlite_template")
    shutil.copyfile(template, url.split("///", 1)[1])
    return True


@pytest.fixture
def ctx(
    db_url: str, tmp_path: Path, clock: FixedClock, request: pytest.FixtureRequest
) -> Iterator[EngineContext]:
    copied = db_url.startswith("sqlite") and _fresh_sqlite(db_url, request)
    context = build_context(make_settings(db_url, tmp_path), clock=clock)
    if db_url.startswith("postgresql"):
        reset_postgres(context.db)
        with transaction(context.sessions) as session:
            from engine.people.accounts import ensure_standard_groups

            ensure_standard_groups(session)
    elif not copied:
        upgrade(context.db)
    yield context
    context.close(workers=False)  # the outbox thread too; the shared script pool stays


@pytest.fixture
def sqlite_ctx(
    tmp_path: Path, clock: FixedClock, request: pytest.FixtureRequest
) -> Iterator[EngineContext]:
    """SQLite only: for tests whose subject is not the database."""
    url = f"sqlite:///{tmp_path / 'pf.sqlite3'}"
    copied = _fresh_sqlite(url, request)
    context = build_context(make_settings(url, tmp_path), clock=clock)
    if not copied:
        upgrade(context.db)
    yield context
    context.close(workers=False)  # the outbox thread too; the shared script pool stays


# --- people and models ------------------------------------------------------------------------

STAFF = {
    "alice": ["planning_specialist"],
    "bob": ["planning_specialist"],
    "mgr": ["planning_manager"],
    "sup": ["planning_supervisor"],
    "req": ["requester"],
    "fin": ["finance"],
    "owner": ["process_owner"],
    "root": ["admin"],
}


def add_test_user(
    session: Session, username: str, password: str = PASSWORD, **kw: Any
) -> UserRecord:
    """engine.people.accounts.add_user with the cheap test hash cost (same arguments otherwise)."""
    kw.setdefault("password_hash_cost", TEST_PASSWORD_HASH_COST)
    return add_user(session, username, password, **kw)


def make_staff(context: EngineContext) -> dict[str, Actor]:
    with transaction(context.sessions) as session:
        for name, groups in STAFF.items():
            add_test_user(
                session,
                name,
                PASSWORD,
                now=context.clock.now(),
                groups=groups,
                display_name=name.capitalize(),
            )
        return {name: actor_for(session, name) for name in STAFF}


def deploy_fixture(context: EngineContext, *names: str) -> None:
    paths = [MODELS / n for n in names] if names else [MODELS]
    with transaction(context.sessions) as session:
        deploy(context, session, uploads_from_paths(paths), "owner")


@pytest.fixture
def staff(ctx: EngineContext) -> dict[str, Actor]:
    return make_staff(ctx)


# --- Flask ------------------------------------------------------------------------------------


@pytest.fixture
def app(sqlite_ctx: EngineContext) -> Any:
    from web import create_app

    return create_app({"TESTING": True}, context=sqlite_ctx)


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def runner(app: Any) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def api_staff(sqlite_ctx: EngineContext) -> dict[str, Actor]:
    return make_staff(sqlite_ctx)


@pytest.fixture
def token_for(client: Any, api_staff: dict[str, Actor]) -> Any:
    cache: dict[str, str] = {}

    def get(username: str) -> dict[str, str]:
        if username not in cache:
            r = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
            assert r.status_code == 201, r.get_json()
            cache[username] = r.get_json()["token"]
        return {"Authorization": f"Bearer {cache[username]}"}

    return get


__all__ = ["MODELS", "PASSWORD", "START", "SYSTEM", "create_engine"]
