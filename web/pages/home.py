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
