"""What every `planflow` command shares: the lazily built engine context, one transaction per
command, and turning domain errors into a clear message and exit status 1."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from engine.context import EngineContext, build_context
from engine.errors import PlanflowError
from engine.people.accounts import SYSTEM, Actor, actor_for
from engine.settings import Settings
from engine.store.db import transaction
from engine.usecases.acting import admin_override
from engine.wall_clock import as_aware
from web.i18n import DEFAULT, status_name, term

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from engine.clock import FixedClock

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


class State:
    def __init__(self) -> None:
        self._ctx: EngineContext | None = None
        self._settings: Settings | None = None
        self.clock: FixedClock | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.from_env()
        return self._settings

    def ctx(self) -> EngineContext:
        if self._ctx is None:
            self._ctx = build_context(self.settings(), clock=self.clock)
        return self._ctx


def typed_time(state: State, value: str) -> datetime:
    """A time typed on the command line: ISO 8601, and without an offset wall-clock time in
    the department's zone (`engine.wall_clock`), as on the pages."""
    try:
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"not ISO 8601: {value}") from exc
    return as_aware(at, state.settings().zone)


def shown_status(status: str) -> str:
    """A status as the command's lines show it, Chinese then English like every line here: the
    pages' name for it (`web.i18n.status_name`), then its key, which is also what an operator
    types (`planflow instances --status running`)."""
    return _with_key(status_name(status, DEFAULT), status)


def shown_term(prefix: str, value: str) -> str:
    """A value the pages name by the catalogue key ``prefix`` + value (a signer's mode or
    status: ``ops.mode.``, ``ops.signer.``), shown like `shown_status`."""
    return _with_key(term(value, prefix, language=DEFAULT), value)


def _with_key(name: str, key: str) -> str:
    return key if name == key else f"{name} {key}"


pass_state = click.make_pass_decorator(State, ensure=True)


@contextmanager
def session_for(state: State) -> Iterator[Session]:
    with transaction(state.ctx().sessions) as session:
        yield session


EXIT_FORBIDDEN = 3
EXIT_NOT_FOUND = 4
EXIT_CONFLICT = 5


def exit_status(exc: PlanflowError) -> int:
    """The CLI's answer to the HTTP status a channel gives (`engine.access`'s order): 3 not
    allowed (403), 4 not found or not yours to know of (404), 5 conflicts with the state (409),
    1 anything else (bad input)."""
    from engine.errors import Conflict, Forbidden, InstanceStateError, NotFound, Unauthenticated

    if isinstance(exc, Forbidden | Unauthenticated):
        return EXIT_FORBIDDEN
    if isinstance(exc, NotFound):
        return EXIT_NOT_FOUND
    if isinstance(exc, Conflict | InstanceStateError):
        return EXIT_CONFLICT
    return 1


def run(fn: Callable[[], T]) -> T:
    """Domain errors become a clear message and an exit status by kind (`exit_status`)."""
    try:
        return fn()
    except PlanflowError as exc:
        click.echo(f"错误 error: {exc.message}", err=True)
        if exc.details:
            click.echo(json.dumps(exc.details, ensure_ascii=False, indent=2), err=True)
        sys.exit(exit_status(exc))


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def parse_json(text: str) -> dict[str, Any]:
    """`--data` JSON, under the same rules as a request body (web.strict_input)."""
    from engine.errors import InvalidInput
    from engine.strict_json import loads_strict

    try:
        value = loads_strict(text)
    except InvalidInput as exc:
        raise click.BadParameter(exc.message) from exc
    except ValueError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise click.BadParameter("must be a JSON object")
    return value


def acting(session: Session, username: str) -> Actor:
    """The `--as USER` of a command that requires it (`as_someone` where `--admin` may stand
    in)."""
    return actor_for(session, username)


def as_someone(fn: F) -> F:
    """`--as USER` or `--admin`, exactly one: a command acts as a person, through
    `engine.access` like every channel, unless the operator explicitly acts as the system
    administrator (what it changes is recorded as 'system' in the instance's audit log)."""
    fn = click.option(
        "--admin", "as_admin", is_flag=True, help="act as the system administrator ('system')"
    )(fn)
    return click.option("--as", "username", default=None, help="acting user")(fn)


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "unknown"


def acting_as(
    ctx: EngineContext, session: Session, username: str | None, as_admin: bool,
    instance_id: int | None = None,
) -> Actor:
    """The actor of an `as_someone` command. `--admin` is written to the audit log (the
    operator's login name, the command, the instance) in the command's transaction."""
    if bool(username) == as_admin:
        raise click.UsageError("give exactly one of --as USER and --admin")
    if not as_admin:
        return actor_for(session, username or "")
    command = f"planflow {click.get_current_context().info_name}"
    admin_override(ctx, session, command, _operator(), instance_id)
    return SYSTEM
