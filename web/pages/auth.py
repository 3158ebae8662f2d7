from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.errors import Unauthenticated
from web.i18n import LANGUAGES, translate
from web.pages import bp
from web.redirects import safe_redirect_target
from web.session_auth import (
    LoginThrottled,
    authenticate_throttled,
    current_actor,
    log_in,
    log_out,
)


def _safe_next(target: str | None) -> str:
    # Only same-site paths: never redirect to another host after login (web.redirects).
    return safe_redirect_target(target, url_for("pages.home"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    if request.method == "GET":
        if current_actor() is not None:
            return redirect(_safe_next(request.args.get("next")))
        return render_template("pages/login.html", next=request.args.get("next", ""))
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    next_target = request.form.get("next", "")
    try:
        actor = authenticate_throttled(username, password)
    except LoginThrottled as exc:
        error = translate("login.throttled", seconds=exc.retry_after)
        page = render_template("pages/login.html", error=error, username=username,
                               next=next_target)
        return page, 429, {"Retry-After": str(exc.retry_after)}
    except Unauthenticated:
        error = translate("login.failed")
        page = render_template("pages/login.html", error=error, username=username,
                               next=next_target)
        return page, 401
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
