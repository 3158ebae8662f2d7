"""JSON API under /api/v1. Every endpoint is declared with `web.api.endpoint.endpoint` (its
request and response models in `web.api.schemas`); the OpenAPI document is generated from those
declarations (`web.api.openapi`)."""

from __future__ import annotations

from importlib import import_module

from flask import Blueprint, Flask

bp = Blueprint("api", __name__, url_prefix="/api/v1")

ROUTE_MODULES = (
    "auth",
    "cases",
    "documents",
    "instances",
    "kpis",
    "leads",
    "models",
    "notifications",
    "openapi",
    "operations",
    "tasks",
)


@bp.before_request
def require_token() -> None:
    """Authentication comes before anything else a request says (body parsing included)."""
    from flask import request

    from web.api.endpoint import is_public
    from web.core import authenticate_request, open_request_session
    from web.strict_input import check_request_fields

    if not is_public(request.endpoint):
        # The view's unit of work continues this session: one checkout, one commit per request.
        authenticate_request(open_request_session())
    # then the query string, path parts and form fields (JSON bodies: web.strict_input)
    check_request_fields(request)


def load_routes() -> None:
    """Import the modules that declare the endpoints (once: they register on `bp`)."""
    for name in ROUTE_MODULES:
        import_module(f"{__name__}.{name}")


def init_app(app: Flask) -> None:
    load_routes()
    app.register_blueprint(bp)
