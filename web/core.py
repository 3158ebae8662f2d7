"""Request-scoped access to the engine context and the acting user."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from flask import Flask, current_app, g, request

from engine.errors import Unauthenticated
from engine.people.accounts import Actor, actor_for_token
from engine.store.db import commit_writes, transaction

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from engine.context import EngineContext


def engine_ctx() -> EngineContext:
    return current_app.extensions["planflow"]


# g keys: the request's one session, opened by its first read (the API's token check, the
# page's actor lookup) and used by everything after it, so a request checks out one connection
# for its reads and commits once (see web.api.require_token); and whether a unit of work is
# using it right now.
REQUEST_SESSION = "request_session"
_IN_UNIT = "request_session_in_unit"


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """The request's transaction, on the request's session: committed when the block ends,
    rolled back on error. The session stays the request's, so the reads after it (the page's
    nav counts and bell while it renders) need no session of their own. A unit inside a unit
    gets a session of its own, as separate as it always was."""
    if g.get(_IN_UNIT):
        with transaction(engine_ctx().sessions) as own:
            yield own
        return
    setattr(g, _IN_UNIT, True)
    try:
        with transaction(engine_ctx().sessions, open_request_session()) as session:
            yield session
    finally:
        g.pop(_IN_UNIT, None)


@contextmanager
def request_reads() -> Iterator[Session]:
    """Reads outside the view's unit of work (the actor before it, the nav counts and the bell
    after it) on the request's session: no commit of their own, nothing written; the session
    is closed when the request ends (`close_request_session`)."""
    session = open_request_session()
    try:
        yield session
    except BaseException:
        if not g.get(_IN_UNIT):  # a failed read must not poison the request's later reads
            session.rollback()
        raise


def release_writes(session: Session) -> None:
    """Before reading a write's answer (`engine.store.db.commit_writes`: on SQLite the write
    commits first, on the same connection). The API's views reach the store only through here
    (the import contract in pyproject.toml)."""
    commit_writes(session)


def open_request_session() -> Session:
    """The request's session (opened on first use); `close_request_session` closes it when the
    request ends."""
    session: Session | None = g.get(REQUEST_SESSION)
    if session is None:
        session = engine_ctx().sessions()
        setattr(g, REQUEST_SESSION, session)
    return session


def close_request_session(_exc: BaseException | None = None) -> None:
    session = g.pop(REQUEST_SESSION, None)
    if session is not None:
        session.close()


def init_app(app: Flask) -> None:
    app.teardown_request(close_request_session)


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
