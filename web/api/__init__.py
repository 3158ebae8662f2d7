"""JSON API under /api/v1."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("api", __name__, url_prefix="/api/v1")

PUBLIC_ENDPOINTS = {"api.create_token", "api.healthz", "api.openapi"}


@bp.before_request
def require_token() -> None:
    """Authentication comes before anything else a request says (body parsing included)."""
    from flask import request

    from web.core import authenticate_request, open_request_session
    from web.strict_input import check_request_fields

    if request.endpoint not in PUBLIC_ENDPOINTS:
        # The view's unit of work continues this session: one checkout, one commit per request.
        authenticate_request(open_request_session())
    # then the query string, path parts and form fields (JSON bodies: web.strict_input)
    check_request_fields(request)


@bp.teardown_request
def close_unused_session(exc: BaseException | None) -> None:
    """The token check's session, when the view did not take it (refused, or no database)."""
    from web.core import close_request_session

    close_request_session(exc)


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
