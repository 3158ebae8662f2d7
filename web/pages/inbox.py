"""待办 / 已办 / 我发起的 pages (in progress)."""

from __future__ import annotations

from flask import Flask

from web.pages import bp  # noqa: F401


def init_app(app: Flask) -> None:
    """Registers the navigation counters this module provides."""
