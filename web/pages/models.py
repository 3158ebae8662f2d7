"""流程模型 (process owners): models and versions, file downloads, diffs between versions, the
bpmn-js modeler, the form-js editor, the dmn-js decision table and uploading a new model.

The three editors post one edited file as JSON to `pages.model_deploy` (CSRF token in the
X-CSRF-Token header); it becomes a new version through engine.usecases.deploy, validated like an
upload.
"""

from __future__ import annotations

import json
from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.access import may_open
from engine.bpmn.layout import with_diagram
from engine.bpmn.specs import kind_of
from engine.errors import InvalidModel, NotFound, PlanflowError
from engine.read import model_view
from engine.usecases.deploy import Upload, deploy
from web.core import engine_ctx, unit_of_work
from web.errors import error_page, error_response, status_for
from web.i18n import current_language, translate
from web.pages import bp
from web.pages.common import manage_page, the_actor

MAX_FILES = 50


def _owner(actor: Any) -> bool:
    return may_open(actor, "models")


def _problems(exc: InvalidModel) -> list[dict[str, Any]]:
    """The problems of a refused deploy, always as a list of {file, element_id, element_name,
    message}, the message in the page's language (the engine says each in Chinese and
    English: `engine.bpmn.problems`)."""
    said = "message_en" if current_language() == "en" else "message"
    listed = exc.details.get("problems")
    if isinstance(listed, list) and listed:
        return [
            {
                "file": p.get("file"),
                "element_id": p.get("element_id"),
                "element_name": p.get("element_name"),
                "message": p.get(said) or p.get("message") or exc.message,
            }
            for p in listed
            if isinstance(p, dict)
        ]
    return [
        {"file": exc.details.get("file"), "element_id": exc.details.get("element_id"),
         "element_name": None, "message": exc.details.get(said) or exc.message}
    ]


@bp.get("/models")
@manage_page(_owner)
def models() -> str:
    with unit_of_work() as session:
        items = model_view.list_models(session)
    return render_template("pages/manage_models.html", items=items)


@bp.get("/models/new")
@manage_page(_owner)
def model_new() -> str:
    return render_template("pages/manage_model_upload.html", problems=[])


@bp.post("/models/new")
@manage_page(_owner)
def model_upload() -> Response | tuple[str, int]:
    actor = the_actor()
    files = [f for f in request.files.getlist("files") if f and f.filename]
    if not files:
        return (
            render_template(
                "pages/manage_model_upload.html",
                problems=[{"message": translate("manage.upload.no_files")}],
            ),
            400,
        )
    if len(files) > MAX_FILES:
        return (
            render_template(
                "pages/manage_model_upload.html",
                problems=[{"message": translate("manage.upload.too_many", n=MAX_FILES)}],
            ),
            400,
        )
    uploads = [Upload(f.filename or "upload", f.read()) for f in files]
    try:
        with unit_of_work() as session:
            results = deploy(engine_ctx(), session, uploads, actor.username)
    except InvalidModel as exc:
        return render_template("pages/manage_model_upload.html", problems=_problems(exc)), 400
    for r in results:
        message = "manage.upload.created" if r.created else "manage.upload.unchanged"
        flash(translate(message, name=r.name, process=r.key, version=r.version))
    return redirect(url_for("pages.model_detail", key=results[0].key), 303)


@bp.get("/models/<key>")
@manage_page(_owner)
def model_detail(key: str) -> str:
    with unit_of_work() as session:
        model = model_view.get_model(session, key)
        versions = model_view.versions(session, key)
        counts = model_view.instance_counts(session, key)
        latest = versions[0] if versions else None
        files = [(f.name, f.kind) for f in latest.files] if latest else []
        all_files = model_view.file_names(session, key)
        rows = [
            {
                "version": v.version,
                "deployed_by": v.deployed_by,
                "created_at": v.created_at,
                "hash": v.content_hash[:10],
                "files": [f.name for f in v.files],
                "instances": counts.get(v.version, 0),
            }
            for v in versions
        ]
    return render_template(
        "pages/manage_model.html",
        model=model,
        versions=rows,
        latest=latest,
        files=files,
        all_files=all_files,
    )


@bp.get("/models/<key>/versions/<int:version>/files/<path:name>")
@manage_page(_owner)
def model_file(key: str, version: int, name: str) -> Response:
    with unit_of_work() as session:
        record = model_view.get_version(session, key, version)
        content = model_view.get_file(record, name).content
    mimetype = "application/json" if name.endswith(".form") else "application/xml"
    response = Response(content, mimetype=mimetype)
    safe = "".join(c for c in name if c.isalnum() or c in "._-") or "file"
    response.headers["Content-Disposition"] = f'attachment; filename="v{version}-{safe}"'
    return response


@bp.get("/models/<key>/diff")
@manage_page(_owner)
def model_diff(key: str) -> str | tuple[str, int]:
    with unit_of_work() as session:
        model = model_view.get_model(session, key)
        versions = [v.version for v in model_view.versions(session, key)]
        all_files = model_view.file_names(session, key)
        try:
            old = int(request.args.get("a", ""))
            new = int(request.args.get("b", ""))
        except ValueError:
            old = versions[1] if len(versions) > 1 else versions[0]
            new = versions[0]
        name = request.args.get("file") or model_view.get_version(session, key).bpmn_file
        lines, cut = model_view.diff(session, key, old, new, name)
    return render_template(
        "pages/manage_model_diff.html",
        model=model,
        versions=versions,
        all_files=all_files,
        old=old,
        new=new,
        name=name,
        lines=lines,
        cut=cut,
    )


def _editor_context(key: str, name: str | None, kind: str) -> dict[str, Any]:
    with unit_of_work() as session:
        model = model_view.get_model(session, key)
        latest = model_view.get_version(session, key)
        name = name or latest.bpmn_file
        f = model_view.get_file(latest, name)
        if f.kind != kind:
            raise NotFound(f"{name} is not a {kind} file")
        content = f.content
    if kind == "bpmn":
        content = with_diagram(content)
    return {
        "model": model,
        "version": latest.version,
        "name": name,
        "editor": {
            "key": key,
            "file": name,
            "kind": kind,
            "content": content,
            "deployUrl": url_for("pages.model_deploy", key=key),
            "labels": {
                "deploying": translate("manage.editor.deploying"),
                "deployed": translate("manage.editor.deployed"),
                "unchanged": translate("manage.editor.unchanged"),
                "invalid": translate("manage.models.invalid"),
                "failed": translate("manage.editor.failed"),
                "dirty": translate("manage.editor.dirty"),
                "show": translate("manage.editor.show"),
                "bad_json": translate("manage.editor.bad_json"),
            },
        },
    }


@bp.get("/models/<key>/edit")
@manage_page(_owner)
def model_edit(key: str) -> str:
    return render_template(
        "pages/manage_modeler.html",
        title=translate("manage.editor.modeler"),
        **_editor_context(key, None, "bpmn"),
    )


@bp.get("/models/<key>/forms/<name>")
@manage_page(_owner)
def model_form(key: str, name: str) -> str | tuple[str, int]:
    ctx = _editor_context(key, name, "form")
    try:
        ctx["editor"]["content"] = json.loads(ctx["editor"]["content"])
    except ValueError:
        return error_page(400, translate("manage.editor.bad_json"))
    return render_template(
        "pages/manage_form_editor.html", title=translate("manage.editor.form"), **ctx
    )


@bp.get("/models/<key>/dmn/<name>")
@manage_page(_owner)
def model_dmn(key: str, name: str) -> str:
    return render_template(
        "pages/manage_dmn.html",
        title=translate("manage.editor.dmn"),
        **_editor_context(key, name, "dmn"),
    )


@bp.post("/models/<key>/deploy")
@manage_page(_owner)
def model_deploy(key: str) -> Response | tuple[Response, int]:
    actor = the_actor()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error_response("invalid_input", "JSON body {file, content} required", 400)
    name, content = body.get("file"), body.get("content")
    if not isinstance(name, str) or not isinstance(content, str) or not kind_of(name):
        return error_response("invalid_input", "JSON body {file, content} required", 400)
    if name.endswith(".form"):
        try:
            json.loads(content)
        except ValueError:
            return error_response("invalid_input", translate("manage.editor.bad_json"), 400)
    try:
        with unit_of_work() as session:
            result = model_view.deploy_edit(
                engine_ctx(), session, key, name, content, actor.username
            )
    except InvalidModel as exc:
        return error_response(
            exc.code, exc.message, 400, {**exc.details, "problems": _problems(exc)}
        )
    except PlanflowError as exc:
        return error_response(exc.code, exc.message, status_for(exc), exc.details)
    return jsonify(
        {
            "key": result.key,
            "version": result.version,
            "created": result.created,
            "message": translate(
                "manage.editor.deployed" if result.created else "manage.editor.unchanged",
                version=result.version,
            ),
        }
    )
