"""The main navigation: one list, filtered by role and by which pages exist."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Flask, current_app, request, url_for

from engine.access import may_open
from web.session_auth import current_actor

if TYPE_CHECKING:
    from engine.people.accounts import Actor


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label_key: str
    visible: Callable[[Actor], bool] = lambda actor: True
    # Name of a count provider registered in app.extensions["nav_counts"] (e.g. open tasks).
    count: str | None = None


NAV: list[NavItem] = [
    NavItem("pages.inbox", "nav.inbox", count="inbox"),
    NavItem("pages.done", "nav.done"),
    NavItem("pages.started", "nav.started"),
    NavItem("pages.cc", "nav.cc", count="cc"),
    NavItem("pages.start", "nav.start"),
    NavItem("pages.instances", "nav.instances"),
    NavItem("pages.cases_list", "reports.nav.cases", lambda a: may_open(a, "cases")),
    NavItem("pages.leads_list", "reports.nav.leads", lambda a: may_open(a, "leads")),
    NavItem("pages.kpi_page", "reports.nav.kpis", lambda a: may_open(a, "kpis")),
    NavItem("pages.dashboard", "nav.dashboard", lambda a: may_open(a, "dashboard")),
    NavItem("pages.models", "nav.models", lambda a: may_open(a, "models")),
    NavItem("pages.admin_users", "nav.admin", lambda a: may_open(a, "admin")),
    NavItem("pages.admin_calendar", "nav.calendar", lambda a: may_open(a, "admin")),
    NavItem("pages.admin_health", "nav.health", lambda a: may_open(a, "admin")),
]


def nav_entries() -> list[dict[str, object]]:
    actor = current_actor()
    if actor is None:
        return []
    counters: dict[str, Callable[[Actor], int]] = current_app.extensions.get("nav_counts", {})
    out = []
    for item in NAV:
        if item.endpoint not in current_app.view_functions or not item.visible(actor):
            continue
        href = url_for(item.endpoint)
        count = counters[item.count](actor) if item.count in counters else None
        out.append({"href": href, "label_key": item.label_key, "count": count,
                    "current": request.path == href})
    return out


def register_count(app: Flask, name: str, fn: Callable[[Actor], int]) -> None:
    app.extensions.setdefault("nav_counts", {})[name] = fn


def init_app(app: Flask) -> None:
    app.jinja_env.globals["nav_entries"] = nav_entries
