"""models pages (in progress)."""

from __future__ import annotations

from web.pages import bp  # noqa: F401
