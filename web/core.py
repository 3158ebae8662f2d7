"""Request-scoped access to the engine context and the acting user."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from flask import current_app, g, request

from engine.errors import Unauthenticated
from engine.people.accounts import Actor, actor_for_token
from engine.store.db import transaction

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from engine.context import EngineContext


def engine_ctx() -> EngineContext:
    return current_app.extensions["planflow"]


# g key: the session the API's token check opened; the view's unit of work carries it on, so a
# request checks out one connection and commits once (see web.api.require_token).
REQUEST_SESSION = "request_session"


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """The request's one transaction: committed when the view returns, rolled back on error."""
    opened = g.pop(REQUEST_SESSION, None)
    with transaction(engine_ctx().sessions, opened) as session:
        yield session


def release_writes(session: Session) -> None:
    """Before reading a write's answer: on SQLite commit now, so its one writer lock is not held
    while the answer is read. Elsewhere the request's commit at the edge is the only one (a
    second would return the connection and check it out again: a PostgreSQL pre-ping)."""
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        session.commit()


def open_request_session() -> Session:
    """A session for the request's first reads (the token check), taken over by the view's
    `unit_of_work`; `close_request_session` closes it if the view never takes it."""
    session: Session | None = g.get(REQUEST_SESSION)
    if session is None:
        session = engine_ctx().sessions()
        setattr(g, REQUEST_SESSION, session)
    return session


def close_request_session(_exc: BaseException | None = None) -> None:
    session = g.pop(REQUEST_SESSION, None)
    if session is not None:
        session.close()


def api_actor(session: Session) -> Actor:
    """The caller, from `Authorization: Bearer <token>` (resolved once per request)."""
    cached = g.get("actor")
    if cached is not None:
        return cached
    return authenticate_request(session)


def authenticate_request(session: Session) -> Actor:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("需要登录 (authentication required: Authorization: Bearer <token>)")
    actor = actor_for_token(session, token.strip(), engine_ctx().clock.now())
    g.actor = actor
    return actor
