"""The Flask application: a thin HTTP layer over `engine`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Flask
from werkzeug.routing import IntegerConverter

from engine.context import EngineContext, build_context
from engine.settings import Settings

if TYPE_CHECKING:
    from engine.clock import Clock


class BoundedInt(IntegerConverter):
    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(url_map, *args, **kwargs)


def create_app(
    test_config: dict[str, Any] | None = None,
    *,
    settings: Settings | None = None,
    clock: Clock | None = None,
    context: EngineContext | None = None,
) -> Flask:
    app = Flask(__name__, instance_relative_config=False)
    settings = settings or (context.settings if context else Settings.from_env())
    app.config.from_mapping(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=8 * 1024 * 1024,
        JSON_SORT_KEYS=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
    )
    if test_config:
        app.config.update(test_config)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    # Ids in URLs are database integers: anything beyond 64 bits is simply not found.
    app.url_map.converters["int"] = BoundedInt
    ctx = context or build_context(settings, clock=clock)
    app.extensions["planflow"] = ctx

    from web import (
        api,
        core,
        errors,
        i18n,
        pages,
        person_options,
        session_auth,
        shown_times,
        strict_input,
    )

    core.init_app(app)
    errors.init_app(app)
    i18n.init_app(app)
    shown_times.init_app(app)
    person_options.init_app(app)
    session_auth.init_app(app)
    strict_input.init_app(app)
    api.init_app(app)
    pages.init_app(app)
    return app
