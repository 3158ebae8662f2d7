from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.errors import Unauthenticated
from engine.people import authenticate
from web.core import unit_of_work
from web.i18n import LANGUAGES, translate
from web.pages import bp
from web.redirects import safe_redirect_target
from web.session_auth import current_actor, log_in, log_out


def _safe_next(target: str | None) -> str:
    # Only same-site paths: never redirect to another host after login (web.redirects).
    return safe_redirect_target(target, url_for("pages.home"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    if request.method == "GET":
        if current_actor() is not None:
            return redirect(_safe_next(request.args.get("next")))
        return render_template("pages/login.html", next=request.args.get("next", ""))
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    throttle = current_app.extensions["login_throttle"]
    key = (request.remote_addr or "-", username.lower())
    wait = throttle.retry_after(key)
    if wait:
        error = translate("login.throttled", seconds=wait)
        return render_template("pages/login.html", error=error, username=username), 429
    try:
        with unit_of_work() as session:
            actor = authenticate(session, username, password)
    except Unauthenticated:
        throttle.failed(key)
        error = translate("login.failed")
        return render_template("pages/login.html", error=error, username=username), 401
    throttle.succeeded(key)
    log_in(actor)
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/logout")
def logout() -> Response:
    log_out()
    flash(translate("login.logged_out"))
    return redirect(url_for("pages.login"))


@bp.get("/lang/<lang>")
def set_language(lang: str) -> Response:
    response = redirect(_safe_next(request.args.get("next")))
    if lang in LANGUAGES:
        response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response
