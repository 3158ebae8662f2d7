"""The application's areas (dashboard, models, admin, 考核数据, 意向客户, 案例库) and absences."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.access.instances import oversees
from engine.errors import Forbidden

if TYPE_CHECKING:
    from engine.people.accounts import Actor

# --- process models ----------------------------------------------------------------------------


def may_read_definitions(actor: Actor) -> bool:
    """A model's files, versions and diffs, and deploying: process owners (admins included).
    Everyone may list the models (to start one)."""
    return actor.is_process_owner


def require_model_owner(actor: Actor) -> None:
    if not actor.is_process_owner:
        raise Forbidden("需要流程管理员权限 (process owner only)")


# --- pages of the application ------------------------------------------------------------------


def may_open(actor: Actor, area: str) -> bool:
    """The areas: dashboard (managers), models (process owners), admin (admins); what the
    processes wrote: 考核数据 kpis (and award nominations), 意向客户 leads, 案例库 cases."""
    if area == "kpis":  # managers and process owners
        return oversees(actor)
    if area in ("cases", "leads"):  # cases: everyone; leads: 销售部 and managers
        return area == "cases" or actor.is_manager or "sales" in actor.groups
    if area == "dashboard":
        return actor.is_manager
    if area == "models":
        return actor.is_process_owner
    if area == "admin":
        return actor.is_admin
    raise ValueError(f"unknown area {area!r}")


def may_manage_absence(actor: Actor, username: str | None) -> bool:
    """See, set or end someone's absence (A角/B角 hand-over): themselves, a manager, an admin;
    ``username=None`` asks about everyone's."""
    return actor.is_manager or (username is not None and actor.username == username)
