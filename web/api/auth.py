from __future__ import annotations

from flask import request
from werkzeug.exceptions import TooManyRequests

from engine.people.accounts import issue_token, revoke_token
from engine.store.db import ping
from web.api.endpoint import Call, endpoint
from web.api.schemas.requests import TokenRequest
from web.api.schemas.responses import Health, Me, Token
from web.core import unit_of_work
from web.session_auth import LoginThrottled, authenticate_throttled


@endpoint("POST", "/auth/token", summary="Get a bearer token", body=TokenRequest,
          ok={201: Token}, errors=(401, 429), public=True, transaction=False)
def create_token(call: Call, body: TokenRequest) -> Token:
    try:
        # the same database-backed throttle as the UI login (engine.people.login_throttle); a
        # failure is counted in its own transaction, so it stays counted although this raises
        actor = authenticate_throttled(body.username, body.password)
    except LoginThrottled as exc:
        raise TooManyRequests(
            f"登录尝试过多，请 {exc.retry_after} 秒后再试 "
            f"(too many failed logins; retry after {exc.retry_after} s)",
            retry_after=exc.retry_after,
        ) from None
    ctx = call.ctx
    with unit_of_work() as session:
        token = issue_token(session, actor, ctx.clock.now(), ctx.settings.token_ttl_hours)
    return Token(token=token, username=actor.username)


@endpoint("POST", "/auth/revoke", summary="Revoke the calling token", ok={204: None})
def revoke(call: Call) -> None:
    token = request.headers.get("Authorization", "").partition(" ")[2].strip()
    revoke_token(call.session, token, call.ctx.clock.now())


@endpoint("GET", "/me", summary="The calling user", ok=Me)
def me(call: Call) -> Me:
    actor = call.actor
    return Me(username=actor.username, display_name=actor.display_name,
              groups=sorted(actor.groups), is_admin=actor.is_admin)


@endpoint("GET", "/healthz", summary="Health check", ok=Health, public=True)
def healthz(call: Call) -> Health:
    ping(call.session)
    return Health(status="ok")
