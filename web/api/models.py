from __future__ import annotations

from typing import Any

from flask import Response

from engine.access import require_model_owner
from engine.read import model_view
from engine.usecases.deploy import deploy
from web.api.endpoint import Call, Media, endpoint
from web.api.schemas.requests import DeployFiles
from web.api.schemas.responses import Deployed, Items, ModelDetail, ModelSummary


@endpoint("GET", "/process-models", summary="List process models", ok=Items[ModelSummary])
def list_models(call: Call) -> dict[str, Any]:
    return {"items": model_view.model_summaries(call.session)}


@endpoint("GET", "/process-models/<key>", summary="A process model with its versions "
          "(process owners)", ok=ModelDetail, errors=(403, 404))
def get_model(call: Call, key: str) -> dict[str, Any]:
    require_model_owner(call.actor)
    return model_view.model_detail(call.session, key)


@endpoint(
    "GET",
    "/process-models/<key>/versions/<int:version>/files/<name>",
    summary="A source file of a deployed version (BPMN, DMN or form; process owners)",
    ok=Media(
        {"application/xml": {"type": "string"}, "application/json": {"type": "object"}},
        "The file",
    ),
    errors=(403, 404),
)
def get_model_file(call: Call, key: str, version: int, name: str) -> Response:
    require_model_owner(call.actor)
    content = model_view.get_file(model_view.get_version(call.session, key, version), name).content
    mimetype = "application/json" if name.endswith(".form") else "application/xml"
    return Response(content, mimetype=mimetype)


@endpoint("POST", "/process-models", summary="Deploy BPMN/DMN/form files (process owners)",
          body=DeployFiles, multipart=True, ok={201: Deployed, 200: Deployed},
          errors=(403, 413))
def deploy_models(call: Call, body: DeployFiles) -> tuple[Deployed, int]:
    """201 when a new version was made, 200 when every file was deployed before."""
    require_model_owner(call.actor)
    results = deploy(call.ctx, call.session, body.files, call.actor.username)
    status = 201 if any(r.created for r in results) else 200
    return Deployed.model_validate({"deployed": [r.as_dict() for r in results]}), status
