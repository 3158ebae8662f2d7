"""JSON API under /api/v1."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("api", __name__, url_prefix="/api/v1")

PUBLIC_ENDPOINTS = {"api.create_token", "api.healthz", "api.openapi"}


@bp.before_request
def require_token() -> None:
    """Authentication comes before anything else a request says (body parsing included)."""
    from flask import request

    from web.core import authenticate_request, unit_of_work

    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    with unit_of_work() as session:
        authenticate_request(session)


def init_app(app: Flask) -> None:
    from web.api import (  # noqa: F401  (routes on bp)
        auth,
        documents,
        instances,
        models,
        notifications,
        openapi,
        operations,
        tasks,
    )

    app.register_blueprint(bp)
