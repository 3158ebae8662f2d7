"""Request-scoped access to the engine context and the acting user."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, g, request
from sqlalchemy.orm import Session

from engine.context import EngineContext
from engine.db import transaction
from engine.errors import Unauthenticated
from engine.people import Actor, actor_for_token


def engine_ctx() -> EngineContext:
    return current_app.extensions["planflow"]


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """The request's one transaction: committed when the view returns, rolled back on error."""
    with transaction(engine_ctx().sessions) as session:
        yield session


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
