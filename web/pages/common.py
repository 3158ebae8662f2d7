"""What the pages share: `manage_page` (login, role check, domain errors as HTML pages), the
signed-in actor, and how an audit action is named (template global ``manage_action``, the same
on staff and management pages; a status's ``status_name`` comes from `web.i18n`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from flask import request

from engine.errors import Forbidden, NotFound, Unauthenticated
from web.errors import error_page
from web.i18n import term
from web.pages import bp
from web.session_auth import current_actor, login_required

if TYPE_CHECKING:
    from engine.people.accounts import Actor

F = TypeVar("F", bound=Callable[..., Any])


def manage_page(allowed: Callable[[Actor], bool] | None = None) -> Callable[[F], F]:
    """Login required; `allowed(actor)` or 403; NotFound/Forbidden from the engine as pages."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if allowed is not None and not allowed(the_actor()):
                return error_page(403)
            try:
                return view(*args, **kwargs)
            except NotFound:
                return error_page(404)
            except Forbidden:
                return error_page(403)

        return login_required(wrapped)  # type: ignore[return-value]

    return decorate


def the_actor() -> Actor:
    actor = current_actor()
    if actor is None:  # login_required ran first; this is a programming error
        raise Unauthenticated("需要登录 (login required)")
    return actor


@bp.app_template_global("manage_action")
def action_label(action: str) -> str:
    return term(action, "manage.action.")


@bp.app_template_global("manage_json")
def pretty(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def keep_args(**changes: Any) -> dict[str, Any]:
    """The current query string with some values replaced (for pagination links)."""
    args = {k: v for k, v in request.args.items() if v != ""}
    args.update({k: v for k, v in changes.items()})
    return {k: v for k, v in args.items() if v not in (None, "")}


bp.add_app_template_global(keep_args, "manage_args")
