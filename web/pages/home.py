from __future__ import annotations

from flask import current_app, redirect, url_for
from werkzeug.wrappers import Response

from web.pages import bp
from web.session_auth import login_required


@bp.get("/")
@login_required
def home() -> Response:
    """工作台: straight to the inbox, the page people come for."""
    if "pages.inbox" in current_app.view_functions:
        return redirect(url_for("pages.inbox"))
    return redirect(url_for("api.me"))


@bp.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask every site for /favicon.ico: answer with the app's icon
    (web/static/favicon.ico) instead of a 404 in the log and the console. Public, like /static."""
    return current_app.send_static_file("favicon.ico")
