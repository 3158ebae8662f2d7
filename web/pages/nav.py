"""The main navigation: one list, filtered by role and by which pages exist. Entries of a menu
(the administrators' four pages) fold into one dropdown when somebody sees more than one of
them, so that an administrator's bar keeps to one line at 1280px like everyone else's."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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
    # The label key of the dropdown this entry folds into.
    menu: str | None = None


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
    NavItem("pages.models", "nav.models", lambda a: may_open(a, "models"), menu="nav.system"),
    NavItem("pages.admin_users", "nav.admin", lambda a: may_open(a, "admin"), menu="nav.system"),
    NavItem("pages.admin_calendar", "nav.calendar", lambda a: may_open(a, "admin"),
            menu="nav.system"),
    NavItem("pages.admin_health", "nav.health", lambda a: may_open(a, "admin"),
            menu="nav.system"),
]


def nav_entries() -> list[dict[str, Any]]:
    """What the bar shows: entries ({href, label_key, count, current}) and, where one of them
    would begin, each menu with more than one entry ({menu, entries, current})."""
    actor = current_actor()
    if actor is None:
        return []
    counters: dict[str, Callable[[Actor], int]] = current_app.extensions.get("nav_counts", {})
    shown: list[tuple[str | None, dict[str, Any]]] = []
    for item in NAV:
        if item.endpoint not in current_app.view_functions or not item.visible(actor):
            continue
        href = url_for(item.endpoint)
        count = counters[item.count](actor) if item.count in counters else None
        shown.append((item.menu, {"href": href, "label_key": item.label_key, "count": count,
                                  "current": request.path == href}))
    sizes = Counter(menu for menu, _ in shown)
    out: list[dict[str, Any]] = []
    menus: dict[str, dict[str, Any]] = {}
    for menu, entry in shown:
        if menu is None or sizes[menu] < 2:
            out.append(entry)
            continue
        if menu not in menus:
            menus[menu] = {"menu": menu, "entries": [], "current": False}
            out.append(menus[menu])
        menus[menu]["entries"].append(entry)
        menus[menu]["current"] = menus[menu]["current"] or entry["current"]
    return out


def register_count(app: Flask, name: str, fn: Callable[[Actor], int]) -> None:
    app.extensions.setdefault("nav_counts", {})[name] = fn


def init_app(app: Flask) -> None:
    app.jinja_env.globals["nav_entries"] = nav_entries
