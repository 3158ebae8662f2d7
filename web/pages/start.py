"""发起流程: the catalogue of process models and each model's start form.

Every active user may start any deployed model (a product decision for now). The start form is
the start event's `formFile`, rendered with form-js; it is submitted through fetch (JSON, CSRF
header) to `start_submit`, which answers like `tasks.task_complete`.
"""

from __future__ import annotations

from typing import Any

from flask import flash, jsonify, render_template, url_for
from werkzeug.wrappers import Response

from engine.errors import FormInvalid, PlanflowError
from engine.read import queries, start_page
from engine.usecases import instances
from web.core import engine_ctx, unit_of_work
from web.i18n import in_language, translate
from web.pages import bp
from web.pages.inbox import html_error, json_error, staff_instance_url, status_for
from web.pages.tasks import field_errors_json, form_texts, shown_schema, submitted_data
from web.session_auth import current_actor, login_required


def fallback_schema() -> dict[str, Any]:
    """For a model without a start form: just a title for the new instance."""
    return {
        "type": "default",
        "id": "staff_start_fallback",
        "components": [
            {
                "type": "textfield",
                "id": "staff_start_title",
                "key": "title",
                "label": translate("staff.start.title_label"),
                "validate": {"maxLength": 200},
            }
        ],
    }


@bp.get("/start")
@login_required
def start() -> str:
    with unit_of_work() as session:
        models = start_page.startable(engine_ctx(), session)
    return render_template("pages/start.html", models=models)


@bp.get("/start/<key>")
@login_required
def start_form(key: str) -> str | tuple[str, int]:
    try:
        with unit_of_work() as session:
            view = start_page.start_view(engine_ctx(), session, key)
            schema = shown_schema(view["form"], session)
    except PlanflowError as exc:
        return html_error(exc, translate("staff.error.not_found_model"))
    config = {
        "schema": schema or fallback_schema(),
        "data": {},
        "readonly": False,
        "submitUrl": url_for("pages.start_submit", key=key),
        **form_texts(),
    }
    return render_template("pages/start_form.html", m=view, form_config=config)


@bp.post("/start/<key>")
def start_submit(key: str) -> Response | tuple[Response, int]:
    actor = current_actor()
    if actor is None:
        return json_error(401, "unauthenticated", translate("staff.error.login"))
    ctx = engine_ctx()
    form = None
    data: dict[str, Any] = {}
    try:
        data = submitted_data()
        with unit_of_work() as session:
            form = start_page.start_form_for(ctx, session, key)
            record = instances.start(ctx, session, actor, key, data)
            instance_id, title = record.id, record.title
            warnings = queries.start_warnings_of(record)
    except FormInvalid as exc:
        return json_error(
            422,
            exc.code,
            translate("staff.form.fix_errors"),
            fields=field_errors_json(form, exc),
            data=data,
        )
    except PlanflowError as exc:
        if status_for(exc) == 404:
            return json_error(404, exc.code, translate("staff.error.not_found_model"))
        return json_error(status_for(exc), exc.code, in_language(exc.message), details=exc.details)
    flash(translate("staff.flash.started", title=title))
    for text in warnings:  # the model's own words (zh), e.g. which steps an early event compresses
        flash(text, "warning")
    target = staff_instance_url(instance_id) or url_for("pages.inbox")
    return jsonify({"ok": True, "redirect": target, "instance_id": instance_id})
