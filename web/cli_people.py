"""`planflow users …`, `planflow absence …` (A角/B角 out-of-office periods) and
`planflow notifications …`."""

from __future__ import annotations

from datetime import datetime

import click

from engine.notify import bell, outbox
from engine.people import absence, handover
from engine.people.accounts import add_user
from engine.wall_clock import shown
from web.cli_common import State, acting, echo_json, pass_state, run, session_for, typed_time


def _when(state: State, value: str | None) -> datetime | None:
    return typed_time(state, value) if value else None


# --- absence ------------------------------------------------------------------------------------


@click.group("absence")
def absence_group() -> None:
    """A角/B角: out-of-office periods; tasks go to the B role (or a deputy) meanwhile."""


@absence_group.command("away")
@click.argument("user")
@click.option("--from", "starts", default=None, help="ISO 8601 (default: now)")
@click.option("--until", "ends", default=None, help="ISO 8601 (default: until marked back)")
@click.option("--deputy", default=None, help="who takes tasks of instances without A/B")
@click.option("--reason", default="")
@click.option("--as", "username", required=True)
@pass_state
def absence_away(
    state: State,
    user: str,
    starts: str | None,
    ends: str | None,
    deputy: str | None,
    reason: str,
    username: str,
) -> None:
    """Mark USER away; their open tasks are handed over now if the period has begun."""

    def go() -> None:
        with session_for(state) as session:
            a = absence.mark_away(
                state.ctx(),
                session,
                acting(session, username),
                user,
                starts_at=_when(state, starts),
                ends_at=_when(state, ends),
                deputy=deputy,
                reason=reason,
            )
            zone = state.settings().zone
            click.echo(
                f"已设置休假 away: {a.username} {shown(a.starts_at, zone)} → "
                f"{shown(a.ends_at, zone, empty='…')}"
            )

    run(go)


@absence_group.command("back")
@click.argument("user")
@click.option("--as", "username", required=True)
@pass_state
def absence_back(state: State, user: str, username: str) -> None:
    """Mark USER back; tasks still held by their substitute return."""

    def go() -> None:
        with session_for(state) as session:
            n = absence.mark_back(state.ctx(), session, acting(session, username), user)
        click.echo(f"已回岗 back: {user}, {n} task(s) returned")

    run(go)


@absence_group.command("list")
@click.option("--user", default=None)
@click.option("--as", "username", required=True)
@pass_state
def absence_list(state: State, user: str | None, username: str) -> None:
    def go() -> None:
        with session_for(state) as session:
            echo_json(absence.list_absences(state.ctx(), session, acting(session, username), user))

    run(go)


@absence_group.command("sync")
@pass_state
def absence_sync(state: State) -> None:
    """Apply absence periods that began or ended meanwhile to all open tasks (e.g. from cron;
    every save of an instance does this for that instance anyway)."""

    def go() -> None:
        with session_for(state) as session:
            n = handover.sync_all(state.ctx(), session)
        click.echo(f"moved {n} task(s)")

    run(go)


# --- notifications ------------------------------------------------------------------------------


@click.group("notifications")
def notifications_group() -> None:
    """The bell and the delivery outbox."""


@notifications_group.command("list")
@click.option("--as", "username", required=True)
@click.option("--unread", is_flag=True)
@pass_state
def notifications_list(state: State, username: str, unread: bool) -> None:
    def go() -> None:
        with session_for(state) as session:
            page = bell.list_notifications(
                session, acting(session, username), unread_only=unread, per_page=200
            )
        zone = state.settings().zone
        for n in page["items"]:
            at = shown(n["created_at"], zone)
            click.echo(f"{' ' if n['read'] else '●'} {n['id']}  {at}  {n['title']}")
        click.echo(f"({page['total']}, unread {page['unread']})")

    run(go)


@notifications_group.command("read")
@click.argument("ids", nargs=-1, type=int)
@click.option("--as", "username", required=True)
@pass_state
def notifications_read(state: State, ids: tuple[int, ...], username: str) -> None:
    """Mark notifications read (all of them without IDS)."""

    def go() -> None:
        with session_for(state) as session:
            n = bell.mark_read(
                state.ctx(), session, acting(session, username), list(ids) if ids else None
            )
        click.echo(f"marked {n} read")

    run(go)


@notifications_group.command("deliver")
@pass_state
def notifications_deliver(state: State) -> None:
    """Send every due e-mail / robot message once (retries are scheduled with back-off)."""

    def go() -> None:
        report = outbox.deliver_due(state.ctx())
        click.echo(
            f"sent {len(report.sent)}, failed {len(report.failed)} (will retry), "
            f"given up {len(report.dead)}"
        )
        for row_id, error in {**report.failed, **report.dead}.items():
            click.echo(f"  #{row_id}: {error}", err=True)

    run(go)


@click.group("users")
def users_group() -> None:
    """Users and groups."""


@users_group.command("add")
@click.argument("username")
@click.option("--group", "groups", multiple=True, help="group id; repeat for several")
@click.option("--password", default=None, help="default: prompt")
@click.option("--name", "display_name", default=None)
@click.option("--admin", is_flag=True)
@pass_state
def users_add(
    state: State,
    username: str,
    groups: tuple[str, ...],
    password: str | None,
    display_name: str | None,
    admin: bool,
) -> None:
    """Add a user to one or more groups."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)

    def go() -> None:
        with session_for(state) as session:
            add_user(
                session,
                username,
                password,
                now=state.ctx().clock.now(),
                display_name=display_name,
                groups=list(groups),
                is_admin=admin,
            )
        click.echo(f"用户已创建 user created: {username} ({', '.join(groups) or '-'})")

    run(go)


@users_group.command("list")
@pass_state
def users_list(state: State) -> None:
    from engine.people.admin import list_users

    with session_for(state) as session:
        for u in list_users(session):
            groups = ",".join(sorted(u.groups))
            click.echo(
                f"{u.username}\t{u.display_name}\t{groups}\t{'active' if u.is_active else 'off'}"
            )


def register(main: click.Group) -> None:
    main.add_command(users_group)
    main.add_command(absence_group)
    main.add_command(notifications_group)
