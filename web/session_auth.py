"""Browser sessions for the UI: login/logout, the current actor, CSRF and login throttling.

The API uses bearer tokens instead (web.core); these two never mix: API routes ignore the
session cookie, so a cross-site page cannot drive the API with a user's cookie.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Request, abort, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

from engine.errors import Unauthenticated
from engine.people import login_throttle
from engine.people.accounts import Actor, actor_for_token, authenticate, issue_token, revoke_token
from web.core import engine_ctx, request_reads, unit_of_work

F = TypeVar("F", bound=Callable[..., Any])
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class LoginThrottled(Exception):
    """Too many failed logins for this username or from this address
    (engine.people.login_throttle)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


def authenticate_throttled(username: str, password: str) -> Actor:
    """The one login check of the UI form and the API's token endpoint: refused while the
    throttle holds (the password is not even checked), a failure counted, a success clearing
    the user's count. Raises LoginThrottled or Unauthenticated."""
    ctx = engine_ctx()
    now, address = ctx.clock.now(), request.remote_addr or "-"
    actor: Actor | None = None
    with unit_of_work() as s:
        wait = login_throttle.retry_after(s, username, address, now)
        if not wait:
            try:
                actor = authenticate(s, username, password)
            except Unauthenticated:
                login_throttle.record_failure(s, username, address, now)
            else:
                login_throttle.record_success(s, username)
    if wait:
        raise LoginThrottled(wait)
    if actor is None:
        raise Unauthenticated("用户名或密码错误 (wrong username or password)")
    return actor


SESSION_HOURS = 8


def log_in(actor: Actor) -> None:
    """Start a browser session backed by a revocable server-side token: logging out (or an
    admin revoking it) kills the session even if someone kept a copy of the cookie."""
    ctx = engine_ctx()
    with unit_of_work() as s:
        token = issue_token(s, actor, ctx.clock.now(), SESSION_HOURS)
    # A fresh session at login: nothing from before (e.g. a planted value) survives.
    session.clear()
    session["user"] = actor.username
    session["sid"] = token
    session[CSRF_FIELD] = secrets.token_urlsafe(32)
    session.permanent = True


def log_out() -> None:
    token = session.get("sid")
    if token:
        with unit_of_work() as s:
            revoke_token(s, token, engine_ctx().clock.now())
    session.clear()


def current_actor() -> Actor | None:
    if "actor" in g:
        return g.actor
    token = session.get("sid")
    actor = None
    if token:
        try:
            with request_reads() as s:
                actor = actor_for_token(s, token, engine_ctx().clock.now())
        except Unauthenticated:
            session.clear()
    g.actor = actor
    return actor


def csrf_token() -> str:
    token = session.get(CSRF_FIELD)
    if not token:
        token = session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return token


def _check_csrf() -> None:
    if request.method in ("GET", "HEAD", "OPTIONS") or request.path.startswith("/api/"):
        return
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    expected = session.get(CSRF_FIELD, "")
    if not expected or not hmac.compare_digest(sent, expected):
        if not session.get("sid") and request.path != url_for("pages.login"):
            # Nobody is logged in (the session ended, or its cookie is gone): nothing could be
            # forged, and "log in again" is the truth. A form's script (task-form.js) keeps
            # what was typed and offers the login; a plain form post goes to the login page.
            if request.is_json or request.accept_mimetypes.best == "application/json":
                raise Unauthenticated("登录已过期，请重新登录 (your session ended; log in again)")
            abort(redirect(url_for("pages.login", next=_came_from()), 303))
        abort(400, description="csrf")


def _came_from() -> str:
    """The page a logged-out form was posted from (its Referer on this site), for after login."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc and referrer.netloc != request.host:
        return url_for("pages.home")
    return referrer.path or url_for("pages.home")


def login_required(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_actor() is None:
            return redirect(url_for("pages.login", next=request.full_path))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def require_actor() -> Actor:
    actor = current_actor()
    if actor is None:
        raise Unauthenticated("需要登录 (login required)")
    return actor


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, unchanged on the wire. Flask builds an itsdangerous
    serializer on every request before it looks for the cookie, so every API call paid for one
    it never used; here a request without the cookie gets an empty session straight away, and
    the serializer is built once per key."""

    def __init__(self) -> None:
        self._signer: tuple[Any, URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cached = self._signer
        if cached is None or cached[0] != keys:
            cached = self._signer = (keys, super().get_signing_serializer(app))
        return cached[1]

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not request.cookies.get(self.get_cookie_name(app)) and app.secret_key:
            return self.session_class()
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    app.session_interface = CookieSessions()
    app.before_request(_check_csrf)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["current_actor"] = current_actor
    # Flask ships defaults for both (31 days, "session"), so setdefault would never apply.
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=8)
    app.config["SESSION_COOKIE_NAME"] = "planflow_session"

    @app.after_request
    def security_headers(response: Any) -> Any:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
