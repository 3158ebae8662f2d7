"""Maps domain errors (and HTTP errors under /api) to `{"error": {code, message, details}}`."""

from __future__ import annotations

from typing import Any

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


# An answer quotes at most this much of any text (a refusal may name a 1 MB username).
SHOWN_CHARS = 1000


def error_response(code: str, message: str, status: int, details: dict | None = None) -> Response:
    error = {"code": code, "message": message, "details": details or {}}
    response = jsonify({"error": shown(error)})
    response.status_code = status
    return response


def shown(value: Any) -> Any:
    """``value`` fit to quote in an answer: long texts cut, and a lone surrogate (which no
    UTF-8 answer can carry: the 500 it caused hid the real refusal) written as its escape."""
    if isinstance(value, str):
        text = value if len(value) <= SHOWN_CHARS else value[:SHOWN_CHARS] + "…"
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {shown(k): shown(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [shown(v) for v in value]
    return value


def status_for(exc: e.PlanflowError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


TITLES = {400: "error.bad_request", 401: "login.title", 403: "error.forbidden",
          404: "error.not_found", 409: "error.conflict", 413: "error.too_large",
          422: "error.bad_request"}
# What a page says when whoever refused gave no reason of its own.
HINTS = {403: "error.forbidden_hint", 404: "error.not_found_hint"}


def error_page(status: int, message: str | None = None) -> tuple[str, int]:
    """The one HTML error page (not /api/), in the user's language: the status and its title,
    the reason when there is one (else a hint for 403/404), the way back."""
    from web.i18n import in_language, translate

    title = translate(TITLES.get(status, "error.generic"))
    shown_message = shown(in_language(message)) if message else None
    if not shown_message and status in HINTS:
        shown_message = translate(HINTS[status])
    return render_template("error.html", status=status, title=title,
                           message=shown_message), status


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
                return error_page(exc.code)
            return exc
        code = (exc.name or "error").lower().replace(" ", "_")
        response = error_response(code, http_message(exc), exc.code or 500)
        for name, value in exc.get_headers():
            if name.lower() in ("allow", "retry-after", "www-authenticate"):
                response.headers[name] = value
        return response


# What the API says for werkzeug's own refusals (its defaults are English only), Chinese first.
HTTP_MESSAGES = {
    400: "请求无效 (bad request)",
    401: "需要登录 (authentication required)",
    403: "无权执行此操作 (forbidden)",
    404: "未找到该资源 (not found)",
    405: "该地址不支持此请求方法 (method not allowed)",
    406: "无法提供所要求的格式 (not acceptable)",
    409: "与当前状态冲突 (conflict)",
    413: "请求体过大 (request too large)",
    415: "不支持的内容类型 (unsupported media type)",
    429: "请求过于频繁，请稍后再试 (too many requests)",
}


def http_message(exc: HTTPException) -> str:
    """The message of an HTTP error under /api/: ours when we raised it with one, otherwise
    Chinese first (werkzeug's default descriptions are English only)."""
    if exc.description and exc.description != type(exc).description:
        return exc.description
    return HTTP_MESSAGES.get(exc.code or 500, f"请求失败 (HTTP {exc.code})")


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
