"""抄送我的 (CC'd to me): the list of copies (unread/all, search, pages), one copy opened
read-only (marks it read), "mark all read", and the nav badge (unread copies)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.errors import PlanflowError
from engine.operations import cc as copying
from engine.read import copies
from engine.read.cc_page import cc_context, cc_listing
from web.core import engine_ctx, request_reads, unit_of_work
from web.i18n import translate
from web.pages import bp
from web.pages.common import the_actor
from web.pages.inbox import html_error, int_arg, safe_next
from web.pages.nav import register_count
from web.session_auth import login_required

if TYPE_CHECKING:
    from engine.people.accounts import Actor

SHOW = ("unread", "all")


def unread_copies(actor: Actor) -> int:
    """The nav badge: one COUNT on the (username, read_at, id) index."""
    known = g.get("cc_unread")
    if known is not None and known[0] == actor.username:
        return known[1]
    with request_reads() as session:
        count = copies.unread_cc_count(session, actor)
    g.cc_unread = (actor.username, count)
    return count


def init_app(app: Flask) -> None:
    register_count(app, "cc", unread_copies)


@bp.get("/cc")
@login_required
def cc() -> str:
    actor = the_actor()
    show = request.args.get("show", "all")
    show = show if show in SHOW else "all"
    q = request.args.get("q", "").strip()
    with unit_of_work() as session:
        listing = cc_listing(
            engine_ctx(), session, actor, unread_only=show == "unread", q=q, page=int_arg("page")
        )
    return render_template(
        "pages/me_cc.html", listing=listing, show=show, q=q, filtered=bool(q or show != "all")
    )


@bp.get("/cc/<int:cc_id>")
@login_required
def cc_open(cc_id: int) -> str | tuple[str, int]:
    actor = the_actor()
    all_steps = request.args.get("history") == "all"
    try:
        with unit_of_work() as session:
            copying.cc_view(engine_ctx(), session, actor, cc_id)  # opening it marks it read
            view = cc_context(engine_ctx(), session, actor, cc_id, all_steps)
    except PlanflowError as exc:  # someone else's copy is simply not found
        return html_error(exc)
    return render_template("pages/me_cc_view.html", v=view, all_steps=all_steps)


@bp.post("/cc/read-all")
@login_required
def cc_read_all() -> Response:
    actor = the_actor()
    with unit_of_work() as session:
        n = copying.mark_cc_read(engine_ctx(), session, actor)
    flash(translate("cc.marked_read", n=n))
    return redirect(safe_next(request.form.get("next"), url_for("pages.cc")), 303)
