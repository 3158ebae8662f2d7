"""Maps domain errors (and HTTP errors under /api) to `{"error": {code, message, details}}`."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
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


def init_app(app: Flask) -> None:
    @app.errorhandler(e.PlanflowError)
    def domain_error(exc: e.PlanflowError) -> Response:
        status = status_for(exc)
        response = error_response(exc.code, exc.message, status, exc.details)
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="planflow"'
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response | HTTPException:
        if not request.path.startswith("/api/"):
            return exc
        code = (exc.name or "error").lower().replace(" ", "_")
        return error_response(code, exc.description or exc.name or "error", exc.code or 500)
