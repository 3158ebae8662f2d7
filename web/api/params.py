"""Small helpers for reading request input strictly."""

from __future__ import annotations

from typing import Any

from flask import request

from engine.errors import InvalidInput


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None:
        if request.content_length in (None, 0) and not request.data:
            return {}
        raise InvalidInput("请求体不是有效的 JSON (request body is not valid JSON)")
    if not isinstance(body, dict):
        raise InvalidInput("请求体必须是 JSON 对象 (request body must be a JSON object)")
    return body


def data_field(body: dict[str, Any], name: str = "data") -> dict[str, Any]:
    value = body.get(name, {})
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{name} 必须是 JSON 对象 ({name} must be an object)")
    return value


def int_arg(name: str, default: int, lo: int = 1, hi: int = 10_000) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"参数 {name} 必须是整数 ({name} must be an integer)") from None
    if not lo <= value <= hi:
        raise InvalidInput(f"参数 {name} 超出范围 ({name} must be between {lo} and {hi})")
    return value


def str_arg(name: str, choices: tuple[str, ...] | None = None) -> str | None:
    value = request.args.get(name) or None
    if value is not None and choices is not None and value not in choices:
        raise InvalidInput(f"参数 {name} 必须是 {', '.join(choices)} 之一")
    return value
