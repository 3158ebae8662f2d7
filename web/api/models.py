from __future__ import annotations

from flask import Response, jsonify, request

from engine.access import require_model_owner
from engine.errors import InvalidInput
from engine.read import queries
from engine.usecases.deploy import Upload, deploy
from web.api import bp
from web.core import api_actor, engine_ctx, unit_of_work


@bp.get("/process-models")
def list_models() -> Response:
    with unit_of_work() as session:
        api_actor(session)
        return jsonify({"items": queries.list_models(session)})


@bp.get("/process-models/<key>")
def get_model(key: str) -> Response:
    with unit_of_work() as session:
        require_model_owner(api_actor(session))
        return jsonify(queries.get_model(session, key))


@bp.get("/process-models/<key>/versions/<int:version>/files/<name>")
def get_model_file(key: str, version: int, name: str) -> Response:
    with unit_of_work() as session:
        require_model_owner(api_actor(session))
        content = queries.version_file(session, key, version, name)
    mimetype = "application/json" if name.endswith(".form") else "application/xml"
    return Response(content, mimetype=mimetype)


@bp.post("/process-models")
def deploy_models() -> tuple[Response, int]:
    uploads = [Upload(f.filename or "upload", f.read()) for f in request.files.getlist("files")]
    uploads += [
        Upload(f.filename or name, f.read())
        for name, f in request.files.items(multi=True)
        if name != "files"
    ]
    if not uploads:
        raise InvalidInput(
            "请以 multipart/form-data 上传文件 (upload files as multipart field 'files')"
        )
    with unit_of_work() as session:
        actor = api_actor(session)
        require_model_owner(actor)
        results = deploy(engine_ctx(), session, uploads, actor.username)
    status = 201 if any(r.created for r in results) else 200
    return jsonify({"deployed": [r.as_dict() for r in results]}), status
