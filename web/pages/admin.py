"""用户与角色 and 工作日历 (administrators).

Users: create (with groups), deactivate/reactivate, reset password, change memberships; groups:
create. Working-day calendar: each year's holidays and 调休 make-up working days, with forms to
change days and to mark a year official or provisional (engine.store.calendar_rows's tables); after
a
change this process's calendar is reloaded at once (the scheduler reloads its own periodically).
"""

from __future__ import annotations

import calendar as pycal
from datetime import date
from typing import TYPE_CHECKING, Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.access import may_open
from engine.errors import Conflict, InvalidInput, NotFound
from engine.people import admin as users_admin
from engine.wall_clock import local
from web.core import engine_ctx, unit_of_work
from web.errors import error_page
from web.i18n import current_language, in_language, translate
from web.pages import bp
from web.pages.common import manage_page, the_actor
from web.shown_times import shown_time

if TYPE_CHECKING:
    from engine.workcal import WorkCalendar


def _admin(actor: Any) -> bool:
    return may_open(actor, "admin")


def _users_page(status: int = 200, error: str | None = None, form: dict[str, Any] | None = None,
                ) -> tuple[str, int]:
    with unit_of_work() as session:
        users = users_admin.list_users(session)
        groups = users_admin.list_groups(session)
    return (
        render_template(
            "pages/manage_admin_users.html",
            users=users,
            groups=groups,
            group_names={
                g["name"]: (g["display_name_en"] or g["name"])
                if current_language() == "en"
                else g["display_name"]
                for g in groups
            },
            error=error,
            form=form or {},
            me=the_actor().username,
        ),
        status,
    )


@bp.get("/admin/users")
@manage_page(_admin)
def admin_users() -> tuple[str, int]:
    return _users_page()


def _done(message_key: str, **params: Any) -> Response:
    flash(translate(message_key, **params))
    return redirect(url_for("pages.admin_users"), 303)


def _run(action: Any, message_key: str, form: dict[str, Any] | None = None,
         **params: Any) -> Response | tuple[str, int]:
    actor = the_actor()
    now = engine_ctx().clock.now()
    try:
        with unit_of_work() as session:
            action(session, actor, now)
    except NotFound:
        return error_page(404)
    except (InvalidInput, Conflict) as exc:
        status = 409 if isinstance(exc, Conflict) else 400
        return _users_page(status, in_language(exc.message), form)
    return _done(message_key, **params)


@bp.post("/admin/users")
@manage_page(_admin)
def admin_user_create() -> Response | tuple[str, int]:
    f = request.form
    username = f.get("username", "").strip()
    form = {"username": username, "display_name": f.get("display_name", ""),
            "email": f.get("email", ""), "groups": f.getlist("groups")}
    return _run(
        lambda s, a, now: users_admin.create_user(
            s,
            a,
            now,
            username=username,
            password=f.get("password", ""),
            display_name=f.get("display_name", ""),
            email=f.get("email"),
            groups=f.getlist("groups"),
        ),
        "manage.admin.user_created",
        form,
        username=username,
    )


@bp.post("/admin/users/<username>/active")
@manage_page(_admin)
def admin_user_active(username: str) -> Response | tuple[str, int]:
    active = request.form.get("active") == "1"
    return _run(
        lambda s, a, now: users_admin.set_active(s, a, now, username, active),
        "manage.admin.reactivated" if active else "manage.admin.deactivated",
        username=username,
    )


@bp.post("/admin/users/<username>/password")
@manage_page(_admin)
def admin_user_password(username: str) -> Response | tuple[str, int]:
    password = request.form.get("password", "")
    return _run(
        lambda s, a, now: users_admin.reset_password(s, a, now, username, password),
        "manage.admin.password_reset",
        username=username,
    )


@bp.post("/admin/users/<username>/groups")
@manage_page(_admin)
def admin_user_groups(username: str) -> Response | tuple[str, int]:
    groups = request.form.getlist("groups")
    return _run(
        lambda s, a, now: users_admin.change_groups(s, a, now, username, groups),
        "manage.admin.groups_changed",
        username=username,
    )


@bp.post("/admin/groups")
@manage_page(_admin)
def admin_group_create() -> Response | tuple[str, int]:
    f = request.form
    name = f.get("name", "").strip()
    return _run(
        lambda s, a, now: users_admin.create_group(
            s, a, now, name, f.get("display_name", ""), f.get("display_name_en", "")
        ),
        "manage.admin.group_created",
        {"group_name": name, "group_display": f.get("display_name", ""),
         "group_display_en": f.get("display_name_en", "")},
        name=name,
    )


# --- working-day calendar ----------------------------------------------------------------------


def _kind(cal: WorkCalendar, day: date) -> tuple[str, str]:
    # Read the data directly: WorkCalendar.day() would note a fallback year as "asked about".
    if day in cal.holidays:
        return "holiday", cal.holidays[day]
    if day in cal.workdays:
        return "workday", cal.workdays[day]
    return ("weekend" if day.weekday() >= 5 else "weekday"), ""


def _months(cal: WorkCalendar, year: int) -> list[dict[str, Any]]:
    """Each month as weeks of (day, css class, title) cells; None pads the first/last week."""
    out = []
    weeks_of = pycal.Calendar(firstweekday=0)
    for month in range(1, 13):
        weeks = []
        for week in weeks_of.monthdatescalendar(year, month):
            cells: list[dict[str, Any] | None] = []
            for day in week:
                if day.month != month:
                    cells.append(None)
                    continue
                kind, name = _kind(cal, day)
                cells.append({"day": day.day, "iso": day.isoformat(), "kind": kind, "name": name})
            weeks.append(cells)
        out.append({"month": month, "weeks": weeks})
    return out


def _holiday_groups(cal: WorkCalendar, year: int) -> list[dict[str, Any]]:
    """Consecutive days off with the same name as one entry (春节 2月15日–2月23日, 9 天), with
    the make-up working days that belong to it."""
    groups: list[dict[str, Any]] = []
    for day, name in sorted(cal.holidays.items()):
        if day.year != year:
            continue
        last = groups[-1] if groups else None
        if last and last["name"] == name and (day - last["end"]).days <= 1:
            last["end"] = day
            last["days"] += 1
        else:
            groups.append({"name": name, "start": day, "end": day, "days": 1, "workdays": []})
    for day, label in sorted(cal.workdays.items()):
        if day.year != year:
            continue
        owner = next((g for g in groups if g["name"] and g["name"] in label), None)
        entry = {"date": day, "label": label}
        if owner is not None:
            owner["workdays"].append(entry)
        else:
            groups.append({"name": label, "start": None, "end": None, "days": 0,
                           "workdays": [entry]})
    return groups


@bp.get("/admin/calendar")
@manage_page(_admin)
def admin_calendar() -> str | tuple[str, int]:
    return _calendar_page()


def _calendar_page(
    status_code: int = 200, error: str | None = None, form: dict[str, Any] | None = None,
    year_arg: Any = None,
) -> tuple[str, int]:
    cal = engine_ctx().calendar
    this_year = local(engine_ctx().clock.now(), engine_ctx().settings.zone).year
    years = sorted(set(cal.covered_years) | set(cal.provisional_years) | {this_year,
                                                                            this_year + 1})
    try:
        year = int(year_arg if year_arg is not None else request.args.get("year", this_year))
    except ValueError:
        year = this_year
    if not 1900 <= year <= 2200:
        year = this_year
    if year not in years:
        years = sorted({*years, year})
    status = cal.year_status(year)
    months = _months(cal, year)
    weekday_names = [translate(f"manage.cal.wd{i}") for i in range(7)]
    return render_template(
        "pages/manage_admin_calendar.html",
        error=error,
        form=form or {},
        year=year,
        years=years,
        status=status,
        warning=(
            translate(f"manage.cal.warning_{status}", year=year) if status != "official" else None
        ),
        months=months,
        holidays=_holiday_groups(cal, year),
        weekday_names=weekday_names,
        workdays_in_year=sum(
            1
            for m in months
            for w in m["weeks"]
            for c in w
            if c and c["kind"] in ("weekday", "workday")
        ),
        year_statuses=[(y, cal.year_status(y)) for y in years],
    ), status_code


def _reload_calendar() -> None:
    ctx = engine_ctx()
    with unit_of_work() as session:
        ctx.reload_calendar(session)


def _date_field(name: str) -> date | None:
    raw = request.form.get(name, "").strip()
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@bp.post("/admin/calendar/days")
@manage_page(_admin)
def admin_calendar_days() -> Response | tuple[str, int]:
    form = {k: request.form.get(k, "") for k in ("from", "to", "kind", "name")}
    first = _date_field("from")
    last = _date_field("to") or first
    kind = form["kind"] if form["kind"] in ("holiday", "workday") else None
    if first is None or last is None or form["kind"] not in ("holiday", "workday", "ordinary"):
        return _calendar_page(400, translate("manage.cal.bad_input"), form)
    try:
        with unit_of_work() as session:
            n = users_admin.edit_calendar_days(
                session, the_actor(), engine_ctx().clock.now(), first, last, kind, form["name"]
            )
    except InvalidInput as exc:
        return _calendar_page(400, in_language(exc.message), form, year_arg=first.year)
    _reload_calendar()
    flash(translate("manage.cal.saved", n=n))
    return redirect(url_for("pages.admin_calendar", year=first.year), 303)


@bp.post("/admin/calendar/years")
@manage_page(_admin)
def admin_calendar_year() -> Response | tuple[str, int]:
    status = request.form.get("status", "")
    try:
        year = int(request.form.get("year", ""))
    except ValueError:
        return _calendar_page(400, translate("manage.cal.bad_input"))
    if status not in ("official", "provisional"):
        return _calendar_page(400, translate("manage.cal.bad_input"), year_arg=year)
    try:
        with unit_of_work() as session:
            users_admin.set_calendar_year(
                session, the_actor(), engine_ctx().clock.now(), year, status
            )
    except InvalidInput as exc:
        return _calendar_page(400, in_language(exc.message))
    _reload_calendar()
    flash(translate("manage.cal.year_saved", year=year))
    return redirect(url_for("pages.admin_calendar", year=year), 303)


@bp.get("/admin/health")
@manage_page(_admin)
def admin_health() -> str:
    """运行检查: what `planflow doctor` reports, for administrators (engine.usecases.doctor)."""
    from engine.context import renewed
    from engine.usecases.doctor import diagnose

    with unit_of_work() as session:
        findings = diagnose(renewed(engine_ctx()), session)
    due = {f.detail: shown_time(f.detail) for f in findings if f.kind == "timer_missing"}
    return render_template("pages/manage_admin_health.html", findings=findings, due=due)
