"""Times on the pages: `engine.wall_clock` in the deployment's zone, as the template globals
``shown_time(value, form='minute')`` and ``iso_time(value)`` (the `<time datetime>`
attribute). Every page, staff's and managers', shows times through these."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask

from engine.wall_clock import shown
from web.core import engine_ctx


def shown_time(value: datetime | date | str | None, form: str = "minute") -> str:
    return shown(value, engine_ctx().settings.zone, form)


def iso_time(value: datetime | str | None) -> str:
    if isinstance(value, str):
        return value
    return value.isoformat() if value else ""


def init_app(app: Flask) -> None:
    app.add_template_global(shown_time, "shown_time")
    app.add_template_global(iso_time, "iso_time")
