"""Maps domain errors (and HTTP errors under /api) to `{"error": {code, message, details}}`."""

from __future__ import annotations

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from engine import errors as e

STATUS: dict[type[e.PlanflowError], int] = {
    e.NotFound: 404,
    e.Forbidden: 403,
    e.Unauthenticated: 401,
    e.Conflict: 409,
    e.InvalidInput: 400,
    e.FormInvalid: 422,
    e.InvalidModel: 400,
    e.InstanceStateError: 409,
}


def error_response(code: str, message: str, status: int, details: dict | None = None) -> Response:
    response = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    response.status_code = status
    return response


def status_for(exc: e.PlanflowError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


TITLES = {400: "error.bad_request", 401: "login.title", 403: "error.forbidden",
          404: "error.not_found", 409: "error.conflict", 413: "error.too_large",
          422: "error.bad_request"}


def error_page(status: int, message: str) -> tuple[str, int]:
    """Pages (not /api/) get an HTML error page in the user's language."""
    from web.i18n import in_language, translate

    title = translate(TITLES.get(status, "error.generic"))
    return render_template("error.html", title=title, message=in_language(message)), status


def init_app(app: Flask) -> None:
    @app.errorhandler(e.PlanflowError)
    def domain_error(exc: e.PlanflowError) -> Response | tuple[str, int]:
        status = status_for(exc)
        if not request.path.startswith("/api/") and not request.is_json:
            return error_page(status, exc.message)
        response = error_response(exc.code, exc.message, status, exc.details)
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="planflow"'
        return response

    init_unexpected(app)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response | HTTPException | tuple[str, int]:
        if not request.path.startswith("/api/"):
            if exc.code == 400 and exc.description == "csrf":
                from web.i18n import translate

                return error_page(400, translate("error.csrf"))
            if exc.code in (403, 404, 413):
                from web.i18n import translate

                return error_page(exc.code, translate(TITLES[exc.code]))
            return exc
        code = (exc.name or "error").lower().replace(" ", "_")
        response = error_response(code, exc.description or exc.name or "error", exc.code or 500)
        for name, value in exc.get_headers():
            if name.lower() in ("allow", "retry-after", "www-authenticate"):
                response.headers[name] = value
        return response


def init_unexpected(app: Flask) -> None:
    """Unexpected errors under /api/ answer in the documented JSON shape, without details."""

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response | tuple[str, int]:
        if isinstance(exc, HTTPException):
            return http_error_fallback(exc)
        app.logger.exception("unhandled error on %s", request.path)
        if request.path.startswith("/api/"):
            return error_response("internal_error", "服务器内部错误 (internal error)", 500)
        return error_page(500, "服务器内部错误 (internal error)")


def http_error_fallback(exc: HTTPException) -> Response:
    return exc.get_response()
