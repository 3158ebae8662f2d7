"""外出设置 (away, A角/B角): my current and planned absences, a form to mark myself away (from,
until, the B角 who takes over, a note) and "I'm back". Managers may do it for a member of staff;
`engine.people.absence` decides who may (staff get 403 for someone else)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.access import may_manage_absence
from engine.errors import InvalidInput, PlanflowError
from engine.people import absence, admin
from engine.read.names import active_people, user_names
from engine.wall_clock import as_aware
from web.core import engine_ctx, unit_of_work
from web.i18n import in_language, translate
from web.pages import bp
from web.pages.common import the_actor
from web.pages.inbox import html_error
from web.session_auth import login_required

if TYPE_CHECKING:
    from engine.people.accounts import Actor

FIELDS = ("username", "starts_at", "ends_at", "deputy", "note")


def _manages(actor: Actor) -> bool:
    return may_manage_absence(actor, None)


def _local(value: str, field: str) -> datetime | None:
    """A `datetime-local` value read in the department's time zone; "" means not given."""
    value = value.strip()
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(translate("away.error.time"), {"field": field}) from exc
    return as_aware(at, engine_ctx().settings.zone)


def _display_name(username: str) -> str:
    with unit_of_work() as session:
        return user_names(session, [username]).get(username, username)


def _page(actor: Actor, values: dict[str, str], error: dict[str, str] | None = None,
          status: int = 200) -> tuple[str, int]:
    ctx = engine_ctx()
    with unit_of_work() as session:
        absences = absence.list_absences(ctx, session, actor)
        users = [u for u in admin.list_users(session) if u.is_active]
        people = active_people(session)  # the pickers: by pinyin, with the department
    now = ctx.clock.now()
    shown: list[dict[str, Any]] = []
    for a in absences:
        ends = datetime.fromisoformat(a["ends_at"]) if a["ends_at"] else None
        if ends is not None and ends <= now:
            continue  # over: the page shows current and planned ones
        shown.append({**a, "starts": datetime.fromisoformat(a["starts_at"]), "ends": ends})
    shown.sort(key=lambda a: a["starts"])
    names = {u.username: u.display_name or u.username for u in users}
    html = render_template(
        "pages/me_away.html",
        absences=shown,
        away_now=any(a["active"] and a["username"] == actor.username for a in shown),
        users=users,
        people=people,
        names=names,
        manages=_manages(actor),
        values=values,
        error=error,
    )
    return html, status


@bp.get("/me/away")
@login_required
def away() -> tuple[str, int]:
    actor = the_actor()
    return _page(actor, {"username": actor.username})


@bp.post("/me/away")
@login_required
def away_set() -> Response | tuple[str, int]:
    actor = the_actor()
    values = {name: request.form.get(name, "").strip() for name in FIELDS}
    username = values["username"] or actor.username
    values["username"] = username
    try:
        with unit_of_work() as session:
            absence.mark_away(
                engine_ctx(),
                session,
                actor,
                username,
                starts_at=_local(values["starts_at"], "starts_at"),
                ends_at=_local(values["ends_at"], "ends_at"),
                deputy=values["deputy"] or None,
                reason=values["note"],
            )
    except InvalidInput as exc:
        field = str(exc.details.get("field") or "")
        return _page(actor, values, {"message": in_language(exc.message), "field": field}, 400)
    except PlanflowError as exc:  # 403 for someone else's absence, 404 unknown user
        return html_error(exc, exc.message)
    flash(translate("away.saved", name=_display_name(username)))
    return redirect(url_for("pages.away"), 303)


@bp.post("/me/away/back")
@login_required
def away_back() -> Response | tuple[str, int]:
    actor = the_actor()
    username = request.form.get("username", "").strip() or actor.username
    try:
        with unit_of_work() as session:
            n = absence.mark_back(engine_ctx(), session, actor, username)
    except PlanflowError as exc:
        return html_error(exc, exc.message)
    flash(translate("away.back_done", n=n))
    return redirect(url_for("pages.away"), 303)
