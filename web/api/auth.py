from __future__ import annotations

from flask import Response, jsonify, request
from werkzeug.exceptions import TooManyRequests

from engine.errors import InvalidInput
from engine.people.accounts import issue_token, revoke_token
from web.api import bp
from web.api.params import json_body
from web.core import api_actor, engine_ctx, unit_of_work
from web.session_auth import LoginThrottled, authenticate_throttled


@bp.post("/auth/token")
def create_token() -> tuple[Response, int]:
    body = json_body()
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise InvalidInput("需要 username 和 password (username and password are required)")
    ctx = engine_ctx()
    try:
        # the same database-backed throttle as the UI login (engine.people.login_throttle)
        actor = authenticate_throttled(username, password)
    except LoginThrottled as exc:
        raise TooManyRequests(
            f"登录尝试过多，请 {exc.retry_after} 秒后再试 "
            f"(too many failed logins; retry after {exc.retry_after} s)",
            retry_after=exc.retry_after,
        ) from None
    with unit_of_work() as session:
        token = issue_token(session, actor, ctx.clock.now(), ctx.settings.token_ttl_hours)
    return jsonify({"token": token, "username": actor.username}), 201


@bp.post("/auth/revoke")
def revoke() -> tuple[str, int]:
    with unit_of_work() as session:
        api_actor(session)
        token = request.headers.get("Authorization", "").partition(" ")[2].strip()
        revoke_token(session, token, engine_ctx().clock.now())
    return "", 204


@bp.get("/me")
def me() -> Response:
    with unit_of_work() as session:
        actor = api_actor(session)
    return jsonify(
        {
            "username": actor.username,
            "display_name": actor.display_name,
            "groups": sorted(actor.groups),
            "is_admin": actor.is_admin,
        }
    )


@bp.get("/healthz")
def healthz() -> Response:
    from sqlalchemy import text

    with unit_of_work() as session:
        session.execute(text("SELECT 1"))
    return jsonify({"status": "ok"})
